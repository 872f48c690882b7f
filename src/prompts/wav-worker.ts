/**
 * Prompt conversion off the event loop. Resampling a 20 MB upload takes
 * seconds of CPU (2.6 s measured, bench/README.md); on the main thread that
 * held every ARI event, call and API request for as long. Each upload is
 * converted in a worker thread of its own, started for it and ended after it,
 * one at a time (nothing stays running between uploads, and a burst of
 * uploads does not take every core). The worker runs toTelephoneWav itself,
 * so what it answers, and the InvalidAudioError messages, are the same.
 *
 * This file is both the worker's entry and its client: the worker is started
 * with workerData.role 'prompt-wav'.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, threadId, Worker, workerData } from 'node:worker_threads';
import { InvalidAudioError, toTelephoneWav, type TelephoneWav } from './wav.js';

const role = 'prompt-wav';

type Answer =
  | { ok: true; wav: Uint8Array; durationMs: number; originalFormat: string; threadId: number }
  | { ok: false; invalid: boolean; message: string };

if (!isMainThread && (workerData as { role?: string } | null)?.role === role) {
  parentPort!.once('message', (file: Uint8Array) => {
    let answer: Answer;
    try {
      const converted = toTelephoneWav(Buffer.from(file.buffer, file.byteOffset, file.byteLength));
      answer = { ok: true, wav: converted.wav, durationMs: converted.durationMs, originalFormat: converted.originalFormat, threadId };
    } catch (err) {
      answer = { ok: false, invalid: err instanceof InvalidAudioError, message: err instanceof Error ? err.message : String(err) };
    }
    const wholeBuffer = answer.ok && answer.wav.byteOffset === 0 && answer.wav.byteLength === answer.wav.buffer.byteLength;
    parentPort!.postMessage(answer, wholeBuffer && answer.ok ? [answer.wav.buffer as ArrayBuffer] : []);
  });
}

// The worker runs this same file: .js once built; .ts under tsx, whose
// loader a worker thread does not inherit on Node 20 (it refuses the .ts
// entry), so there a small script registers tsx in the worker first.
const entry = new URL(`./wav-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
const typescript = entry.pathname.endsWith('.ts');
const viaTsx = `const { workerData } = require('node:worker_threads');
import(workerData.tsx).then((tsx) => { tsx.register(); return import(workerData.entry); }).catch((err) => { throw err; });`;

function startWorker(): Worker {
  if (!typescript) return new Worker(entry, { workerData: { role } });
  return new Worker(viaTsx, { eval: true, workerData: { role, tsx: import.meta.resolve('tsx/esm/api'), entry: entry.href } });
}

let queue: Promise<unknown> = Promise.resolve();

function convertInWorker(file: Buffer): Promise<TelephoneWav & { threadId: number }> {
  return new Promise((resolve, reject) => {
    const worker = startWorker();
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.once('message', (answer: Answer) => settle(() => {
      if (answer.ok) resolve({ wav: Buffer.from(answer.wav.buffer, answer.wav.byteOffset, answer.wav.byteLength), durationMs: answer.durationMs, originalFormat: answer.originalFormat, threadId: answer.threadId });
      else reject(answer.invalid ? new InvalidAudioError(answer.message) : new Error(`prompt conversion failed: ${answer.message}`));
    }));
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`the prompt conversion worker exited with code ${code}`))));
    // Copying 20 MB holds the loop ~70 ms: a buffer that owns its memory (an
    // upload's body does) is moved to the worker instead; a slice of a
    // shared pool is copied.
    const owns = file.byteOffset === 0 && file.byteLength === file.buffer.byteLength && file.buffer instanceof ArrayBuffer;
    const message = owns ? new Uint8Array(file.buffer) : new Uint8Array(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength));
    worker.postMessage(message, [message.buffer as ArrayBuffer]);
  });
}

/**
 * toTelephoneWav in a worker thread: the same answer, or the same
 * InvalidAudioError, without blocking the event loop. `threadId` says which
 * thread converted it (never the main one, 0). The file is handed over: a
 * buffer that owns its memory is empty afterwards.
 */
export function toTelephoneWavOffThread(file: Buffer): Promise<TelephoneWav & { threadId: number }> {
  const run = queue.then(() => convertInWorker(file));
  // the next conversion waits for this one, failed or not; the caller gets this one's error from `run`
  queue = run.catch(() => undefined);
  return run;
}
