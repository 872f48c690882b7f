// Webhook delivery under sustained load: events at a steady rate to one
// receiver on 127.0.0.1; the delay from each event to its arrival at the
// receiver (the outbox write, the worker's pass, the signed POST). Needs
// Postgres and the lab (as npm test does). Usage:
//   npm run bench:webhooks [-- rate seconds]        (defaults 200 events/s for 30 s)
// The events are `recording.completed` emitted on the bus (only webhooks
// listen to it), so nothing else of centralita is loaded by them.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { resetDatabase, startTestApp } from '../test/support/harness.js';

const rate = Number(process.argv[2] ?? 200);
const seconds = Number(process.argv[3] ?? 30);
const total = rate * seconds;

const sentAt = new Map<string, number>();
const delays: number[] = [];
let outOfOrder = 0;
let last = -1;
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => { body += d.toString(); });
  req.on('end', () => {
    const event = JSON.parse(body) as { data: { recordingId: string; bytes: number } };
    const started = sentAt.get(event.data.recordingId);
    if (started !== undefined) {
      delays.push(performance.now() - started);
      sentAt.delete(event.data.recordingId);
      if (event.data.bytes < last) outOfOrder += 1;
      last = event.data.bytes;
    }
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const port = (receiver.address() as { port: number }).port;

const t = await startTestApp({ lookupAllow: [`127.0.0.1:${port}`], logLevel: 'warn' });
await resetDatabase(t.app);
const hook = await t.api('/api/v1/webhooks', { method: 'POST', json: { url: `http://127.0.0.1:${port}/bench`, events: ['recording.completed'] } });
if (hook.status !== 201) throw new Error(JSON.stringify(hook.body));

const cpuBefore = process.cpuUsage();
const began = performance.now();
for (let i = 0; i < total; i += 1) {
  // Paced against the clock, not by sleeping a fixed time per event.
  const due = began + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
  const recordingId = randomUUID();
  sentAt.set(recordingId, performance.now());
  t.app.bus.emit('recording.completed', {
    recordingId, callId: randomUUID(), queueId: null, agentIds: [], seconds: 1, bytes: i, sha256: '0'.repeat(64), at: new Date().toISOString(),
  });
}
const emitted = performance.now() - began;
const deadline = performance.now() + 60_000;
while (delays.length < total && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
const cpu = process.cpuUsage(cpuBefore);
await t.stop();
receiver.close();

delays.sort((a, b) => a - b);
const at = (q: number): string => (delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] ?? NaN).toFixed(0);
console.log(`webhooks: ${total} events at ${rate}/s over ${(emitted / 1000).toFixed(1)} s; delivered ${delays.length}, out of order ${outOfOrder}; `
  + `delay p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms; centralita (this process) CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);
