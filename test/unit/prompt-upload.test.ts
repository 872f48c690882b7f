import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { HttpError } from '../../src/core/errors.js';
import { PromptsService } from '../../src/prompts/service.js';
import type { PromptRow, PromptsStore, PromptValues } from '../../src/prompts/store.js';
import { InvalidAudioError, toTelephoneWav } from '../../src/prompts/wav.js';
import { toTelephoneWavOffThread } from '../../src/prompts/wav-worker.js';
import { toneWav as wav } from '../support/tone-wav.js';

/** The store's part the upload uses, in memory: the file is put in place as the real one does, inside "the transaction". */
function memoryStore(): PromptsStore {
  const rows = new Map<string, PromptRow>();
  return {
    async save(values: PromptValues, beforeCommit: () => Promise<void>) {
      await beforeCommit();
      const row = { ...values, created_at: new Date(), updated_at: new Date() };
      rows.set(values.name, row);
      return row;
    },
    async get(name: string) { return rows.get(name); },
    async list() { return [...rows.values()]; },
    async remove(name: string) { const row = rows.get(name); rows.delete(name); return row; },
  } as unknown as PromptsStore;
}

describe('prompt uploads are converted off the event loop', () => {
  let dir: string;
  let prompts: PromptsService;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'centralita-prompts-'));
    prompts = new PromptsService(memoryStore(), dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a 20 MB upload leaves the event loop serving a 10 ms timer all along (the conversion runs in a worker thread)', async () => {
    const file = wav(44100, 2, 20 * 1024 * 1024 - 44);
    let ticks = 0;
    let last = performance.now();
    let longestGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks++;
    }, 10);
    const started = performance.now();
    try {
      const view = await prompts.upload('big', file);
      assert.equal(view.originalFormat, 'PCM 16-bit, 44100 Hz, stereo');
      assert.equal(view.durationMs, Math.round(((20 * 1024 * 1024 - 44) / 4 / 44100) * 1000));
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    longestGap = Math.max(longestGap, performance.now() - last);
    // Relative, not timed (bench/prompt-upload.ts measures): converting on the
    // main thread makes one gap of nearly the whole upload with no tick in
    // it; off the loop the timer ticks throughout.
    const detail = `upload ${elapsed.toFixed(0)} ms, ${ticks} ticks, longest gap ${longestGap.toFixed(0)} ms`;
    assert.ok(longestGap < elapsed / 2, detail);
    assert.ok(ticks >= 10, detail);
    const stored = await readFile(join(dir, 'big.wav'));
    assert.equal(stored.readUInt32LE(24), 8000, 'stored at 8 kHz');
  });

  it('the conversion gives what the synchronous one gives, from another thread', async () => {
    const file = wav(48000, 1, 96_000);
    const expected = toTelephoneWav(file);
    const converted = await toTelephoneWavOffThread(file);
    assert.notEqual(converted.threadId, threadId, 'converted in a worker thread');
    assert.equal(file.length, 0, 'the buffer was moved to the worker, not copied');
    assert.deepEqual({ ...converted, threadId: undefined }, { ...expected, threadId: undefined });
  });

  it('refuses invalid audio with the same 400 invalid_audio and message as before', async () => {
    const truncated = wav(8000, 1, 1000).subarray(0, 600);
    const cases = [Buffer.alloc(0), Buffer.from('not a wav at all'), wav(8000, 1, 300, { bits: 24 }), wav(8000, 1, 400, { format: 3, bits: 32 }), wav(96000, 1, 400), truncated];
    for (const file of cases) {
      const expected = (() => {
        try {
          toTelephoneWav(file);
        } catch (err) {
          assert.ok(err instanceof InvalidAudioError);
          return err.message;
        }
        return assert.fail('the synchronous conversion accepted it');
      })();
      await assert.rejects(prompts.upload('bad', file), (err: unknown) => {
        assert.ok(err instanceof HttpError);
        assert.deepEqual([err.statusCode, err.code, err.message], [400, 'invalid_audio', expected]);
        return true;
      });
    }
    assert.equal(await prompts.exists('bad'), false, 'nothing stored');
  });
});
