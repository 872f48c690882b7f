// Latency of the live feed: from an agent state change asked over the API to
// the change arriving on a /api/v1/events WebSocket client. Needs the lab and
// Postgres (as npm test does). Usage: npm run bench:feed [-- rounds]
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { TestPhone } from '../test/phones/sip-phone.js';
import { adminToken, resetDatabase, startTestApp } from '../test/support/harness.js';

const rounds = Number(process.argv[2] ?? 200);
const t = await startTestApp({ databaseUrl: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/centralita_test' });
await resetDatabase(t.app);
await t.app.agents.load();
const agent = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '9901', name: 'Bench', pin: '1234' } })).body as { id: string };
// A registered desk phone, so the agent is reachable.
const phone = await TestPhone.start({ user: '1010', password: 'lab-1010' });
await phone.register();
await t.api(`/api/v1/agents/${agent.id}/login`, { method: 'POST', json: { extension: '1010' } });

const socket = new WebSocket(`${t.baseUrl.replace('http', 'ws')}/api/v1/events`, { headers: { authorization: `Bearer ${adminToken}` } });
await new Promise((resolve) => socket.once('open', resolve));
let waiting: ((at: number) => void) | undefined;
socket.on('message', (data) => {
  const message = JSON.parse(data.toString()) as { type: string; data: { agentId: string } };
  if (message.type === 'agent.state' && message.data.agentId === agent.id) waiting?.(performance.now());
});

const latencies: number[] = [];
for (let i = 0; i < rounds; i += 1) {
  const path = i % 2 === 0 ? 'pause' : 'ready';
  const arrived = new Promise<number>((resolve) => { waiting = resolve; });
  const sent = performance.now();
  const request = t.api(`/api/v1/agents/${agent.id}/${path}`, { method: 'POST', ...(path === 'pause' ? { json: { reason: 'break' } } : {}) });
  latencies.push((await arrived) - sent);
  const res = await request;
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
}
socket.close();
await t.api(`/api/v1/agents/${agent.id}/logout`, { method: 'POST' });
await phone.close();
await t.stop();

latencies.sort((a, b) => a - b);
const at = (q: number): string => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
console.log(`live feed latency over ${rounds} state changes: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`);
