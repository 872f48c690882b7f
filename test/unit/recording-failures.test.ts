import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AriClient } from '../../src/asterisk/ari.js';
import { AriHelpers } from '../../src/asterisk/ari-helpers.js';
import { ChannelRegistry } from '../../src/asterisk/registry.js';
import { StasisRouter } from '../../src/asterisk/stasis-router.js';
import type { CallsService } from '../../src/calls/service.js';
import { EventBus, type DomainEvents } from '../../src/core/events.js';
import { createLogger } from '../../src/core/logger.js';
import type { WriteQueue } from '../../src/core/write-queue.js';
import { writeWav } from '../../src/prompts/wav.js';
import type { QueuesStore } from '../../src/queues/store.js';
import { RecordingService } from '../../src/recording/service.js';
import type { RecordingRow, RecordingsStore } from '../../src/recording/store.js';

/**
 * recording.failed (what centralita_recordings_failed_total counts) as
 * Asterisk ends recordings: once per recording, by its reason. Fakes for
 * ARI, the store and the write queue; real files in a temporary folder.
 */
async function waitFor(check: () => boolean, timeoutMs: number, message: string): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check();) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('failed recordings on the bus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'centralita-rec-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'in-progress'));

  const handlers = new Map<string, (event: unknown) => void>();
  const ari = { on: (type: string, handler: (event: unknown) => void) => handlers.set(type, handler), onConnected: () => undefined, request: async () => undefined } as unknown as AriClient;
  const rows = new Map<string, RecordingRow>();
  const store = { get: async (id: string) => rows.get(id), update: (id: string, set: object) => ({ update: 'recordings', set, where: { id } }), pathTaken: async () => false } as unknown as RecordingsStore;
  const written: string[] = [];
  const writes = {
    enqueue: async (what: string, _op: unknown, then?: () => Promise<void>) => { written.push(what); await then?.(); },
    drain: async () => undefined,
  } as unknown as WriteQueue;
  const bus = new EventBus();
  const failed: DomainEvents['recording.failed'][] = [];
  bus.on('recording.failed', (event) => failed.push(event));
  const helpers = new AriHelpers(ari, createLogger('silent'));
  const registry = new ChannelRegistry(ari);
  new RecordingService(ari, helpers, new StasisRouter(ari, helpers, registry, createLogger('silent')), registry, store, {} as QueuesStore, {} as CallsService, { routePolicy: async () => null }, writes, dir, bus, createLogger('silent'));

  const recording = (id: string, withFile: boolean): string => {
    rows.set(id, {
      id, call_id: `call-${id}`, queue_id: null, agent_ids: [], asterisk_name: `in-progress/${id}`, path: null, format: 'wav', status: 'recording',
      started_at: new Date('2026-03-10T10:00:00Z'), ended_at: null, duration_seconds: null, bytes: null, sha256: null, pauses: [], paused_since: null,
      retention_days: 365, deleted_at: null, note: null, kind: 'call',
    });
    if (withFile) writeFileSync(join(dir, 'in-progress', `${id}.wav`), writeWav(new Int16Array(800), 8000));
    return `in-progress/${id}`;
  };

  it('counts a recording Asterisk failed once, as asterisk_failed, keeping what was written', async () => {
    handlers.get('RecordingFailed')!({ recording: { name: recording('r1', true), cause: 'disk write error' } });
    await waitFor(() => written.includes('recording r1 complete'), 2000, 'r1 not stored');
    assert.deepEqual(failed, [{ recordingId: 'r1', callId: 'call-r1', reason: 'asterisk_failed' }]);
  });

  it('counts a failed recording whose file is missing once, as file_missing (not asterisk_failed too)', async () => {
    failed.length = 0;
    handlers.get('RecordingFailed')!({ recording: { name: recording('r2', false), cause: 'failed' } });
    await waitFor(() => written.includes('recording r2 missing'), 2000, 'r2 not marked missing');
    assert.deepEqual(failed, [{ recordingId: 'r2', callId: 'call-r2', reason: 'file_missing' }]);
  });

  it('counts nothing for a recording that finished well', async () => {
    failed.length = 0;
    handlers.get('RecordingFinished')!({ recording: { name: recording('r3', true) } });
    await waitFor(() => written.includes('recording r3 complete'), 2000, 'r3 not stored');
    assert.deepEqual(failed, []);
  });
});
