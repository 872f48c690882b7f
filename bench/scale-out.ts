// The scale-out benchmark (issue 26, docs/scale-out.md): the call-load
// phases of bench/load.ts (Asterisk's own dialplan, centralita's IVR, a
// queue with agents) through Kamailio, with one media server and then two,
// on the same machine; then a media server killed in the middle of a queue
// phase.
//
//   npm run bench:scale                       1 and 2 servers, native/ivr/queue at 30 calls/s for 20 s, then the kill
//   options: --rate N --seconds N --talk MS --servers 1,2 --phases native,ivr,queue --no-kill --out FILE
//
// Wrap it in the lab lock: `flock -o /tmp/centralita-lab.lock npm run bench:scale`.
// It needs the default lab up (its chroot and mounts: `npm run lab:up`),
// starts the scale-out lab itself (scripts/lab-media.sh) and leaves it down.
// centralita runs inside this process (its CPU is this process's) on port
// 3992, database centralita_scale (made anew), Stasis app centralita-bench.
// Callers are sipp (bench/load/sipp.ts) sending to Kamailio; the agents are
// the benchmark's sipp UAS (4001-4400, reached directly from each server).
// During the kill, a test phone calls the IVR every 250 ms: how long after
// the kill new calls are answered, and by whom.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createCentralita, type Centralita } from '../src/app.js';
import { createLogger } from '../src/core/logger.js';
import { projectRoot } from '../src/core/paths.js';
import { testConfig } from '../test/support/harness.js';
import { TestPhone } from '../test/phones/sip-phone.js';
import { cpuSeconds, quantile } from './load/measure.js';
import { killAllNow, runCallers, startAgents, stopAll, type CallerResult } from './load/sipp.js';

