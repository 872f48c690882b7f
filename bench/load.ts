// The call-load benchmark (issue 10): the same calls through Asterisk's own
// dialplan and through centralita, on the lab Asterisk, in one run.
//
//   npm run bench                    phases (native, IVR, queue, queue with recording) at 100 calls/s, then the step tests
//   npm run bench -- --quick         a short run of everything (a smoke test of the benchmark itself)
//   npm run bench -- --soak 600      only the memory run: the IVR at --rate for 600 s, centralita's RSS every 10 s
//   options: --rate N --seconds N --talk MS --phases native,ivr,queue,recording --no-step
//            --steps 25,50,100 --step-seconds N --step-kinds native,ivr --out FILE
//            --profile (centralita under --cpu-prof; summarise with bench/load/profile.ts)
//            --log-statements (Postgres logs every statement of the benchmark database)
//
// Wrap it in the lab lock: `flock -o /tmp/centralita-lab.lock npm run bench`.
// centralita runs as a process of its own (node --import tsx src/main.ts) on
// port 3990, database centralita_load (made anew), Stasis app centralita-bench.
// Each phase also reports centralita's ARI requests and SQL statements per
// call (its /metrics counters before and after). A run that fails, or is
// interrupted, still ends its sipp and tcpdump processes; an Asterisk
// restarted under the run aborts it with a message saying so.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import pg from 'pg';
import WebSocket from 'ws';
import { projectRoot } from '../src/core/paths.js';
import { cpuSeconds, cpuSecondsWithChildren, machineTicks, processIdentity, quantile, rssMb, setupTimesFromPcap, stillRunning, type ProcessIdentity } from './load/measure.js';
import { killAllNow, runCallers, startAgents, startCapture, stopAll, type CallerResult } from './load/sipp.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    talk: { type: 'string', default: '3000' },
    phases: { type: 'string', default: 'native,ivr,queue,recording' },
    'no-step': { type: 'boolean', default: false },
    steps: { type: 'string' },
    'step-seconds': { type: 'string' },
    'step-kinds': { type: 'string', default: 'native,ivr' },
    soak: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'log-statements': { type: 'boolean', default: false },
    out: { type: 'string' },
    webhooks: { type: 'string', default: '0' },
  },
});

const quick = flags.quick!;
/** Webhook subscriptions to every event type, to a receiver in this process (the cost of webhooks to the call path). */
const webhookCount = Number(flags.webhooks);
let webhookReceipts = 0;
const webhookReceiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    webhookReceipts += 1;
    res.writeHead(204).end();
  });
});
const webhookPort = 3991;
const rate = Number(flags.rate ?? (quick ? 20 : 100));
const phaseSeconds = Number(flags.seconds ?? (quick ? 5 : 20));
const talkMs = Number(flags.talk);
const soakSeconds = flags.soak === undefined ? 0 : Number(flags.soak);
const phaseNames = soakSeconds > 0 ? [] : flags.phases!.split(',').filter(Boolean) as PhaseName[];
const steps = (flags.steps ?? (quick ? '25,50' : '25,50,100,150,200,300,400')).split(',').map(Number);
const stepSeconds = Number(flags['step-seconds'] ?? (quick ? 4 : 10));
const stepKinds = soakSeconds > 0 || flags['no-step'] ? [] : flags['step-kinds']!.split(',').filter(Boolean) as ('native' | 'ivr')[];
/** A step "explodes" past this p99 (ms), even with no failed call. */
const stepP99LimitMs = 100;

type PhaseName = 'native' | 'ivr' | 'queue' | 'recording';
const dids: Record<PhaseName, string> = { native: '5990000', ivr: '5990001', queue: '5990002', recording: '5990003' };
/** The benchmark agents of config/asterisk/pjsip-bench.conf. */
const agentExtensions = Array.from({ length: 400 }, (_, i) => String(4001 + i));
/** The prompt of dialplan/centralita-bench.conf's 5990000 (Playback, then Wait(1)). */
const prompt = ['sound:conf-otherinparty', 'sound:silence/1'];

