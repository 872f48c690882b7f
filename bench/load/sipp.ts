// sipp and tcpdump as the load benchmark drives them: callers (UAC) at a
// fixed rate for a fixed number of calls, and one UAS answering for every
// benchmark agent.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/core/paths.js';

const scenarios = join(projectRoot, 'bench', 'sipp');

/** SIP and media ports of the benchmark's sipp: apart from the test phones (ephemeral ports) and Asterisk's RTP (10000-20000). */
export const ports = { callerSip: 5070, callerMedia: 6000, agentSip: 5090, agentMedia: 6100 } as const;

export interface CallerRun {
  /** The DID called. */
  did: string;
  scenario: 'caller-waits' | 'caller-hangs-up';
  rate: number;
  calls: number;
  /** caller-hangs-up: the talk before the caller's BYE, ms. */
  talkMs?: number;
  /** A folder of its own: sipp writes its files into its working directory. */
  dir: string;
  /** Where the calls go (default the lab Asterisk, 127.0.0.1:5060; the scale-out lab's Kamailio is 127.0.0.1:5080). */
  target?: string;
}

export interface CallerResult {
  exitCode: number | null;
  created: number;
  succeeded: number;
  failed: number;
  /** sipp's own INVITE → 200 OK times, whole milliseconds. */
  sippSetupMs: number[];
  /** Failure kinds sipp counted (non-zero only). */
  failures: Record<string, number>;
  wallSeconds: number;
}

/**
 * Every sipp and tcpdump this run started and that has not exited. A run
 * that fails (an exception, Ctrl-C) must still end them: a sipp left behind
 * holds the agents' port 5090 and fails the next run.
 */
const running = new Set<ChildProcess>();

function tracked(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  // Not started at all (no binary): nothing to end.
  child.once('error', () => running.delete(child));
  return child;
}

/** Ends every sipp and tcpdump still running: SIGTERM, then SIGKILL after 3 s. Returns how many there were. */
export async function stopAll(): Promise<number> {
  const children = [...running];
  await Promise.all(children.map(async (child) => {
    child.kill('SIGTERM');
    const ended = await Promise.race([waitForExit(child).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
    if (!ended) child.kill('SIGKILL');
  }));
  return children.length;
}

/** The same at once, for a process that is exiting (no waiting possible): SIGKILL. */
export function killAllNow(): number {
  const count = running.size;
  for (const child of running) child.kill('SIGKILL');
  return count;
}

function waitForExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

/** Runs sipp as the carrier's callers until every call has ended. */
export async function runCallers(run: CallerRun): Promise<CallerResult> {
  mkdirSync(run.dir, { recursive: true });
  const started = Date.now();
  const args = [
    run.target ?? '127.0.0.1:5060', '-i', '127.0.0.1', '-p', String(ports.callerSip), '-mp', String(ports.callerMedia),
    '-sf', join(scenarios, `${run.scenario}.xml`), '-s', run.did,
    '-r', String(run.rate), '-m', String(run.calls), '-l', '5000',
    '-d', String(run.talkMs ?? 0),
    '-nostdin', '-timer_resol', '1', '-max_socket', '10000',
    // A call stuck on a message that never comes fails after 30 s, and sipp
    // gives up on the whole run a minute after its last call should have ended.
    '-recv_timeout', '30000', '-timeout', `${Math.ceil(run.calls / run.rate) + 90}s`,
    '-trace_rtt', '-rtt_freq', '1', '-trace_stat', '-fd', '1', '-trace_err',
  ];
  const child = tracked(spawn('sipp', args, { cwd: run.dir, stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exitCode = await waitForExit(child);
  const files = readdirSync(run.dir);
  const statFile = files.find((f) => f.startsWith(`${run.scenario}_`) && f.endsWith('_.csv'));
  const rttFile = files.find((f) => f.endsWith('_rtt.csv'));
  if (!statFile) throw new Error(`sipp wrote no statistics (exit ${exitCode}): ${stderr.trim().slice(0, 500)}`);
  const rows = readFileSync(join(run.dir, statFile), 'latin1').trim().split('\n').map((l) => l.split(';'));
  const header = rows[0]!;
  const last = rows[rows.length - 1]!;
  const column = (name: string): number => Number(last[header.indexOf(name)] ?? 0);
  const failures: Record<string, number> = {};
  header.forEach((name, i) => {
    if (name.startsWith('Failed') && name.endsWith('(C)') && name !== 'FailedCall(C)' && Number(last[i]) > 0) failures[name.slice(6, -3)] = Number(last[i]);
  });
  const sippSetupMs = rttFile
    ? readFileSync(join(run.dir, rttFile), 'latin1').trim().split('\n').slice(1).map((l) => Number(l.split(';')[1])).filter(Number.isFinite)
    : [];
  return {
    exitCode,
    created: column('TotalCallCreated'),
    succeeded: column('SuccessfulCall(C)'),
    failed: column('FailedCall(C)'),
    sippSetupMs: sippSetupMs.sort((a, b) => a - b),
    failures,
    wallSeconds: (Date.now() - started) / 1000,
  };
}

/** The agents' UAS: answers every call offered to 4001-4400 until stopped. */
export async function startAgents(dir: string): Promise<{ stop(): Promise<{ answered: number; failed: number }> }> {
  mkdirSync(dir, { recursive: true });
  const child = tracked(spawn('sipp', [
    '-i', '127.0.0.1', '-p', String(ports.agentSip), '-mp', String(ports.agentMedia),
    '-sf', join(scenarios, 'agent-answers.xml'), '-nostdin', '-timer_resol', '1', '-max_socket', '10000',
    '-trace_stat', '-fd', '1',
  ], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  await new Promise((r) => setTimeout(r, 500));
  if (child.exitCode !== null) {
    throw new Error(`the agents' sipp exited: ${stderr.trim().slice(0, 500)} (a sipp of an earlier run still on port ${ports.agentSip}? ss -ulpn 'sport = :${ports.agentSip}')`);
  }
  return {
    async stop() {
      // sipp's own statistics file is written every second; read the last row.
      child.kill('SIGTERM');
      await waitForExit(child);
      const statFile = readdirSync(dir).find((f) => f.endsWith('_.csv'));
      if (!statFile) return { answered: 0, failed: 0 };
      const rows = readFileSync(join(dir, statFile), 'latin1').trim().split('\n').map((l) => l.split(';'));
      const header = rows[0]!;
      const last = rows[rows.length - 1]!;
      return { answered: Number(last[header.indexOf('SuccessfulCall(C)')]), failed: Number(last[header.indexOf('FailedCall(C)')]) };
    },
  };
}

/** tcpdump of the callers' SIP port on the loopback, into `file`, until stopped. */
export async function startCapture(file: string): Promise<{ stop(): Promise<void> }> {
  const child = tracked(spawn('tcpdump', ['-i', 'lo', '-n', '-U', '-s', '2048', '-w', file, 'udp', 'port', String(ports.callerSip)], { stdio: ['ignore', 'ignore', 'pipe'] }));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tcpdump did not start')), 5000);
    child.stderr!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`tcpdump exited ${code}`)); });
  });
  return {
    async stop() {
      child.kill('SIGINT');
      await waitForExit(child);
    },
  };
}
