/**
 * centralita killed with SIGKILL mid-call, again and again (npm run chaos):
 * the rounds of test/chaos/kill.test.ts (one instance, restarted) and
 * test/chaos/ha.test.ts (a leader and a standby, which takes over).
 *
 * Each round places one real call through an IVR into a queue with one
 * agent (recording always on), kills the service at a random moment of one
 * phase (IVR, waiting in the queue, agent ringing, talking, talking while a
 * supervisor listens), starts a new process and checks what the issue asks:
 * a bridged call goes on (both tones still heard) and is adopted (listed
 * live, ended properly when the caller hangs up), and so is a supervisor's
 * monitoring session on it; a call in the IVR or the
 * queue is resumed (it reaches the agent after the restart); the agent ends
 * available; no call row, queue entry or recording is lost.
 *
 * CHAOS_ROUNDS (default 20; CHAOS_HA_ROUNDS for the HA suite, default the
 * same), CHAOS_FREEZE_ROUNDS (HA, default 2), CHAOS_SEED (default 20261124) and CHAOS_PHASES
 * (a comma-separated list) change the run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { toneLevels } from '../phones/audio.js';
import { TestPhone, type Call, type IncomingCall } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, testConfig, testDatabaseUrl, waitFor } from '../support/harness.js';
import { runService, type ServiceProcess } from '../support/service-process.js';

const CALLER = 440;
const AGENT = 1000;
const SUPERVISOR = 1800;
const DID = '5558300';
const allPhases = ['ivr', 'waiting', 'ringing', 'talk', 'monitor'] as const;
type Phase = (typeof allPhases)[number];
/** CHAOS_PHASES=talk,monitor runs only those. */
const phases = allPhases.filter((p) => !process.env.CHAOS_PHASES || process.env.CHAOS_PHASES.split(',').includes(p));

let seed = Number(process.env.CHAOS_SEED ?? 20261124);
/** Deterministic random numbers (mulberry32), so a failing run can be replayed. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const between = (lowMs: number, highMs: number): number => Math.round(lowMs + random() * (highMs - lowMs));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Both tones flow both ways over the next second. */
async function talking(caller: Call, agent: Call, what: string): Promise<void> {
  const marks = { caller: caller.mark(), agent: agent.mark() };
  await sleep(1000);
  const [heardByCaller] = toneLevels(caller.receivedSince(marks.caller), [AGENT]);
  const [heardByAgent] = toneLevels(agent.receivedSince(marks.agent), [CALLER]);
  assert.ok((heardByCaller ?? 0) > 0.3 && (heardByAgent ?? 0) > 0.3, `${what}: caller heard the agent ${heardByCaller}, agent heard the caller ${heardByAgent}`);
}

/**
 * The rounds, for one instance restarted after each kill (`single`) or for
 * a leader and a standby (`ha`, docs/ha.md): the standby takes over, and a
 * new standby starts in place of the dead leader. In `ha` mode rounds where
 * the leader is frozen (SIGSTOP) for 30 s follow (CHAOS_FREEZE_ROUNDS, 2).
 */