const port = 3990;
const base = `http://127.0.0.1:${port}`;
const adminToken = 'bench-admin-token-0123456789abcdef0123456789';
const databaseName = 'centralita_load';
const adminUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseUrl = `postgres://postgres@127.0.0.1:5432/${databaseName}`;
const ariUrl = 'http://127.0.0.1:8088/ari';
const ariAuth = `Basic ${Buffer.from('centralita:centralita-lab-ari').toString('base64')}`;
const runId = new Date().toISOString().replace(/[:.]/g, '-');
const workDir = `/tmp/centralita-bench/${runId}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

const asteriskPidFile = '/var/cache/centralita-lab/run/asterisk.pid';

function asteriskPid(): number {
  const pid = Number(readFileSync(asteriskPidFile, 'utf8').trim());
  if (!existsSync(`/proc/${pid}`) || !readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('asterisk')) {
    throw new Error('the lab Asterisk is not running: npm run lab:up');
  }
  return pid;
}

/**
 * Asterisk must record into this checkout's recordings folder (centralita
 * reads the files there): another checkout's `lab.sh up` mounts its own,
 * and every recording of the run would end `missing`.
 */
function checkRecordingsMount(pid: number): void {
  let mountinfo: string;
  try {
    mountinfo = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return; // not readable here: the recordings check of the phase will tell
  }
  // Fields: id, parent, major:minor, root (the folder mounted), mount point, …
  const mounted = mountinfo.split('\n').map((l) => l.split(' ')).find((f) => f[4]?.endsWith('/var/spool/asterisk/recording'))?.[3];
  const ours = realpathSync(join(projectRoot, 'recordings'));
  if (mounted && mounted !== ours) {
    throw new Error(`the lab Asterisk records into ${mounted}, not this checkout's ${ours}: another checkout started it; run \`flock /tmp/centralita-lab.lock bash scripts/lab.sh up\` from here first`);
  }
}

/**
 * The run cannot go on: Asterisk restarted (or stopped) under it, or
 * centralita exited. The phase's figures are void; what was measured
 * before is still written out.
 */
class RunBroken extends Error {}

/** Throws RunBroken, saying what happened, unless Asterisk is the same process as at the phase's start and centralita runs. */
function checkProcesses(asterisk: ProcessIdentity, service: Service, during: string): void {
  if (!stillRunning(asterisk)) {
    let now = 'no Asterisk runs now';
    try {
      now = `Asterisk runs now as pid ${asteriskPid()}`;
    } catch {
      // not running: said above
    }
    throw new RunBroken(`Asterisk restarted under the benchmark during ${during}: pid ${asterisk.pid} ended and ${now}; this phase's figures are void. `
      + 'Another checkout\'s `lab.sh up` restarts it when the mounted folders differ (run the benchmark under `flock -o /tmp/centralita-lab.lock`), '
      + `or it crashed (${asteriskPidFile.replace('asterisk.pid', 'asterisk.out')})`);
  }
  if (service.child.exitCode !== null || service.child.signalCode !== null) {
    throw new RunBroken(`centralita exited during ${during} (${service.child.exitCode ?? service.child.signalCode}): ${service.log().slice(-1500)}`);
  }
}

/** A process's CPU seconds now, or RunBroken if it is no longer the process the phase started with. */
function cpuOf(identity: ProcessIdentity, service: Service, during: string): number {
  checkProcesses(identity, service, during);
  try {
    return cpuSeconds(identity.pid);
  } catch (err) {
    checkProcesses(identity, service, during); // it ended between the check and the read
    throw err;
  }
}

/** An API answer, read by the few fields the benchmark needs. */
interface Answer { id: string; status: string }