const { values: flags } = parseArgs({
  options: {
    rate: { type: 'string', default: '30' },
    seconds: { type: 'string', default: '20' },
    talk: { type: 'string', default: '3000' },
    servers: { type: 'string', default: '1,2' },
    phases: { type: 'string', default: 'native,ivr,queue' },
    'no-kill': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const rate = Number(flags.rate);
const seconds = Number(flags.seconds);
const talkMs = Number(flags.talk);
const serverCounts = flags.servers!.split(',').map(Number);
const phaseNames = flags.phases!.split(',').filter(Boolean) as Phase[];
type Phase = 'native' | 'ivr' | 'queue';
const dids: Record<Phase, string> = { native: '5990000', ivr: '5990001', queue: '5990002' };
const edge = '127.0.0.1:5080';
const run = join('/var/cache/centralita-lab', 'run');
const labRoot = '/var/cache/centralita-lab/rootfs';
const adminToken = 'bench-admin-token-0123456789abcdef0123456789';
const databaseName = 'centralita_scale';
const workDir = `/tmp/centralita-bench/scale-${new Date().toISOString().replace(/[:.]/g, '-')}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 1): number => Number(n.toFixed(digits));
const labMedia = (...args: string[]): void => { execFileSync('bash', [join(projectRoot, 'scripts/lab-media.sh'), ...args], { stdio: ['ignore', 'ignore', 'inherit'] }); };
const serverNames = (count: number): string[] => Array.from({ length: count }, (_, k) => `media-${k + 2}`);
const pidOf = (server: string): number => Number(readFileSync(join(run, `asterisk-${server}.pid`), 'utf8').trim());
/** Kamailio's processes' CPU seconds, together. */
const kamailioCpu = (): number => execFileSync('pgrep', ['-x', 'kamailio'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).reduce((sum, pid) => sum + cpuSeconds(Number(pid)), 0);
/** Calls a media server has handled since it started (`core show calls`). */
function processed(server: string): number {
  const out = execFileSync('chroot', [labRoot, '/usr/sbin/asterisk', '-C', `/etc/asterisk-${server}/asterisk.conf`, '-rx', 'core show calls'], { encoding: 'utf8' });
  return Number(/(\d+) calls? processed/.exec(out)?.[1] ?? 0);
}
const ownCpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

async function api(app: string, path: string, json?: unknown, method?: string): Promise<{ id: string }> {
  const res = await fetch(`${app}${path}`, {
    method: method ?? (json === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${adminToken}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as { id: string };
}

async function freshDatabase(): Promise<string> {
  const db = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await db.connect();
  await db.query(`drop database if exists ${databaseName} with (force)`);
  await db.query(`create database ${databaseName}`);
  await db.end();
  return `postgres://postgres@127.0.0.1:5432/${databaseName}`;
}

async function startService(count: number): Promise<{ app: Centralita; base: string; agents: string[] }> {
  const config = testConfig({
    port: 3992, adminToken, databaseUrl: await freshDatabase(), logLevel: 'warn',
    ari: { url: 'http://127.0.0.1:8088/ari', user: 'centralita', password: 'centralita-lab-ari', app: 'centralita-bench' },
    mediaServers: serverNames(count).map((name) => ({ name, ariUrl: `http://127.0.0.${name.slice(-1)}:8088/ari`, amiHost: `127.0.0.${name.slice(-1)}` })),
    mediaServerLostSeconds: 3,
  });
  const app = await createCentralita(config, { logger: createLogger('warn') });
  const base = await app.start();
  for (let i = 0; i < 100 && !app.ari.serverStates().every((s) => s.state === 'up'); i += 1) await sleep(100);
  const ivr = await api(base, '/api/v1/ivr-flows', { name: 'bench-ivr', document: { start: 'prompt', nodes: { prompt: { type: 'play', media: ['sound:conf-otherinparty', 'sound:silence/1'], next: 'bye' }, bye: { type: 'hangup' } } } });
  await api(base, `/api/v1/routes/${dids.ivr}`, { flowId: ivr.id }, 'PUT');
  const agents: string[] = [];
  for (let ext = 4001; ext <= 4400; ext += 1) agents.push((await api(base, '/api/v1/agents', { number: String(ext), name: `Bench ${ext}`, pin: '1234', extension: String(ext) })).id);
  const queue = await api(base, '/api/v1/queues', { name: 'bench-queue', strategy: 'longest_idle', ringTimeoutSeconds: 15, wrapUpSeconds: 0, maxWaitSeconds: 60, recordingPolicy: 'never', recordingRetentionDays: 1 });
  await api(base, `/api/v1/queues/${queue.id}/members`, { members: agents.map((agentId) => ({ agentId, penalty: 0 })) }, 'PUT');
  const flow = await api(base, '/api/v1/ivr-flows', { name: 'bench-queue', document: { start: 'q', nodes: { q: { type: 'queue', queue: 'bench-queue' } } } });
  await api(base, `/api/v1/routes/${dids.queue}`, { flowId: flow.id }, 'PUT');
  for (const id of agents) await api(base, `/api/v1/agents/${id}/login`, {}, 'POST');
  return { app, base, agents };
}

interface PhaseResult {
  servers: number; phase: Phase; rate: number; calls: number; succeeded: number; failed: number;
  setupP50Ms: number; setupP99Ms: number;
  callsPerServer: Record<string, number>;
  cpuPerCallMs: { asterisk: Record<string, number>; asteriskTotal: number; centralita: number; kamailio: number };
  machineBusyPercent: number;
}

async function runPhase(count: number, phase: Phase): Promise<PhaseResult> {
  const servers = serverNames(count);
  const calls = Math.round(rate * seconds);
  const before = { asterisk: servers.map((s) => cpuSeconds(pidOf(s))), own: ownCpu(), kam: kamailioCpu(), processed: servers.map(processed), wall: Date.now(), idle: idleTicks() };
  const agents = phase === 'queue' ? await startAgents(join(workDir, `${count}-${phase}-agents`)) : undefined;
  const result: CallerResult = await runCallers({ did: dids[phase], scenario: phase === 'queue' ? 'caller-hangs-up' : 'caller-waits', rate, calls, talkMs, dir: join(workDir, `${count}-${phase}`), target: edge });
  await agents?.stop();
  await sleep(1000);
  const after = { asterisk: servers.map((s) => cpuSeconds(pidOf(s))), own: ownCpu(), kam: kamailioCpu(), processed: servers.map(processed), wall: Date.now(), idle: idleTicks() };
  const perCall = (cpu: number): number => round((cpu * 1000) / Math.max(1, result.succeeded), 2);
  const asterisk = Object.fromEntries(servers.map((s, k) => [s, perCall(after.asterisk[k]! - before.asterisk[k]!)]));
  const wallS = (after.wall - before.wall) / 1000;
  return {
    servers: count, phase, rate, calls, succeeded: result.succeeded, failed: result.failed,
    setupP50Ms: quantile(result.sippSetupMs, 0.5), setupP99Ms: quantile(result.sippSetupMs, 0.99),
    callsPerServer: Object.fromEntries(servers.map((s, k) => [s, after.processed[k]! - before.processed[k]!])),
    cpuPerCallMs: {
      asterisk, asteriskTotal: round(Object.values(asterisk).reduce((a, b) => a + b, 0), 2),
      centralita: perCall(after.own - before.own), kamailio: perCall(after.kam - before.kam),
    },
    machineBusyPercent: round(100 - (100 * (after.idle - before.idle)) / (wallS * 100 * cpus().length)),
  };
}

/** The machine's idle ticks (all cores), /proc/stat's 4th and 5th fields (idle, iowait). */
function idleTicks(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return fields[3]! + fields[4]!;
}

interface KillResult {
  rate: number; calls: number; succeeded: number; failed: number;
  /** Probe calls to the IVR through Kamailio, by when they were placed relative to the kill. */
  probes: { placedAfterKillMs: number; answeredInMs: number | null; server?: string }[];
  /** The longest a probe placed after the kill took to be answered; none failed if `probesFailed` is 0. */
  longestAnswerAfterKillMs: number; probesFailed: number;
  /** Agents still on a call or ringing, 10 s after the last call (the lost server's calls included). */
  agentsStuck: number;
  stuck: unknown[];
}

/** Two servers: the queue phase, media-3 killed halfway; probes tell when new calls are answered again. */
async function runKill(base: string, agentIds: string[]): Promise<KillResult> {
  const calls = Math.round(rate * seconds);
  const agents = await startAgents(join(workDir, 'kill-agents'));
  const load = runCallers({ did: dids.queue, scenario: 'caller-hangs-up', rate, calls, talkMs, dir: join(workDir, 'kill'), target: edge });
  await sleep((seconds * 1000) / 2);
  labMedia('kill', 'media-3');
  const killedAt = Date.now();
  const probes: KillResult['probes'] = [];
  let n = 0;
  const probing: Promise<void>[] = [];
  while (Date.now() - killedAt < 10_000) {
    const placedAt = Date.now();
    const number = `7770${String((n += 1)).padStart(4, '0')}`;
    probing.push((async () => {
      const phone = await TestPhone.start({ user: number, server: { host: '127.0.0.1', port: 5080 } });
      try {
        const call = await phone.call(dids.ivr);
        probes.push({ placedAfterKillMs: placedAt - killedAt, answeredInMs: Date.now() - placedAt });
        await call.hangup().catch(() => undefined);
      } catch {
        probes.push({ placedAfterKillMs: placedAt - killedAt, answeredInMs: null });
      } finally {
        await phone.close();
      }
    })());
    await sleep(250);
  }
  await Promise.all(probing);
  const result = await load;
  await agents.stop();
  await sleep(10_000);
  const stuck: unknown[] = [];
  for (const id of agentIds) {
    const state = (await (await fetch(`${base}/api/v1/agents/${id}/state`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { status: string };
    if (state.status === 'on_call' || state.status === 'ringing') stuck.push(state);
  }
  const agentsStuck = stuck.length;
  labMedia('start', 'media-3');
  probes.sort((a, b) => a.placedAfterKillMs - b.placedAfterKillMs);
  return {
    rate, calls, succeeded: result.succeeded, failed: result.failed, probes,
    longestAnswerAfterKillMs: Math.max(0, ...probes.map((p) => p.answeredInMs ?? 0)),
    probesFailed: probes.filter((p) => p.answeredInMs === null).length,
    agentsStuck, stuck,
  };
}

async function main(): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  const results: PhaseResult[] = [];
  let kill: KillResult | undefined;
  try {
    for (const count of serverCounts) {
      labMedia('up', String(count));
      // Kamailio's probes take a moment to mark each server active.
      await sleep(3000);
      const { app, base, agents } = await startService(count);
      try {
        for (const phase of phaseNames) {
          const result = await runPhase(count, phase);
          console.log(JSON.stringify(result));
          results.push(result);
          await sleep(2000);
        }
        if (count === 2 && !flags['no-kill']) {
          kill = await runKill(base, agents);
          console.log(JSON.stringify({ ...kill, probes: kill.probes.length, stuck: kill.stuck.slice(0, 5) }));
        }
      } finally {
        await app.stop();
      }
    }
  } finally {
    await stopAll();
    labMedia('down');
  }
  const out = flags.out ?? join(workDir, 'results.json');
  writeFileSync(out, JSON.stringify({ rate, seconds, talkMs, cores: cpus().length, results, kill }, null, 2));
  console.log(`results: ${out}`);
}

process.on('SIGINT', () => { killAllNow(); process.exit(130); });
main().then(() => process.exit(0), (err: unknown) => { console.error(err); killAllNow(); process.exit(1); });