export function chaosSuite(mode: 'single' | 'ha'): void {
describe(mode === 'ha' ? 'active/standby: the leader killed (SIGKILL) or frozen (SIGSTOP) mid-call' : 'centralita killed (SIGKILL) mid-call', { timeout: 20 * 60_000 }, () => {
  const db = new pg.Client({ connectionString: testDatabaseUrl });
  const phones: TestPhone[] = [];
  /** The instance that acts (the leader in `ha` mode). */
  let service: ServiceProcess | undefined;
  /** `ha`: the other one, and which slot (port and data directory) each has. */
  let standby: ServiceProcess | undefined;
  let leaderSlot: 'a' | 'b' = 'a';
  const takeovers: number[] = [];
  const fencedLog: string[] = [];
  let desk: TestPhone;
  let supDesk: TestPhone;
  const ids: Record<string, string> = {};
  const port = 20000 + Math.floor(Math.random() * 20000);
  const ports = { a: port, b: port + 1 };
  const prefix = mode === 'ha' ? '60084' : '60083';
  const launch = (slot: 'a' | 'b'): Promise<ServiceProcess> => (mode === 'single' ? runService(port) : runService(ports[slot], {
    CENTRALITA_HA: 'true', CENTRALITA_HA_LEASE_MS: '2000', CENTRALITA_DATA_DIR: `${testConfig().dataDir}-chaos-${slot}`,
  }, { ready: 'any' }));
  const leads = async (s: ServiceProcess): Promise<boolean> => {
    if ((await fetch(`${s.baseUrl}/health/leader`).catch(() => undefined))?.status !== 200) return false;
    return ((await (await fetch(`${s.baseUrl}/health`)).json()) as { ari: string }).ari === 'up';
  };
  const tally: Record<Phase, number> = { ivr: 0, waiting: 0, ringing: 0, talk: 0, monitor: 0 };
  const callers: string[] = [];

  before(async () => {
    // Set up with an in-process app, then hand over to separate processes.
    const setup = await startTestApp();
    await resetDatabase(setup.app);
    await setup.app.agents.load();
    const agent = await setup.api('/api/v1/agents', { method: 'POST', json: { number: '1009', name: 'Lucía', pin: '1234', extension: '1009' } });
    ids.agent = agent.body.id;
    ids.supervisor = (await setup.api('/api/v1/agents', { method: 'POST', json: { number: '2001', name: 'Sofía', pin: '1234', extension: '2001', isSupervisor: true } })).body.id;
    const queue = await setup.api('/api/v1/queues', { method: 'POST', json: { name: 'caos', strategy: 'longest_idle', wrapUpSeconds: 0, ringTimeoutSeconds: 30, recordingPolicy: 'always' } });
    await setup.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId: ids.agent }] } });
    // A greeting of about 4 s, then the queue.
    await routeDid(setup, DID, {
      start: 'hello',
      nodes: {
        hello: { type: 'play', media: ['sound:hello-world', 'sound:hello-world', 'sound:hello-world'], next: 'q' },
        q: { type: 'queue', queue: 'caos' },
      },
    });
    await setup.api(`/api/v1/agents/${ids.agent}/login`, { method: 'POST' });
    await setup.stop();
    await db.connect();
    desk = await TestPhone.start({ user: '1009', password: 'lab-1009' });
    await desk.register();
    supDesk = await TestPhone.start({ user: '2001', password: 'lab-2001' });
    await supDesk.register();
    phones.push(desk, supDesk);
    service = await launch('a');
    if (mode === 'ha') {
      await waitFor(() => leads(service!), 15_000, 'the first instance did not lead');
      standby = await launch('b');
    }
  });

  after(async () => {
    for (const s of [service, standby]) {
      s?.child.kill('SIGCONT');
      await s?.kill().catch(() => undefined);
    }
    await Promise.all(phones.map((p) => p.close()));
    await db.end().catch(() => undefined);
    console.log(`chaos: ${JSON.stringify(tally)}`);
    if (mode === 'ha' && takeovers.length > 0) {
      const sorted = [...takeovers].sort((x, y) => x - y);
      console.log(`chaos ha: ${takeovers.length} takeovers, p50 ${sorted[Math.floor((sorted.length - 1) / 2)]} ms, max ${sorted[sorted.length - 1]} ms; fenced leaders: ${fencedLog.join('; ')}`);
    }
  });

  const agentState = async (): Promise<string> => (await service!.api(`/api/v1/agents/${ids.agent}/state`)).body.status;
  /** Asterisk's own view: its channels' ids and states, and its bridges' members. */
  const ariChannels = async (): Promise<string> => {
    const { ari } = testConfig();
    const auth = { authorization: `Basic ${Buffer.from(`${ari.user}:${ari.password}`).toString('base64')}` };
    const channels = (await (await fetch(`${ari.url}/channels`, { headers: auth })).json()) as { id: string; state: string }[];
    const bridges = (await (await fetch(`${ari.url}/bridges`, { headers: auth })).json()) as { id: string; channels: string[] }[];
    return JSON.stringify([channels.map((c) => `${c.id}:${c.state}`).sort(), bridges.map((b) => `${b.id}:${[...b.channels].sort().join(',')}`).sort()]);
  };
  const rowCounts = async (): Promise<unknown> => (await db.query(`select (select count(*) from calls) as calls, (select count(*) from queue_entries) as entries,
    (select count(*) from agent_state_events) as states, (select count(*) from recordings) as recordings, (select count(*) from ivr_traces) as traces,
    (select count(*) from calls where ended_at is not null) as ended`)).rows[0];

  /**
   * After the leader died at `since`: one instance is started again; or (ha)
   * the standby takes over and a new standby starts in the dead one's slot.
   * Returns how long until the service acted again (ha: holds the lease, ARI up).
   */
  const comeBack = async (since: number): Promise<number> => {
    if (mode === 'single') {
      service = await launch('a');
      return Date.now() - since;
    }
    const next = standby!;
    await waitFor(() => leads(next), 15_000, 'the standby did not take over').catch((err: Error) => {
      throw new Error(`${err.message}: ${next.output().slice(-2000)}`);
    });
    const took = Date.now() - since;
    takeovers.push(took);
    assert.ok(took <= 5000, `the standby took over in ${took} ms`);
    const dead = leaderSlot;
    service = next;
    leaderSlot = dead === 'a' ? 'b' : 'a';
    standby = await launch(dead);
    return took;
  };
  const restart = async (): Promise<number> => {
    await service!.kill();
    return comeBack(Date.now());
  };

  /** After the restart the call is offered again: the agent answers it. */
  const answerAgain = async (ringing: Promise<IncomingCall>, what: string): Promise<Call> => {
    const incoming = await ringing.catch(async (err: Error) => {
      throw new Error(`${what}: the call was not offered again after the restart (${err.message}); agent ${await agentState()}; ${service!.output().slice(-1500)}`);
    });
    return incoming.answer();
  };

  const rounds = Number((mode === 'ha' ? process.env.CHAOS_HA_ROUNDS : undefined) ?? process.env.CHAOS_ROUNDS ?? 20);
  for (let round = 1; round <= rounds; round += 1) {
    const phase = phases[(round - 1) % phases.length]!;
    it(`round ${round}: killed while ${phase}`, { timeout: 90_000 }, async () => {
      tally[phase] += 1;
      const number = `${prefix}${String(round).padStart(4, '0')}`;
      callers.push(number);
      assert.equal(await agentState(), 'available', 'the agent starts the round available');
      if (phase === 'waiting') await service!.api(`/api/v1/agents/${ids.agent}/pause`, { method: 'POST', json: { reason: 'break' } });
      let ringing = desk.waitForIncoming(30_000);
      const callerPhone = await TestPhone.start({ user: number });
      phones.push(callerPhone);
      const caller = await callerPhone.call(DID);
      caller.playTone(CALLER);
      let agent: Call | undefined;
      let supervisor: Call | undefined;
      let monitorId: string | undefined;
      let restartMs: number;
      try {

        if (phase === 'ivr') {
          // Somewhere in the 4 s greeting.
          await sleep(between(300, 2500));
          restartMs = await restart();
          agent = await answerAgain(ringing, 'ivr');
        } else if (phase === 'waiting') {
          await waitFor(async () => (await db.query(`select 1 from queue_entries e join calls c on c.id = e.call_id where c.caller_number = $1`, [number])).rowCount, 10_000, 'the caller did not reach the queue');
          await sleep(between(0, 2000));
          restartMs = await restart();
          // The caller still waits: the agent's return brings them the call.
          await service!.api(`/api/v1/agents/${ids.agent}/ready`, { method: 'POST' });
          agent = await answerAgain(ringing, 'waiting');
        } else if (phase === 'ringing') {
          const first = await ringing;
          ringing = desk.waitForIncoming(30_000);
          await sleep(between(0, 2000));
          restartMs = await restart();
          // The ringing leg of the dead process is taken back, and the call offered anew.
          await Promise.race([first.cancelled, sleep(10_000).then(() => { throw new Error('the old ringing leg was not cancelled'); })]);
          agent = await answerAgain(ringing, 'ringing');
        } else {
          agent = await (await ringing).answer();
          agent.playTone(AGENT);
          await talking(caller, agent, 'before the kill');
          if (phase === 'monitor') {
            const supRinging = supDesk.waitForIncoming(10_000);
            const session = await service!.api('/api/v1/monitor', { method: 'POST', json: { supervisorId: ids.supervisor, agentId: ids.agent, mode: 'listen' } });
            assert.equal(session.status, 201, `${JSON.stringify(session.body)}; live: ${JSON.stringify((await service!.api('/api/v1/stats/live')).body.calls)}; agent ${await agentState()}`);
            monitorId = session.body.id;
            supervisor = await (await supRinging.catch(async (err: Error) => {
            throw new Error(`${err.message}; sessions ${JSON.stringify((await service!.api('/api/v1/monitor')).body)}; ${service!.output().slice(-1500)}`);
          })).answer();
            supervisor.playTone(SUPERVISOR);
            await supervisor.waitForTone(CALLER, { timeoutMs: 5000, threshold: 0.2 });
          }
          await sleep(between(0, 2500));
          await service!.kill();
          const killedAt = Date.now();
          // Nobody controls the call now: it goes on.
          await talking(caller, agent, 'while centralita is down');
          restartMs = await comeBack(killedAt);
          if (supervisor) {
            // The session the dead process left is adopted: the supervisor still listens.
            await waitFor(async () => {
              const live = (await service!.api('/api/v1/monitor?live=true')).body as { id: string; status: string }[];
              return live.length === 1 && live[0]!.id === monitorId && live[0]!.status === 'active';
            }, 10_000, 'the monitoring session was not adopted after the restart').catch(async (err: Error) => {
              throw new Error(`${err.message}; sessions ${JSON.stringify((await service!.api('/api/v1/monitor')).body)}; ${service!.output().slice(-1500)}`);
            });
            assert.ok(supervisor.isActive, 'the supervisor stays on the call');
            await supervisor.waitForTone(CALLER, { timeoutMs: 5000, threshold: 0.2 });
          }
        }
        agent.playTone(AGENT);
        await talking(caller, agent, 'after the restart');
        // Adopted (or resumed and answered): listed live with its agent.
        const live = await waitFor(async () => {
          const stats = (await service!.api('/api/v1/stats/live')).body as { calls: { callId: string; agentId: string }[] };
          return stats.calls.find((c) => c.agentId === ids.agent);
        }, 5000, 'the call is not listed live after the restart').catch(async (err: Error) => {
          throw new Error(`${err.message}; stats ${JSON.stringify((await service!.api('/api/v1/stats/live')).body.calls)}; agent ${JSON.stringify((await service!.api(`/api/v1/agents/${ids.agent}/state`)).body)}`);
        });
        assert.equal(await agentState(), 'on_call');
        await caller.hangup();
        // Ended properly: the agent's phone is hung up by centralita, the agent is free again.
        await Promise.race([agent.ended, sleep(5000).then(() => { throw new Error("the agent's phone was not hung up"); })]);
        if (supervisor) {
          // The adopted session ends with the call, as any other would: the supervisor is hung up, the audit closed.
          const end = await Promise.race([supervisor.ended, sleep(10_000).then(() => { throw new Error('the supervisor was not hung up when the call ended'); })]);
          assert.equal(end.by, 'remote');
          const row = await waitFor(async () => (await db.query(`select * from monitor_sessions where id = $1 and ended_at is not null`, [monitorId])).rows[0], 5000, 'the monitoring session was not closed');
          assert.equal(row.end_reason, 'call_ended');
          const segments = (await db.query(`select mode, ended_at from monitor_segments where session_id = $1`, [monitorId])).rows;
          assert.deepEqual(segments.map((x) => [x.mode, x.ended_at !== null]), [['listen', true]], 'one listening stretch across the restart, closed');
        }
        await waitFor(async () => (await agentState()) === 'available', 5000, 'the agent did not become available');
        const call = await waitFor(async () => (await db.query(`select * from calls where id = $1 and ended_at is not null`, [live.callId])).rows[0], 5000, 'the call row was not closed');
        assert.equal(call.end_reason, 'hangup', 'the call ended by a hang-up, not lost');
        assert.equal(call.caller_number, number);
        const entries = await waitFor(async () => {
          const rows = (await db.query(`select * from queue_entries where call_id = $1`, [live.callId])).rows;
          return rows.length > 0 && rows.every((r) => r.left_at) ? rows : undefined;
        }, 5000, 'the queue entry was not closed');
        assert.deepEqual(entries.map((e) => e.outcome), ['answered'], 'one entry, answered');
        // The IVR's steps: none lost with the killed process's queue, none written twice by the
        // journal's replay. A play step is traced as it starts, so a greeting cut by the kill
        // and played again after it is a second, real visit.
        const trace = (await db.query(`select node from ivr_traces where call_id = $1 order by id`, [live.callId])).rows.map((r) => r.node).join(',');
        if (phase === 'ivr') assert.ok(trace === 'hello,q' || trace === 'hello,hello,q', `the greeting (once, or again after the kill) and the queue step: ${trace}`);
        else assert.equal(trace, 'hello,q', 'the greeting and the queue step, once each');
        const recording = await waitFor(async () => (await db.query(`select * from recordings where call_id = $1 and status = 'complete'`, [live.callId])).rows[0], 15_000, 'the recording was not completed');
        assert.ok(recording.bytes > 0);
        console.log(`round ${round} (${phase}): back in ${restartMs} ms`);
      } finally {
        // A failed round must not leave the agent on a call for the next ones.
        if (caller.isActive || agent?.isActive || supervisor?.isActive) {
          await caller.hangup().catch(() => undefined);
          await agent?.hangup().catch(() => undefined);
          await supervisor?.hangup().catch(() => undefined);
          await waitFor(async () => (await agentState()) === 'available', 10_000, 'cleanup').catch(() => undefined);
        }
      }
    });
  }

  // HA: the leader frozen for 30 s mid-call (a stalled VM, SIGSTOP): the standby takes over; resumed,
  // the old leader must act on nothing (Asterisk's channels and Postgres's rows unchanged) and exit (75).
  const freezeRounds = mode === 'ha' ? Number(process.env.CHAOS_FREEZE_ROUNDS ?? 2) : 0;
  for (let round = 1; round <= freezeRounds; round += 1) {
    it(`freeze ${round}: the leader stopped (SIGSTOP) for 30 s while talking`, { timeout: 120_000 }, async () => {
      const number = `${prefix}9${String(round).padStart(3, '0')}`;
      callers.push(number);
      assert.equal(await agentState(), 'available', 'the agent starts the round available');
      const ringing = desk.waitForIncoming(30_000);
      const callerPhone = await TestPhone.start({ user: number });
      phones.push(callerPhone);
      const caller = await callerPhone.call(DID);
      caller.playTone(CALLER);
      const agent = await (await ringing).answer();
      try {
        agent.playTone(AGENT);
        await talking(caller, agent, 'before the freeze');
        await sleep(between(0, 2000));
        const frozen = service!;
        frozen.child.kill('SIGSTOP');
        const stoppedAt = Date.now();
        const next = standby!;
        await waitFor(() => leads(next), 15_000, 'the standby did not take over from the frozen leader');
        const took = Date.now() - stoppedAt;
        takeovers.push(took);
        assert.ok(took <= 5000, `the standby took over in ${took} ms`);
        service = next;
        await talking(caller, agent, 'with the old leader frozen');
        const live = await waitFor(async () => ((await service!.api('/api/v1/stats/live')).body.calls as { callId: string; agentId: string }[])
          .find((c) => c.agentId === ids.agent), 5000, 'the call was not adopted by the new leader');
        await sleep(Math.max(0, stoppedAt + 30_000 - Date.now()));
        // What Asterisk and Postgres hold just before the old leader wakes up.
        const channelsBefore = await ariChannels();
        const rowsBefore = await rowCounts();
        frozen.child.kill('SIGCONT');
        await Promise.race([frozen.exited, sleep(10_000).then(() => { throw new Error(`the resumed leader did not exit: ${frozen.output().slice(-2000)}`); })]);
        assert.equal(frozen.child.exitCode, 75, 'the fenced leader exits for systemd to start it again');
        const exitLine = frozen.output().split('\n').find((l) => l.includes('fenced: exited')) ?? '';
        fencedLog.push(exitLine.match(/"ariRefused":\d+,"recordsNotMade":\d+/)?.[0] ?? 'no exit line');
        await talking(caller, agent, 'after the old leader resumed');
        assert.deepEqual(await ariChannels(), channelsBefore, "Asterisk's channels untouched by the resumed leader");
        assert.deepEqual(await rowCounts(), rowsBefore, 'no row written by the resumed leader');
        // It comes back as a standby, in its slot, and applies its journal.
        const dead = leaderSlot;
        leaderSlot = dead === 'a' ? 'b' : 'a';
        standby = await launch(dead);
        assert.equal(await agentState(), 'on_call');
        await caller.hangup();
        await Promise.race([agent.ended, sleep(5000).then(() => { throw new Error("the agent's phone was not hung up"); })]);
        await waitFor(async () => (await agentState()) === 'available', 5000, 'the agent did not become available');
        const call = await waitFor(async () => (await db.query(`select * from calls where id = $1 and ended_at is not null`, [live.callId])).rows[0], 5000, 'the call row was not closed');
        assert.equal(call.end_reason, 'hangup');
        await waitFor(async () => (await db.query(`select 1 from recordings where call_id = $1 and status = 'complete'`, [live.callId])).rowCount, 15_000, 'the recording was not completed');
        console.log(`freeze ${round}: took over in ${took} ms; ${fencedLog[fencedLog.length - 1]}`);
      } finally {
        if (caller.isActive || agent.isActive) {
          await caller.hangup().catch(() => undefined);
          await agent.hangup().catch(() => undefined);
          await waitFor(async () => (await agentState()) === 'available', 10_000, 'cleanup').catch(() => undefined);
        }
      }
    });
  }

  it('lost nothing: every call, queue entry and recording is there and closed', async () => {
    const started = Date.now();
    console.log(`lost-nothing check starts`);
    const calls = (await db.query(`select caller_number, end_reason from calls where caller_number = any($1)`, [callers])).rows;
    console.log(`calls read after ${Date.now() - started} ms`);
    assert.equal(calls.length, callers.length, 'one call row per call placed');
    assert.deepEqual(calls.filter((c) => c.end_reason !== 'hangup'), [], 'no call lost');
    const entries = (await db.query(`select e.outcome from queue_entries e join calls c on c.id = e.call_id where c.caller_number = any($1)`, [callers])).rows;
    assert.equal(entries.length, callers.length);
    assert.ok(entries.every((e) => e.outcome === 'answered'));
    const recordings = (await db.query(`select r.status from recordings r join calls c on c.id = r.call_id where c.caller_number = any($1)`, [callers])).rows;
    assert.equal(recordings.length, callers.length, 'one recording per call');
    assert.ok(recordings.every((r) => r.status === 'complete'));
    const open = (await db.query(`select count(*)::int as n from queue_offers where ended_at is null`)).rows[0].n;
    assert.equal(open, 0, 'no offer left open');
    console.log(`chaos: ${callers.length} calls, ${calls.length} call rows, ${entries.length} queue entries, ${recordings.length} recordings, 0 lost`);
  });
});
}