async function api(path: string, init: { method?: string; json?: unknown } = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${adminToken}`, ...(init.json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as Answer;
}

async function ariChannelCount(): Promise<number> {
  const res = await fetch(`${ariUrl}/channels`, { headers: { authorization: ariAuth } });
  return ((await res.json()) as unknown[]).length;
}

/** Until Asterisk has no channel left (the last calls' hang-ups), at most `ms`. */
async function settle(ms = 30_000): Promise<number> {
  const until = Date.now() + ms;
  let count = await ariChannelCount();
  while (count > 0 && Date.now() < until) {
    await sleep(250);
    count = await ariChannelCount();
  }
  return count;
}

// ---------------------------------------------------------------- centralita

interface Service { child: ChildProcess; pid: number; exited: Promise<number | null>; log(): string }

async function startCentralita(): Promise<Service> {
  const db = new pg.Client({ connectionString: adminUrl });
  await db.connect();
  await db.query(`drop database if exists ${databaseName} with (force)`);
  await db.query(`create database ${databaseName}`);
  // Every statement centralita sends, in Postgres's own log: which queries a call costs.
  if (flags['log-statements']) await db.query(`alter database ${databaseName} set log_statement = 'all'`);
  await db.end();
  const profileDir = join(workDir, 'profile');
  const child = spawn(process.execPath, [
    ...(flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ...(process.env.BENCH_ELD ? ['--import', process.env.BENCH_ELD] : []), '--import', 'tsx', 'src/main.ts',
  ], {
    cwd: projectRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH,
      CENTRALITA_PORT: String(port),
      CENTRALITA_LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      CENTRALITA_ADMIN_TOKEN: adminToken,
      CENTRALITA_ARI_USER: 'centralita',
      CENTRALITA_ARI_PASSWORD: 'centralita-lab-ari',
      CENTRALITA_ARI_APP: 'centralita-bench',
      CENTRALITA_AMI_USER: 'centralita',
      CENTRALITA_AMI_PASSWORD: 'centralita-lab-ami',
      // The folders the lab mounts into Asterisk.
      CENTRALITA_RECORDINGS_DIR: join(projectRoot, 'recordings'),
      CENTRALITA_PROMPTS_DIR: join(projectRoot, 'prompts'),
      CENTRALITA_RECORDINGS_MIN_FREE_MB: '0',
      CENTRALITA_TIMEZONE: 'Europe/Madrid',
      CENTRALITA_LOOKUP_ALLOW: `127.0.0.1:${webhookPort}`,
    },
  });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => { log = (log + chunk.toString()).slice(-4000); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`centralita exited ${child.exitCode}: ${log}`);
    const health = await fetch(`${base}/health`).then((r) => r.json() as Promise<{ ari: string; ami: string }>).catch(() => undefined);
    if (health?.ari === 'up' && health.ami === 'up') break;
    if (Date.now() > until) throw new Error(`centralita did not connect to ARI and AMI: ${log}`);
    await sleep(250);
  }
  return { child, pid: child.pid!, exited, log: () => log };
}

interface Setup { queues: Record<'queue' | 'recording', string> }

/** Through the API, as an operator would: the IVR flow, the routes, the queues and their agents checked in. */
async function configure(): Promise<Setup> {
  const ivr = await api('/api/v1/ivr-flows', { json: { name: 'bench-ivr', document: { start: 'prompt', nodes: { prompt: { type: 'play', media: prompt, next: 'bye' }, bye: { type: 'hangup' } } } } });
  await api(`/api/v1/routes/${dids.ivr}`, { method: 'PUT', json: { flowId: ivr.id } });
  const agents: string[] = [];
  for (const ext of agentExtensions) {
    agents.push((await api('/api/v1/agents', { json: { number: ext, name: `Bench ${ext}`, pin: '1234', extension: ext } })).id);
  }
  const queues = {} as Setup['queues'];
  for (const [phase, recordingPolicy] of [['queue', 'never'], ['recording', 'always']] as const) {
    const queue = await api('/api/v1/queues', {
      json: { name: `bench-${phase}`, strategy: 'longest_idle', ringTimeoutSeconds: 15, wrapUpSeconds: 0, maxWaitSeconds: 60, recordingPolicy, recordingRetentionDays: 1 },
    });
    await api(`/api/v1/queues/${queue.id}/members`, { method: 'PUT', json: { members: agents.map((agentId) => ({ agentId, penalty: 0 })) } });
    const flow = await api('/api/v1/ivr-flows', { json: { name: `bench-${phase}`, document: { start: 'q', nodes: { q: { type: 'queue', queue: `bench-${phase}` } } } } });
    await api(`/api/v1/routes/${dids[phase]}`, { method: 'PUT', json: { flowId: flow.id } });
    queues[phase] = queue.id;
  }
  for (const id of agents) await api(`/api/v1/agents/${id}/login`, { method: 'POST' });
  if (webhookCount > 0) await new Promise<void>((resolve) => webhookReceiver.listen(webhookPort, '127.0.0.1', resolve));
  for (let i = 0; i < webhookCount; i += 1) {
    await api('/api/v1/webhooks', { json: {
      url: `http://127.0.0.1:${webhookPort}/bench-${i}`,
      events: ['call.started', 'call.answered', 'call.ended', 'queue.entered', 'queue.answered', 'queue.abandoned', 'queue.left', 'agent.state', 'disposition.set', 'recording.completed', 'monitor.started', 'monitor.ended'],
    } });
  }
  const states = await Promise.all(agents.slice(0, 5).map((id) => api(`/api/v1/agents/${id}/state`)));
  if (states.some((s) => s.status !== 'available')) throw new Error(`bench agents not available: ${JSON.stringify(states)}`);
  return { queues };
}

/** A supervisor's wallboard on the live feed for the whole run: the feed is part of the load. */
function watchLiveFeed(): { messages: () => number; close(): void } {
  let count = 0;
  const socket = new WebSocket(`${base.replace('http', 'ws')}/api/v1/events`, { headers: { authorization: `Bearer ${adminToken}` } });
  socket.on('message', () => { count += 1; });
  socket.on('error', () => undefined);
  return { messages: () => count, close: () => socket.close() };
}

// ---------------------------------------------------------------- what a call costs

