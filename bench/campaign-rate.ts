// The campaign dialer on the lab at the largest rate its agents allow (issue 25):
// how long a person who answers waits for their agent, and what Asterisk and
// centralita spend per call, against Asterisk dialling the same contacts alone
// (AMI Originate, AMD() and Dial() in bench-campaign-native of
// dialplan/centralita-bench.conf) in the same run.
//
//   flock -o /tmp/centralita-lab.lock npm run bench:campaign -- --agents 200 --contacts 2000 --talk 4000 [--phases native,centralita]
//
// Both phases are timed the same way, from Asterisk's AMI events for the
// customer's channel (PJSIP/carrier-…): dialled (Newchannel), answered
// (Newstate Up), with its agent (BridgeEnter into a bridge of two).
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
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { projectRoot } from '../src/core/paths.js';
import { AmiClient, type AmiMessage } from '../src/asterisk/ami.js';
import { createLogger } from '../src/core/logger.js';
import { PstnEmulator } from '../test/phones/pstn.js';
import { cpuSeconds, machineTicks, quantile } from './load/measure.js';
import { startAgents, stopAll } from './load/sipp.js';

const { values: flags } = parseArgs({
  options: {
    agents: { type: 'string', default: '20' },
    contacts: { type: 'string', default: '300' },
    talk: { type: 'string', default: '4000' },
    phases: { type: 'string', default: 'native,centralita' },
  },
});
const agentCount = Number(flags.agents);
const contactCount = Number(flags.contacts);
const talkMs = Number(flags.talk);
const phases = flags.phases.split(',');
const port = 3991;
const base = `http://127.0.0.1:${port}`;
const adminToken = 'bench-campaign-admin-token-0123456789abcdef';
const databaseName = 'centralita_campaign_bench';
const databaseUrl = `postgres://postgres@127.0.0.1:5432/${databaseName}`;
const progress = (what: string): void => { process.stderr.write(`campaign bench: ${what}\n`); };
const logFile = '/tmp/centralita-bench/campaign-centralita.log';
mkdirSync('/tmp/centralita-bench', { recursive: true });
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
    // centralita's log (pino, on stdout) is kept for a run that goes wrong.
    stdio: ['ignore', openSync(logFile, 'w'), 'pipe'],
    env: {
      PATH: process.env.PATH, CENTRALITA_PORT: String(port), CENTRALITA_LOG_LEVEL: process.env.CENTRALITA_LOG_LEVEL ?? 'warn', DATABASE_URL: databaseUrl, CENTRALITA_ADMIN_TOKEN: adminToken,
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

// A channel left up (a run that failed before its sessions ended: centralita
// keeps calls across its own restarts) would make its agent busy in this run.
const leftover = await fetch('http://127.0.0.1:8088/ari/channels', { headers: { authorization: `Basic ${Buffer.from('centralita:centralita-lab-ari').toString('base64')}` } }).then((r) => r.json() as Promise<unknown[]>);
if (leftover.length > 0) throw new Error(`the lab has ${leftover.length} channel(s) up from an earlier run: bash scripts/lab.sh restart`);
progress('starting the PSTN emulator, the agents\' sipp and centralita');
/** The customers' channels as AMI reports them: when each was dialled, answered and joined to its agent, and its end. */
class CarrierChannels {
  readonly dialled = new Map<string, number>();
  readonly answered = new Map<string, number>();
  readonly bridged = new Map<string, number>();
  private readonly endings = new Map<string, () => void>();

  handle(event: AmiMessage): void {
    if (!event.channel?.startsWith('PJSIP/carrier-')) return;
    const id = event.uniqueid ?? '';
    const now = performance.now();
    switch (event.event) {
      case 'Newchannel': this.dialled.set(id, now); break;
      case 'Newstate': if (event.channelstatedesc === 'Up' && !this.answered.has(id)) this.answered.set(id, now); break;
      case 'BridgeEnter': if (Number(event.bridgenumchannels) >= 2 && !this.bridged.has(id)) this.bridged.set(id, now); break;
      case 'Hangup': this.endings.get(id)?.(); this.endings.delete(id); break;
      default:
    }
  }

  ended(id: string): Promise<void> {
    return new Promise((resolve) => this.endings.set(id, resolve));
  }

  /** Latencies of the channels joined to an agent, sorted. */
  figures(): { connects: number; answerToAgent: number[]; dialToAgent: number[] } {
    const answerToAgent: number[] = [];
    const dialToAgent: number[] = [];
    for (const [id, at] of this.bridged) {
      const answered = this.answered.get(id);
      const dialled = this.dialled.get(id);
      if (answered !== undefined) answerToAgent.push(at - answered);
      if (dialled !== undefined) dialToAgent.push(at - dialled);
    }
    return { connects: this.bridged.size, answerToAgent: answerToAgent.sort((a, b) => a - b), dialToAgent: dialToAgent.sort((a, b) => a - b) };
  }
}

interface Sample { asterisk: number; centralita: number; machine: { busy: number; total: number }; emulator: NodeJS.CpuUsage; at: number }

function sample(centralitaPid: number | undefined, emulatorSince?: NodeJS.CpuUsage): Sample {
  return { asterisk: cpuSeconds(asteriskPid()), centralita: centralitaPid ? cpuSeconds(centralitaPid) : 0, machine: machineTicks(), emulator: process.cpuUsage(emulatorSince), at: Date.now() };
}

function phaseResult(channels: CarrierChannels, before: Sample, after: Sample, outcomes: Record<string, number>): Record<string, unknown> {
  const { connects, answerToAgent, dialToAgent } = channels.figures();
  const seconds = (after.at - before.at) / 1000;
  const ms = (values: number[], q: number): number => round(quantile(values, q), 0);
  return {
    seconds: round(seconds), dialled: channels.dialled.size, outcomes, connects, connectsPerSecond: round(connects / seconds, 2),
    answerToAgentMs: { p50: ms(answerToAgent, 0.5), p95: ms(answerToAgent, 0.95), max: round(answerToAgent.at(-1) ?? 0, 0), over2s: answerToAgent.filter((v) => v > 2000).length },
    dialToAgentMs: { p50: ms(dialToAgent, 0.5), p95: ms(dialToAgent, 0.95) },
    cpuMsPerConnect: { asterisk: round((1000 * (after.asterisk - before.asterisk)) / Math.max(1, connects)), centralita: round((1000 * (after.centralita - before.centralita)) / Math.max(1, connects)) },
    cpuPercentOfOneCore: {
      asterisk: round((100 * (after.asterisk - before.asterisk)) / seconds),
      centralita: round((100 * (after.centralita - before.centralita)) / seconds),
      // This process: the PSTN emulator's SIP and RTP (the customers), not part of the product.
      emulator: round((after.emulator.user + after.emulator.system) / 1e4 / seconds),
    },
    machineBusyPercent: round((100 * (after.machine.busy - before.machine.busy)) / (after.machine.total - before.machine.total)),
  };
}

// Persons only: the last digit 8 answers at once, 9 after a second (test/phones/pstn.ts).
const numbers = Array.from({ length: contactCount }, (_, i) => `+3461${String(i).padStart(6, '0')}${i % 2 === 0 ? '8' : '9'}`);
const runId = Date.now().toString(36);
const agentExtensions = Array.from({ length: agentCount }, (_, i) => String(4001 + i));

/** Asterisk alone: each agent's turn dials the next contact, AMD, Dial to the agent, until the contacts run out. */
async function nativePhase(ami: AmiClient, channels: CarrierChannels): Promise<Record<string, number>> {
  let next = 0;
  const outcomes: Record<string, number> = {};
  await Promise.all(agentExtensions.map(async (extension) => {
    for (let i = next++; i < numbers.length; i = next++) {
      const channelId = `bench-native-${runId}-${i}`;
      const ended = channels.ended(channelId);
      await ami.action('Originate', {
        channel: `PJSIP/${numbers[i]}@carrier`, context: 'bench-campaign-native', exten: 's', priority: 1, async: 'true',
        channelid: channelId, callerid: '+34910000000', timeout: 10_000, variable: `BENCH_AGENT=${extension}`,
      });
      // A few of the first originates of a run fail in Asterisk ("Channel
      // Unique ID already in use", though each id is new): no channel within 5 s.
      const timers: NodeJS.Timeout[] = [];
      const end = await Promise.race([
        ended.then(() => 'ended' as const),
        new Promise<'no channel'>((resolve) => timers.push(setTimeout(() => { if (!channels.dialled.has(channelId)) resolve('no channel'); }, 5000))),
        new Promise<'no end seen'>((resolve) => timers.push(setTimeout(() => resolve('no end seen'), talkMs + 30_000))),
      ]);
      for (const timer of timers) clearTimeout(timer);
      const outcome = end !== 'ended' ? end : channels.bridged.has(channelId) ? 'answered' : 'not connected';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
  }));
  return outcomes;
}

const pstn = await PstnEmulator.start({ personTalkMs: talkMs });
const agentsUas = await startAgents(`/tmp/centralita-bench/campaign-${Date.now()}`);
const ami = new AmiClient({ host: '127.0.0.1', port: 5038, user: 'centralita', password: 'centralita-lab-ami', events: ['Newchannel', 'Newstate', 'BridgeEnter', 'Hangup'] }, createLogger('warn'));
ami.start();
for (const until = Date.now() + 10_000; ami.state !== 'up'; await sleep(100)) if (Date.now() > until) throw new Error('no AMI connection to the lab');
let centralita: ChildProcess | undefined;
const agentIds: string[] = [];
let campaignId: string | undefined;
const results: Record<string, Record<string, unknown>> = {};
try {
  if (phases.includes('native')) {
    progress(`native: ${agentCount} agents, ${contactCount} contacts, Asterisk alone`);
    const channels = new CarrierChannels();
    const unsubscribe = ami.onEvent((event) => channels.handle(event));
    const before = sample(undefined);
    const outcomes = await nativePhase(ami, channels);
    results.native = phaseResult(channels, before, sample(undefined, before.emulator), outcomes);
    unsubscribe();
    await sleep(2000);
  }

  if (phases.includes('centralita')) {
    centralita = await startCentralita();
    for (const ext of agentExtensions) {
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
    campaignId = campaign.id;
    await must('list', api(`/api/v1/campaigns/${campaign.id}/lists?name=bench`, { method: 'POST', body: ['number', ...numbers].join('\r\n'), type: 'text/csv' }));
    progress(`centralita: ${agentCount} agents, ${contactCount} contacts imported; logging in`);
    for (const id of agentIds) await must('login', api(`/api/v1/agents/${id}/login`, { method: 'POST' }));
    for (const agentId of agentIds) await must('session', api(`/api/v1/campaigns/${campaign.id}/sessions`, { method: 'POST', json: { agentId } }));
    const until = Date.now() + 30_000;
    while ((await api(`/api/v1/campaigns/${campaign.id}/live`)).body.agentsWaiting < agentCount) {
      if (Date.now() > until) throw new Error('the agents\' sessions did not all come up');
      await sleep(250);
    }

    progress('centralita: sessions up; starting the campaign');
    const channels = new CarrierChannels();
    const unsubscribe = ami.onEvent((event) => channels.handle(event));
    const before = sample(centralita.pid);
    await must('start', api(`/api/v1/campaigns/${campaign.id}/start`, { method: 'POST' }));
    // Each agent takes its share of the contacts one after the other; 15 s a call is ample (ring, AMD, wrap-up).
    const deadline = Date.now() + Math.ceil(contactCount / agentCount) * (talkMs + 15_000) + 60_000;
    for (;;) {
      const c = (await api(`/api/v1/campaigns/${campaign.id}`)).body;
      const live = (await api(`/api/v1/campaigns/${campaign.id}/live`)).body;
      // Every contact tried once: a person not answered in time (an overloaded
      // run) waits for its retry, which the run does not wait for.
      const open = c.contacts.byState.pending + c.contacts.byState.in_progress;
      if (open === 0 && live.dialling === 0 && live.talking === 0) break;
      if (Date.now() > deadline) throw new Error(`the campaign did not finish: ${JSON.stringify(c.contacts)}`);
      await sleep(500);
    }
    const after = sample(centralita.pid, before.emulator);
    unsubscribe();
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const rows = (await db.query<{ outcome: string | null; count: number }>('select outcome, count(*)::int as count from campaign_attempts where campaign_id = $1 group by 1', [campaign.id])).rows;
    await db.end();
    results.centralita = phaseResult(channels, before, after, Object.fromEntries(rows.map((r) => [r.outcome ?? 'open', r.count])));
  }

  const cpu = (phase: string, of: 'asterisk' | 'centralita'): number => (results[phase]?.cpuMsPerConnect as Record<string, number> | undefined)?.[of] ?? NaN;
  console.log(JSON.stringify({
    machine: `${cpus().length} cores`, agents: agentCount, contacts: contactCount, talkMs, ...results,
    ...(results.native && results.centralita ? {
      ratios: {
        // Asterisk's CPU per connect under centralita against Asterisk alone, and everything (Asterisk + centralita) against it.
        asteriskCpu: round(cpu('centralita', 'asterisk') / cpu('native', 'asterisk'), 2),
        totalCpu: round((cpu('centralita', 'asterisk') + cpu('centralita', 'centralita')) / cpu('native', 'asterisk'), 2),
      },
    } : {}),
  }, null, 2));
} finally {
  // The agents' phone legs end with their sessions, also when the run failed.
  if (campaignId) for (const agentId of agentIds) await api(`/api/v1/campaigns/${campaignId}/sessions/${agentId}`, { method: 'DELETE' }).catch(() => undefined);
  if (centralita) {
    centralita.kill('SIGTERM');
    await new Promise((r) => centralita!.once('exit', r));
  }
  await ami.stop();
  await agentsUas.stop();
  await stopAll();
  await pstn.close();
}
