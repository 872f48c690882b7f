// The campaign dialer on the lab at the largest rate its agents allow (issue 25):
// how long a person who answers waits for their agent, and what Asterisk and
// centralita spend per call.
//
//   flock -o /tmp/centralita-lab.lock npm run bench:campaign -- --agents 20 --contacts 300 --talk 4000
//
// Agents: the benchmark's sipp agents (4001-…, static contacts, bench/sipp/
// agent-answers.xml), each joined to a progressive campaign: its phone is
// answered once and stays in the agent's bridge. Customers: the PSTN emulator
// (test/phones/pstn.ts) on the carrier trunk, every number a person who
// answers at once or after 1 s, says "hello", and talks --talk ms before
// hanging up. The campaign passes machines to agents too (amd.action agent),
// so every answered call reaches an agent through AMD(). centralita runs as a
// process of its own (port 3991, database centralita_campaign_bench, Stasis
// app centralita-bench), measured apart from this process (the emulator).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { projectRoot } from '../src/core/paths.js';
import { PstnEmulator } from '../test/phones/pstn.js';
import { cpuSeconds, machineTicks, quantile } from './load/measure.js';
import { startAgents, stopAll } from './load/sipp.js';

const { values: flags } = parseArgs({
  options: {
    agents: { type: 'string', default: '20' },
    contacts: { type: 'string', default: '300' },
    talk: { type: 'string', default: '4000' },
  },
});
const agentCount = Number(flags.agents);
const contactCount = Number(flags.contacts);
const talkMs = Number(flags.talk);
const port = 3991;
const base = `http://127.0.0.1:${port}`;
const adminToken = 'bench-campaign-admin-token-0123456789abcdef';
const databaseName = 'centralita_campaign_bench';
const databaseUrl = `postgres://postgres@127.0.0.1:5432/${databaseName}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

function asteriskPid(): number {
  const pid = Number(readFileSync('/var/cache/centralita-lab/run/asterisk.pid', 'utf8').trim());
  if (!existsSync(`/proc/${pid}`)) throw new Error('the lab Asterisk is not running: npm run lab:up');
  return pid;
}

async function api(path: string, init: { method?: string; json?: unknown; body?: string; type?: string } = {}): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- the API's JSON
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${adminToken}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : init.type ? { 'content-type': init.type } : {}) },
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body };
}

async function must(what: string, call: Promise<{ status: number; body: unknown }>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- the API's JSON
  const res = await call;
  if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function startCentralita(): Promise<ChildProcess> {
  const db = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await db.connect();
  await db.query(`drop database if exists ${databaseName} with (force)`);
  await db.query(`create database ${databaseName}`);
  await db.end();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: projectRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH, CENTRALITA_PORT: String(port), CENTRALITA_LOG_LEVEL: 'warn', DATABASE_URL: databaseUrl, CENTRALITA_ADMIN_TOKEN: adminToken,
      CENTRALITA_ARI_USER: 'centralita', CENTRALITA_ARI_PASSWORD: 'centralita-lab-ari', CENTRALITA_ARI_APP: 'centralita-bench',
      CENTRALITA_AMI_USER: 'centralita', CENTRALITA_AMI_PASSWORD: 'centralita-lab-ami',
      CENTRALITA_RECORDINGS_DIR: `${projectRoot}/recordings`, CENTRALITA_PROMPTS_DIR: `${projectRoot}/prompts`, CENTRALITA_RECORDINGS_MIN_FREE_MB: '0',
      CENTRALITA_TIMEZONE: 'Europe/Madrid',
      CENTRALITA_OUTBOUND_ENDPOINT: 'PJSIP/${number}@carrier', CENTRALITA_OUTBOUND_CALLER_ID: '+34910000000', CENTRALITA_CAMPAIGN_RING_SECONDS: '10',
    },
  });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => { log = (log + chunk.toString()).slice(-4000); });
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`centralita exited ${child.exitCode}: ${log}`);
    const health = await fetch(`${base}/health`).then((r) => r.json() as Promise<{ ari: string; ami: string }>).catch(() => undefined);
    if (health?.ari === 'up' && health.ami === 'up') return child;
    if (Date.now() > until) throw new Error(`centralita did not connect to ARI and AMI: ${log}`);
    await sleep(250);
  }
}

const pstn = await PstnEmulator.start({ personTalkMs: talkMs });
const agentsUas = await startAgents(`/tmp/centralita-bench/campaign-${Date.now()}`);
const centralita = await startCentralita();
try {
  const agentIds: string[] = [];
  for (let i = 0; i < agentCount; i += 1) {
    const ext = String(4001 + i);
    const agent = await must('agent', api('/api/v1/agents', { method: 'POST', json: { number: ext, name: `bench ${ext}`, pin: '1234', extension: ext } }));
    agentIds.push(agent.id);
  }
  const queue = await must('queue', api('/api/v1/queues', { method: 'POST', json: { name: 'bench-cobros', strategy: 'longest_idle', ringTimeoutSeconds: 10, wrapUpSeconds: 0, maxWaitSeconds: 60 } }));
  await must('members', api(`/api/v1/queues/${queue.id}/members`, { method: 'PUT', json: { members: agentIds.map((agentId) => ({ agentId })) } }));
  const campaign = await must('campaign', api('/api/v1/campaigns', { method: 'POST', json: {
    name: 'bench', queueId: queue.id, callerId: '+34910000000', mode: 'progressive',
    hours: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ['00:00-24:00']])),
    defaultRegion: 'ES', defaultTimezone: 'Europe/Madrid', amd: { action: 'agent' },
  } }));
  // Persons only: the last digit 8 answers at once, 9 after a second (test/phones/pstn.ts).
  const numbers = Array.from({ length: contactCount }, (_, i) => `+3461${String(i).padStart(6, '0')}${i % 2 === 0 ? '8' : '9'}`);
  await must('list', api(`/api/v1/campaigns/${campaign.id}/lists?name=bench`, { method: 'POST', body: ['number', ...numbers].join('\r\n'), type: 'text/csv' }));
  for (const id of agentIds) await must('login', api(`/api/v1/agents/${id}/login`, { method: 'POST' }));
  for (const agentId of agentIds) await must('session', api(`/api/v1/campaigns/${campaign.id}/sessions`, { method: 'POST', json: { agentId } }));
  const until = Date.now() + 30_000;
  while ((await api(`/api/v1/campaigns/${campaign.id}/live`)).body.agentsWaiting < agentCount) {
    if (Date.now() > until) throw new Error('the agents\' sessions did not all come up');
    await sleep(250);
  }

  const asterisk = asteriskPid();
  const before = { asterisk: cpuSeconds(asterisk), centralita: cpuSeconds(centralita.pid!), machine: machineTicks(), at: Date.now() };
  await must('start', api(`/api/v1/campaigns/${campaign.id}/start`, { method: 'POST' }));
  const deadline = Date.now() + contactCount * (talkMs + 15_000);
  for (;;) {
    const c = (await api(`/api/v1/campaigns/${campaign.id}`)).body;
    const live = (await api(`/api/v1/campaigns/${campaign.id}/live`)).body;
    if (c.contacts.remaining === 0 && live.dialling === 0 && live.talking === 0) break;
    if (Date.now() > deadline) throw new Error(`the campaign did not finish: ${JSON.stringify(c.contacts)}`);
    await sleep(500);
  }
  const after = { asterisk: cpuSeconds(asterisk), centralita: cpuSeconds(centralita.pid!), machine: machineTicks(), at: Date.now() };

  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const rows = (await db.query<{ outcome: string | null; wait_ms: number | null; dial_ms: number | null }>(`
    select a.outcome, extract(epoch from o.agent_answered_at - a.answered_at) * 1000 as wait_ms,
      extract(epoch from o.agent_answered_at - a.started_at) * 1000 as dial_ms
    from campaign_attempts a left join outbound_calls o on o.call_id = a.call_id where a.campaign_id = $1`, [campaign.id])).rows;
  await db.end();
  const connected = rows.filter((r) => r.wait_ms !== null);
  const waits = connected.map((r) => Number(r.wait_ms)).sort((a, b) => a - b);
  const dials = connected.map((r) => Number(r.dial_ms)).sort((a, b) => a - b);
  const outcomes: Record<string, number> = {};
  for (const r of rows) outcomes[r.outcome ?? 'open'] = (outcomes[r.outcome ?? 'open'] ?? 0) + 1;
  const seconds = (after.at - before.at) / 1000;
  const busy = (after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total);
  const result = {
    machine: `${cpus().length} cores`, agents: agentCount, contacts: contactCount, talkMs, seconds: round(seconds),
    attempts: rows.length, outcomes, connectsPerSecond: round(connected.length / seconds, 2),
    answerToAgentMs: { p50: round(quantile(waits, 0.5), 0), p95: round(quantile(waits, 0.95), 0), max: round(waits.at(-1) ?? 0, 0) },
    dialToAgentMs: { p50: round(quantile(dials, 0.5), 0), p95: round(quantile(dials, 0.95), 0) },
    cpuSecondsPerConnect: { asterisk: round((after.asterisk - before.asterisk) / Math.max(1, connected.length), 3), centralita: round((after.centralita - before.centralita) / Math.max(1, connected.length), 3) },
    cpuPercentOfOneCore: { asterisk: round((100 * (after.asterisk - before.asterisk)) / seconds), centralita: round((100 * (after.centralita - before.centralita)) / seconds) },
    machineBusyPercent: round(100 * busy),
  };
  console.log(JSON.stringify(result, null, 2));
  for (const agentId of agentIds) await api(`/api/v1/campaigns/${campaign.id}/sessions/${agentId}`, { method: 'DELETE' });
} finally {
  centralita.kill('SIGTERM');
  await new Promise((r) => centralita.once('exit', r));
  await agentsUas.stop();
  await stopAll();
  await pstn.close();
}