/** Counters centralita exposes on /metrics: ARI REST calls by operation, database statements by kind. */
interface Costs { ari: Record<string, number>; sql: Record<string, number> }

async function readCosts(): Promise<Costs> {
  const res = await fetch(`${base}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  const costs: Costs = { ari: {}, sql: {} };
  for (const line of (await res.text()).split('\n')) {
    const ari = /^centralita_ari_request_duration_seconds_count\{operation="([^"]+)"\} (\S+)$/.exec(line);
    if (ari) costs.ari[ari[1]!] = Number(ari[2]);
    const sql = /^centralita_db_statements_total\{kind="([^"]+)"\} (\S+)$/.exec(line);
    if (sql) costs.sql[sql[1]!] = Number(sql[2]);
  }
  return costs;
}

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

function minus(after: Record<string, number>, before: Record<string, number>, less: Record<string, number> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = Math.max(0, value - (before[key] ?? 0) - (less[key] ?? 0));
    if (delta > 0) out[key] = delta;
  }
  return out;
}

/** The statements one scrape of /metrics makes itself (the queues' list, select 1): taken off each phase's count. */
let scrapeStatements: Record<string, number> = {};

async function measureScrapeCost(): Promise<void> {
  const first = await readCosts();
  const second = await readCosts();
  scrapeStatements = minus(second.sql, first.sql);
}

/** A phase's ARI requests and SQL statements, in all and per call (by operation and by kind). */
interface CallCosts {
  ariRequests: number; sqlStatements: number;
  perCall: { ariRequests: number; sqlStatements: number; ari: Record<string, number>; sql: Record<string, number> };
}

function callCosts(before: Costs, after: Costs, calls: number): CallCosts {
  const ari = minus(after.ari, before.ari);
  const sql = minus(after.sql, before.sql, scrapeStatements);
  const per = (counts: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v / calls, 2)]));
  return {
    ariRequests: sum(ari), sqlStatements: sum(sql),
    perCall: { ariRequests: round(sum(ari) / calls, 2), sqlStatements: round(sum(sql) / calls, 2), ari: per(ari), sql: per(sql) },
  };
}

// ---------------------------------------------------------------- one load

interface Load {
  did: string;
  scenario: 'caller-waits' | 'caller-hangs-up';
  rate: number;
  calls: number;
  label: string;
}

interface LoadResult {
  label: string;
  did: string;
  rate: number;
  calls: number;
  succeeded: number;
  failed: number;
  failures: Record<string, number>;
  setupMs: { source: 'pcap' | 'sipp'; p50: number; p99: number; max: number; measured: number };
  sippSetupMs: { p50: number; p99: number; max: number };
  achievedRate: number;
  wallSeconds: number;
  cpuSeconds: { asterisk: number; centralita: number; postgres: number };
  machineBusyPercent: number;
  centralitaRssMb: { start: number; end: number; max: number; samples: number[] };
  liveFeedMessages: number;
  channelsLeft: number;
  /** centralita's ARI requests and SQL statements from the phase's first call until its last call's writes are stored. */
  costs: CallCosts;
  checks?: Record<string, unknown>;
}

/** Postgres's CPU: the postmaster's own and its reaped backends' (cutime), plus the live processes'. */
function postgresCpuSeconds(): number {
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const pid = Number(entry);
      sum += ppid === 1 || !readFileSync(`/proc/${ppid}/stat`, 'utf8').includes('(postgres)') ? cpuSecondsWithChildren(pid) : cpuSeconds(pid);
    } catch {
      // the process ended meanwhile
    }
  }
  return sum;
}

async function runLoad(load: Load, service: Service, feed: { messages: () => number }, rssEveryMs = 1000): Promise<LoadResult> {
  const dir = join(workDir, load.label);
  mkdirSync(dir, { recursive: true });
  const capture = await startCapture(join(dir, 'sip.pcap'));
  // The Asterisk the run started with: one restarted between phases has other mounts and calls (void too).
  const asterisk = asteriskOfRun!;
  const centralita = processIdentity(service.pid);
  const during = `phase ${load.label}`;
  const costsBefore = await readCosts();
  const before = { asterisk: cpuOf(asterisk, service, `the run, before ${during}`), centralita: cpuOf(centralita, service, during), postgres: postgresCpuSeconds(), machine: machineTicks(), feed: feed.messages() };
  const samples = [rssMb(service.pid)];
  // centralita may die mid-phase: the sampler skips, the check after the callers says so.
  const sample = (): void => {
    try {
      samples.push(rssMb(service.pid));
    } catch {
      // gone: reported by checkProcesses below
    }
  };
  const sampler = setInterval(sample, rssEveryMs);
  let result: CallerResult;
  try {
    result = await runCallers({ did: load.did, scenario: load.scenario, rate: load.rate, calls: load.calls, talkMs, dir });
  } finally {
    clearInterval(sampler);
    await capture.stop();
  }
  sample();
  const after = { asterisk: cpuOf(asterisk, service, during), centralita: cpuOf(centralita, service, during), postgres: postgresCpuSeconds(), machine: machineTicks(), feed: feed.messages() };
  const channelsLeft = await settle();
  // The last calls' hang-ups and writes belong to the phase's cost.
  await waitForWrites();
  checkProcesses(asterisk, service, during);
  const costsAfter = await readCosts();
  const pcap = setupTimesFromPcap(join(dir, 'sip.pcap'));
  const usePcap = pcap.length >= result.succeeded * 0.99 && pcap.length > 0;
  const setup = usePcap ? pcap : result.sippSetupMs;
  const sippSetup = result.sippSetupMs;
  // sipp's rate is of calls started: the calls over the time the last one started.
  const startSpan = load.calls / load.rate;
  return {
    label: load.label,
    did: load.did,
    rate: load.rate,
    calls: load.calls,
    succeeded: result.succeeded,
    // Calls not created, failed, or still open when sipp gave up.
    failed: Math.max(result.failed, load.calls - result.succeeded),
    failures: result.failures,
    setupMs: { source: usePcap ? 'pcap' : 'sipp', p50: round(quantile(setup, 0.5), 2), p99: round(quantile(setup, 0.99), 2), max: round(quantile(setup, 1), 2), measured: setup.length },
    sippSetupMs: { p50: quantile(sippSetup, 0.5), p99: quantile(sippSetup, 0.99), max: quantile(sippSetup, 1) },
    achievedRate: round(result.created / Math.max(startSpan, 1e-3)),
    wallSeconds: round(result.wallSeconds),
    cpuSeconds: {
      asterisk: round(after.asterisk - before.asterisk, 2),
      centralita: round(after.centralita - before.centralita, 2),
      postgres: round(after.postgres - before.postgres, 2),
    },
    machineBusyPercent: round(100 * (after.machine.busy - before.machine.busy) / Math.max(1, after.machine.total - before.machine.total)),
    centralitaRssMb: { start: round(samples[0]!), end: round(samples[samples.length - 1]!), max: round(Math.max(...samples)), samples: samples.map((s) => round(s)) },
    liveFeedMessages: after.feed - before.feed,
    channelsLeft,
    costs: callCosts(costsBefore, costsAfter, load.calls),
  };
}

// ---------------------------------------------------------------- what the database says

async function checkCentralitaPhase(phase: PhaseName, since: Date, setup: Setup): Promise<Record<string, unknown>> {
  if (phase === 'native') return {};
  await waitForWrites();
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const calls = (await db.query<{ total: number; ended: number }>(
      'select count(*)::int as total, count(ended_at)::int as ended from calls where did = $1 and started_at >= $2', [dids[phase], since])).rows[0]!;
    const checks: Record<string, unknown> = { callRows: calls.total, callRowsEnded: calls.ended };
    if (phase === 'ivr') {
      checks.ivrTraceRows = (await db.query<{ n: number }>(
        'select count(*)::int as n from ivr_traces t join calls c on c.id = t.call_id where c.did = $1 and c.started_at >= $2', [dids[phase], since])).rows[0]!.n;
    } else {
      const outcomes = (await db.query<{ outcome: string | null; n: number }>(
        'select outcome, count(*)::int as n from queue_entries where queue_id = $1 and entered_at >= $2 group by outcome', [setup.queues[phase], since])).rows;
      checks.queueOutcomes = Object.fromEntries(outcomes.map((o) => [o.outcome ?? 'open', o.n]));
      const waits = (await db.query<{ ms: number }>(
        'select extract(epoch from answered_at - entered_at) * 1000 as ms from queue_entries where queue_id = $1 and entered_at >= $2 and answered_at is not null order by 1',
        [setup.queues[phase], since])).rows.map((r) => Number(r.ms));
      checks.queueToAgentMs = { p50: round(quantile(waits, 0.5)), p99: round(quantile(waits, 0.99)), max: round(quantile(waits, 1)) };
      // Caller → agent offer: from entering the queue to the first offer (the agent's leg made and dialled).
      const offers = (await db.query<{ ms: number }>(
        `select extract(epoch from o.first_offer - e.entered_at) * 1000 as ms from queue_entries e
           join (select entry_id, min(offered_at) as first_offer from queue_offers group by entry_id) o on o.entry_id = e.id
          where e.queue_id = $1 and e.entered_at >= $2 order by 1`, [setup.queues[phase], since])).rows.map((r) => Number(r.ms));
      checks.queueToOfferMs = { p50: round(quantile(offers, 0.5)), p99: round(quantile(offers, 0.99)), max: round(quantile(offers, 1)), entries: offers.length };
      if (phase === 'recording') {
        const recordings = (await db.query<{ status: string; n: number }>(
          'select status, count(*)::int as n from recordings where queue_id = $1 and started_at >= $2 group by status', [setup.queues[phase], since])).rows;
        checks.recordings = Object.fromEntries(recordings.map((r) => [r.status, r.n]));
        checks.recordingsIncomplete = recordingsIncomplete(checks);
      }
    }
    return checks;
  } finally {
    await db.end();
  }
}

async function waitForWrites(ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const health = await fetch(`${base}/health`).then((r) => r.json() as Promise<{ pendingWrites: number }>);
    if (health.pendingWrites === 0) return;
    await sleep(250);
  }
}

/**
 * Answered calls whose recording is not complete, apart from those whose
 * caller hung up before it could start (status `skipped`: nothing to
 * record, not a failure): failed, missing, still `recording`, or no row.
 */
function recordingsIncomplete(c: Record<string, unknown>): number {
  const answered = ((c.queueOutcomes ?? {}) as Record<string, number>).answered ?? 0;
  const recordings = (c.recordings ?? {}) as Record<string, number>;
  return Math.max(0, answered - (recordings.complete ?? 0) - (recordings.skipped ?? 0));
}

/** Calls a centralita phase failed on, beyond sipp's: call rows missing or open, callers no agent answered, recordings not complete. */
function lostInCentralita(phase: PhaseName, result: LoadResult): number {
  const c = result.checks ?? {};
  if (phase === 'native') return 0;
  const missingRows = Math.max(0, result.succeeded - Number(c.callRowsEnded ?? 0));
  if (phase === 'ivr') return missingRows;
  const outcomes = (c.queueOutcomes ?? {}) as Record<string, number>;
  const notAnswered = Math.max(0, result.succeeded - (outcomes.answered ?? 0));
  const notRecorded = phase === 'recording' ? recordingsIncomplete(c) : 0;
  return Math.max(missingRows, notAnswered, notRecorded);
}

/** Removes the files of the recordings this run made (the folder is the lab's, shared with the tests). */
async function removeRecordings(): Promise<number> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const rows = (await db.query<{ path: string | null; asterisk_name: string; format: string }>('select path, asterisk_name, format from recordings')).rows;
  await db.end();
  let removed = 0;
  for (const row of rows) {
    for (const rel of [row.path, `${row.asterisk_name}.${row.format}`]) {
      if (!rel || rel.includes('..')) continue;
      try {
        unlinkSync(join(projectRoot, 'recordings', rel));
        removed += 1;
      } catch {
        // already moved or never written
      }
    }
  }
  return removed;
}

// ---------------------------------------------------------------- the run

function machine(): Record<string, unknown> {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    host: hostname(), cores: cpus().length, cpu: cpus()[0]?.model, memoryGb: round(totalmem() / 2 ** 30),
    node: process.version, commit: git('rev-parse', '--short', 'HEAD'),
    // Other sessions' uncommitted changes to src/ run too: name them.
    uncommittedSrc: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean),
  };
}

const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const ratio = (a: number, b: number): string => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : '-');

function printPhases(results: LoadResult[]): void {
  const native = results.find((r) => r.label === 'native');
  console.log('\n| phase | calls/s | calls | failed | setup p50 | setup p99 | max | Asterisk CPU s | centralita CPU s | centralita/Asterisk CPU | Postgres CPU s | ARI requests / call | SQL statements / call | RSS start→end (max) MB | machine busy |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.label} | ${r.achievedRate} | ${r.calls} | ${r.failed} | ${ms(r.setupMs.p50)} ms | ${ms(r.setupMs.p99)} ms | ${ms(r.setupMs.max)} ms | ${r.cpuSeconds.asterisk} | ${r.cpuSeconds.centralita} | ${ratio(r.cpuSeconds.centralita, r.cpuSeconds.asterisk)} | ${r.cpuSeconds.postgres} | ${r.costs.perCall.ariRequests} | ${r.costs.perCall.sqlStatements} | ${r.centralitaRssMb.start}→${r.centralitaRssMb.end} (${r.centralitaRssMb.max}) | ${r.machineBusyPercent} % |`);
  }
  const queued = results.filter((r) => r.checks?.queueToAgentMs);
  if (queued.length) {
    console.log('\n| queue phase | answered | caller → offer p50 / p99 / max | caller → agent p50 / p99 / max | recordings complete / caller gone first / incomplete |');
    console.log('|---|---|---|---|---|');
    for (const r of queued) {
      const c = r.checks!;
      const t = (x: unknown): string => { const q = x as { p50: number; p99: number; max: number } | undefined; return q ? `${ms(q.p50)} / ${ms(q.p99)} / ${ms(q.max)} ms` : '-'; };
      const rec = c.recordings as Record<string, number> | undefined;
      console.log(`| ${r.label} | ${(c.queueOutcomes as Record<string, number>).answered ?? 0} | ${t(c.queueToOfferMs)} | ${t(c.queueToAgentMs)} | ${rec ? `${rec.complete ?? 0} / ${rec.skipped ?? 0} / ${String(c.recordingsIncomplete)}` : '-'} |`);
    }
  }
  console.log('\nper call, by ARI operation and statement kind:');
  for (const r of results) console.log(`  ${r.label}: ARI ${JSON.stringify(r.costs.perCall.ari)} SQL ${JSON.stringify(r.costs.perCall.sql)}`);
  if (!native) return;
  console.log('\n| phase vs native | setup p50 | setup p99 | p99 − native p99 | failed | Asterisk CPU | centralita CPU / native Asterisk CPU |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results.filter((x) => x !== native)) {
    console.log(`| ${r.label} | ${ratio(r.setupMs.p50, native.setupMs.p50)} | ${ratio(r.setupMs.p99, native.setupMs.p99)} | +${ms(r.setupMs.p99 - native.setupMs.p99)} ms | ${r.failed} vs ${native.failed} | ${ratio(r.cpuSeconds.asterisk, native.cpuSeconds.asterisk)} | ${ratio(r.cpuSeconds.centralita, native.cpuSeconds.asterisk)} |`);
  }
}

