/**
 * How long a prompt upload's conversion holds the event loop
 * (npm run bench:prompts -- [rounds]): a 20 MB WAV (44.1 kHz stereo 16-bit,
 * about 2 minutes) converted on the main thread, as uploads were before, and
 * in a worker thread, as now (the header read on the main thread, then
 * toTelephoneWavOffThread, as PromptsService does). For each: the wall time,
 * the longest gap between the ticks of a 10 ms timer (what a call's timers
 * would have waited), the event loop's utilization, and perf_hooks'
 * monitorEventLoopDelay (which on Node 20 does not see one long block: a 1 s
 * busy loop shows as a 10 ms max).
 * Not a test: the figures go to bench/README.md by hand.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseWav, toTelephoneWav } from '../src/prompts/wav.js';
import { toTelephoneWavOffThread } from '../src/prompts/wav-worker.js';
import { toneWav } from '../test/support/tone-wav.js';

const rounds = Number(process.argv[2] ?? 3);
const sizeBytes = 20 * 1024 * 1024;

/** 44.1 kHz stereo 16-bit, `bytes` long with its header. */
const wav44kStereo = (bytes: number): Buffer => toneWav(44100, 2, bytes - 44);

async function measure(what: string, convert: () => Promise<unknown>): Promise<void> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  let last = performance.now();
  let longestGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
  }, 10);
  delay.enable();
  // The histogram counts from its second sample: let it start first.
  await sleep(50);
  delay.reset();
  longestGap = 0;
  const utilization = performance.eventLoopUtilization();
  const started = performance.now();
  await convert();
  const elapsed = performance.now() - started;
  const busy = performance.eventLoopUtilization(utilization).utilization;
  await sleep(30); // the sample after the conversion, which sees a block that ended it
  clearInterval(timer);
  delay.disable();
  const ms = (ns: number): string => (ns / 1e6).toFixed(0);
  console.log(`${what}: ${elapsed.toFixed(0)} ms; longest 10 ms timer gap ${longestGap.toFixed(0)} ms; event loop busy ${(busy * 100).toFixed(0)} %; `
    + `monitorEventLoopDelay max ${ms(delay.max)} ms, p99 ${ms(delay.percentile(99))} ms`);
}

const file = wav44kStereo(sizeBytes);
console.log(`${(file.length / 1024 / 1024).toFixed(1)} MB, 44.1 kHz stereo 16-bit, ${(Math.floor((file.length - 44) / 4) / 44100).toFixed(1)} s`);
await toTelephoneWavOffThread(Buffer.from(file)); // the first worker pays for loading the module
for (let round = 1; round <= rounds; round++) {
  await measure(`round ${round} main thread (before)`, async () => toTelephoneWav(file));
  const body = Buffer.from(file); // as an upload's body: a buffer of its own, handed to the worker
  await measure(`round ${round} worker thread (now)  `, async () => {
    parseWav(body);
    await toTelephoneWavOffThread(body);
  });
}