let service: Service | undefined;
/** The Asterisk process the run started with: every phase checks it is still the one running. */
let asteriskOfRun: ProcessIdentity | undefined;

// However the run ends, it ends its sipp, tcpdump and centralita: a sipp
// left behind holds port 5090 and fails the next run.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    const left = killAllNow();
    service?.child.kill('SIGKILL');
    console.error(`\n${signal}: ended ${left} sipp/tcpdump processes and centralita; the results of this run are not written`);
    process.exit(130);
  });
}
process.once('exit', () => {
  killAllNow();
  service?.child.kill('SIGKILL');
});

async function main(): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  console.log(`centralita load benchmark ${runId}; files in ${workDir}`);
  asteriskOfRun = processIdentity(asteriskPid());
  checkRecordingsMount(asteriskOfRun.pid);
  service = await startCentralita();
  const report: Record<string, unknown> = { runId, machine: machine(), options: { rate, phaseSeconds, talkMs, phases: phaseNames, steps, stepSeconds, stepKinds, soakSeconds, profile: flags.profile } };
  const feed = watchLiveFeed();
  try {
    const setup = await configure();
    console.log(`configured: IVR flow, routes ${Object.values(dids).join(', ')}, 2 queues, ${agentExtensions.length} agents checked in, ${webhookCount} webhook subscriptions`);
    checkProcesses(asteriskOfRun, service, 'the set-up');
    await measureScrapeCost();
    const agents = await startAgents(join(workDir, 'agents'));
    const residual = await settle(10_000);
    if (residual > 0) throw new Error(`Asterisk has ${residual} channels before the run: is someone else using the lab? (flock /tmp/centralita-lab.lock)`);

    const phases: LoadResult[] = [];
    if (phaseNames.length) report.phases = phases;
    for (const phase of phaseNames) {
      const since = new Date();
      const calls = Math.round(rate * phaseSeconds);
      process.stdout.write(`phase ${phase}: ${calls} calls at ${rate}/s … `);
      const result = await runLoad({ did: dids[phase], scenario: phase === 'queue' || phase === 'recording' ? 'caller-hangs-up' : 'caller-waits', rate, calls, label: phase }, service, feed);
      result.checks = await checkCentralitaPhase(phase, since, setup);
      const lost = lostInCentralita(phase, result);
      if (lost > 0) result.checks.failedInCentralita = lost;
      result.failed += lost;
      phases.push(result);
      console.log(`${result.failed} failed, setup p50 ${ms(result.setupMs.p50)} ms p99 ${ms(result.setupMs.p99)} ms, CPU Asterisk ${result.cpuSeconds.asterisk} s centralita ${result.cpuSeconds.centralita} s ${JSON.stringify(result.checks)}`);
      await sleep(2000);
    }
    if (phases.length) printPhases(phases);
    if (webhookCount > 0) {
      console.log(`webhooks: ${webhookReceipts} deliveries received by the ${webhookCount} subscriptions' receiver`);
      report.webhooks = { subscriptions: webhookCount, received: webhookReceipts };
    }

    const stepResults: Record<string, { steps: LoadResult[]; ceiling: number | null }> = {};
    if (stepKinds.length) report.steps = stepResults;
    for (const kind of stepKinds) {
      const results: LoadResult[] = [];
      let ceiling: number | null = null;
      stepResults[kind] = { steps: results, ceiling };
      for (const stepRate of steps) {
        const since = new Date();
        const result = await runLoad({ did: dids[kind], scenario: 'caller-waits', rate: stepRate, calls: Math.round(stepRate * stepSeconds), label: `step-${kind}-${stepRate}` }, service, feed);
        if (kind === 'ivr') {
          result.checks = await checkCentralitaPhase('ivr', since, setup);
          const lost = lostInCentralita('ivr', result);
          if (lost > 0) result.checks.failedInCentralita = lost;
          result.failed += lost;
        }
        results.push(result);
        // A step passes with no failed call, p99 within the limit, and sipp reaching the rate asked.
        const passed = result.failed === 0 && result.setupMs.p99 <= stepP99LimitMs && result.achievedRate >= stepRate * 0.9;
        console.log(`step ${kind} ${stepRate}/s: ${result.failed} failed, setup p50 ${ms(result.setupMs.p50)} p99 ${ms(result.setupMs.p99)} ms, achieved ${result.achievedRate}/s, CPU Asterisk ${result.cpuSeconds.asterisk} s centralita ${result.cpuSeconds.centralita} s, machine ${result.machineBusyPercent} % → ${passed ? 'ok' : 'limit'}`);
        await sleep(2000);
        if (!passed) break;
        ceiling = stepRate;
      }
      stepResults[kind] = { steps: results, ceiling };
    }
    if (stepKinds.length) {
      console.log('\n| step test | ceiling (calls/s with 0 failed, p99 ≤ 100 ms) | first rate past it |');
      console.log('|---|---|---|');
      for (const [kind, s] of Object.entries(stepResults)) {
        const past = s.steps.find((x) => x.rate > (s.ceiling ?? 0));
        console.log(`| ${kind} | ${s.ceiling ?? 'none'} | ${past ? `${past.rate}/s: ${past.failed} failed, p99 ${ms(past.setupMs.p99)} ms, machine ${past.machineBusyPercent} %` : '-'} |`);
      }
    }

    if (soakSeconds > 0) {
      const since = new Date();
      console.log(`soak: the IVR at ${rate}/s for ${soakSeconds} s, centralita's RSS every 10 s`);
      const result = await runLoad({ did: dids.ivr, scenario: 'caller-waits', rate, calls: Math.round(rate * soakSeconds), label: 'soak-ivr' }, service, feed, 10_000);
      result.checks = await checkCentralitaPhase('ivr', since, setup);
      const lost = lostInCentralita('ivr', result);
      if (lost > 0) result.checks.failedInCentralita = lost;
      result.failed += lost;
      report.soak = result;
      console.log(`soak: ${result.calls} calls, ${result.failed} failed, setup p50 ${ms(result.setupMs.p50)} p99 ${ms(result.setupMs.p99)} ms, CPU Asterisk ${result.cpuSeconds.asterisk} s centralita ${result.cpuSeconds.centralita} s`);
      console.log(`soak RSS (MB, every 10 s): ${result.centralitaRssMb.samples.join(' ')}`);
    }
    report.agents = await agents.stop();
  } catch (err) {
    // Said plainly, and kept in the results file, before the clean-up.
    report.aborted = (err as Error).message;
    console.error(`\nBENCHMARK ABORTED: ${(err as Error).message}`);
    process.exitCode = 1;
  } finally {
    feed.close();
    webhookReceiver.close();
    const left = await stopAll();
    if (left > 0) console.error(`ended ${left} sipp/tcpdump processes the run left running`);
    report.recordingFilesRemoved = await removeRecordings().catch(() => 0);
    service.child.kill('SIGTERM');
    const code = await Promise.race([service.exited, sleep(15_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') service.child.kill('SIGKILL');
    const outFile = flags.out ?? join(projectRoot, 'bench', 'results', `load-${runId}.json`);
    mkdirSync(join(outFile, '..'), { recursive: true });
    writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nresult: ${outFile}`);
    if (flags.profile) console.log(`centralita CPU profile: ${join(workDir, 'profile')}`);
    else if (report.aborted) console.log(`sipp's files of the aborted run: ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
