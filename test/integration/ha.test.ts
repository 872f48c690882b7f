/**
 * Active/standby on the lab (issue 22, docs/ha.md): two centralita
 * processes on the same Postgres and Asterisk. The leader is killed
 * (SIGKILL) in the middle of a bridged call, then the new leader is frozen
 * (SIGSTOP) with another call up; each time the standby takes over within
 * 5 s, the call keeps talking (Goertzel on both phones) and is adopted, new
 * calls are answered, and the frozen leader, resumed, acts on nothing and
 * exits (75) to come back as a standby.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { toneLevels } from '../phones/audio.js';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, testConfig, testDatabaseUrl, waitFor } from '../support/harness.js';
import { startPostgres, stopPostgres } from '../support/postgres-control.js';
import { runService, type ServiceProcess } from '../support/service-process.js';

const CALLER = 440;
const AGENT = 1000;
const DID = '5558400';
const LEASE_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Both tones flow both ways over the next second. */
async function talking(caller: Call, agent: Call, what: string): Promise<void> {
  const marks = { caller: caller.mark(), agent: agent.mark() };
  await sleep(1000);
  const [heardByCaller] = toneLevels(caller.receivedSince(marks.caller), [AGENT]);
  const [heardByAgent] = toneLevels(agent.receivedSince(marks.agent), [CALLER]);
  assert.ok((heardByCaller ?? 0) > 0.3 && (heardByAgent ?? 0) > 0.3, `${what}: caller heard the agent ${heardByCaller}, agent heard the caller ${heardByAgent}`);
}

describe('active/standby: the standby takes over from a killed or frozen leader without dropping a call', { timeout: 5 * 60_000 }, () => {
  let db = new pg.Client({ connectionString: testDatabaseUrl });
  const phones: TestPhone[] = [];
  const services: Record<'a' | 'b', ServiceProcess | undefined> = { a: undefined, b: undefined };
  const base = 20000 + Math.floor(Math.random() * 20000);
  const ports = { a: base, b: base + 1 };
  let desk: TestPhone;
  let agentId: string;

  const start = (name: 'a' | 'b') => runService(ports[name], {
    CENTRALITA_HA: 'true', CENTRALITA_HA_LEASE_MS: String(LEASE_MS), CENTRALITA_DATA_DIR: `${testConfig().dataDir}-ha-${name}`,
  }, { ready: 'any' });
  const health = async (s: ServiceProcess) => (await fetch(`${s.baseUrl}/health`)).json() as Promise<{ role: string; ari: string }>;
  const leads = async (s: ServiceProcess) => (await fetch(`${s.baseUrl}/health/leader`).catch(() => undefined))?.status === 200;
  /** Waits for `s` to lead with ARI up; returns how long it took from `since`. */
  const tookOver = async (s: ServiceProcess, since: number): Promise<number> => {
    await waitFor(async () => (await leads(s)) && (await health(s)).ari === 'up', 15_000, 'the standby did not take over')
      .catch((err: Error) => { throw new Error(`${err.message}: ${s.output().slice(-2000)}`); });
    return Date.now() - since;
  };
  const call = async (number: string): Promise<{ caller: Call; agent: Call }> => {
    // Known weak (docs/status.md): right after an earlier run the agent is sometimes found logged out
    // (a late device state of the previous run's phone); checked in again rather than waiting 20 s for nothing.
    for (const s of Object.values(services).filter((x): x is ServiceProcess => x !== undefined && x.child.exitCode === null && x.child.signalCode === null)) {
      if ((await leads(s)) && (await s.api(`/api/v1/agents/${agentId}/state`)).body.status === 'logged_out') {
        console.log('the agent was logged out; checking in again');
        await s.api(`/api/v1/agents/${agentId}/login`, { method: 'POST' });
      }
    }
    const ringing = desk.waitForIncoming(20_000);
    const callerPhone = await TestPhone.start({ user: number });
    phones.push(callerPhone);
    const caller = await callerPhone.call(DID);
    caller.playTone(CALLER);
    const incoming = await ringing.catch(async (err: Error) => {
      const leader = Object.values(services).find((x) => x && x.child.exitCode === null && x.child.signalCode === null);
      throw new Error(`${err.message}; agent ${JSON.stringify((await leader?.api(`/api/v1/agents/${agentId}/state`))?.body)}; ${leader?.output().slice(-3000)}`);
    });
    const agent = await incoming.answer();
    agent.playTone(AGENT);
    await talking(caller, agent, `call ${number}`);
    return { caller, agent };
  };
  /** The caller hangs up: the leader hangs the agent up, closes the call row, frees the agent. */
  const endsProperly = async (leader: ServiceProcess, caller: Call, agent: Call, number: string, then = 'available') => {
    await caller.hangup();
    await Promise.race([agent.ended, sleep(5000).then(() => { throw new Error(`the agent's phone was not hung up: ${leader.output().slice(-1500)}`); })]);
    const row = await waitFor(async () => (await db.query(`select end_reason from calls where caller_number = $1 and ended_at is not null`, [number])).rows[0], 5000, 'the call row was not closed');
    assert.equal(row.end_reason, 'hangup');
    await waitFor(async () => (await leader.api(`/api/v1/agents/${agentId}/state`)).body.status === then, 5000, `the agent is not ${then}`);
  };

  before(async () => {
    const setup = await startTestApp();
    await resetDatabase(setup.app);
    agentId = (await setup.api('/api/v1/agents', { method: 'POST', json: { number: '1009', name: 'Lucía', pin: '1234', extension: '1009' } })).body.id;
    const queue = await setup.api('/api/v1/queues', { method: 'POST', json: { name: 'ha', strategy: 'longest_idle', wrapUpSeconds: 0, ringTimeoutSeconds: 20, recordingPolicy: 'always' } });
    await setup.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId }] } });
    await routeDid(setup, DID, { start: 'q', nodes: { q: { type: 'queue', queue: 'ha' } } });
    await setup.api(`/api/v1/agents/${agentId}/login`, { method: 'POST' });
    await setup.stop();
    await db.connect();
    desk = await TestPhone.start({ user: '1009', password: 'lab-1009' });
    await desk.register();
    phones.push(desk);
  });

  after(async () => {
    for (const s of Object.values(services)) {
      s?.child.kill('SIGCONT');
      await s?.kill().catch(() => undefined);
    }
    await Promise.all(phones.map((p) => p.close()));
    await db.end().catch(() => undefined);
  });

  it('one instance leads, the other stands by: it serves reads, refuses changes with 503 naming the leader, and says so on /health', async () => {
    services.a = await start('a');
    await tookOver(services.a, Date.now());
    services.b = await start('b');
    const b = services.b;
    assert.deepEqual([(await health(b)).role, (await fetch(`${b.baseUrl}/health`)).status], ['standby', 200]);
    assert.equal((await fetch(`${b.baseUrl}/health/leader`)).status, 503);
    assert.equal((await health(services.a)).role, 'leader');
    const read = await b.api(`/api/v1/agents/${agentId}`);
    assert.equal(read.status, 200);
    const refused = await b.api('/api/v1/agents', { method: 'POST', json: { number: '1010', name: 'Nadie', pin: '1234' } });
    assert.equal(refused.status, 503);
    assert.deepEqual(refused.body.error.code, 'standby');
    assert.equal(refused.body.error.leader, `http://127.0.0.1:${ports.a}`);
    assert.equal((await db.query(`select count(*)::int as n from agents where number = '1010'`)).rows[0].n, 0, 'nothing stored');
    const lease = (await db.query('select epoch, address from leader_lease')).rows[0];
    assert.deepEqual([Number(lease.epoch) >= 1, lease.address], [true, `http://127.0.0.1:${ports.a}`]);
  });

  it('the leader killed (SIGKILL) mid-call: the standby takes over within 5 s, the call keeps talking and ends properly, new calls are answered', async () => {
    const { caller, agent } = await call('600840001');
    // A pause asked for during the call: pending until it ends, across the takeover.
    assert.equal((await services.a!.api(`/api/v1/agents/${agentId}/pause`, { method: 'POST', json: { reason: 'break' } })).status, 200);
    assert.equal((await services.a!.api(`/api/v1/agents/${agentId}/state`)).body.pendingPause, 'break');
    const epochBefore = Number((await db.query('select epoch from leader_lease')).rows[0].epoch);
    await services.a!.kill();
    const killedAt = Date.now();
    await talking(caller, agent, 'with no leader');
    const takeover = await tookOver(services.b!, killedAt);
    console.log(`takeover after SIGKILL: ${takeover} ms`);
    assert.ok(takeover <= 5000, `took over in ${takeover} ms`);
    assert.equal(Number((await db.query('select epoch from leader_lease')).rows[0].epoch), epochBefore + 1);
    await talking(caller, agent, 'after the takeover');
    // Adopted: listed live by the new leader, the agent still on the call.
    await waitFor(async () => ((await services.b!.api('/api/v1/stats/live')).body.calls as { agentId: string }[]).some((c) => c.agentId === agentId), 5000, 'the call is not adopted');
    const state = (await services.b!.api(`/api/v1/agents/${agentId}/state`)).body;
    assert.deepEqual([state.status, state.pendingPause], ['on_call', 'break']);
    await endsProperly(services.b!, caller, agent, '600840001', 'paused');
    assert.equal((await services.b!.api(`/api/v1/agents/${agentId}/ready`, { method: 'POST' })).status, 200);
    // A new call, answered by the new leader.
    const next = await call('600840002');
    await endsProperly(services.b!, next.caller, next.agent, '600840002');
    const recordings = (await db.query(`select r.status from recordings r join calls c on c.id = r.call_id where c.caller_number = any($1)`, [['600840001', '600840002']])).rows;
    await waitFor(async () => (await db.query(`select count(*)::int as n from recordings r join calls c on c.id = r.call_id where c.caller_number = any($1) and r.status = 'complete'`, [['600840001', '600840002']])).rows[0].n === 2, 15_000, `the recordings were not completed: ${JSON.stringify(recordings)}`);
  });

  it('the leader frozen (SIGSTOP): the standby takes over, the call keeps talking; resumed, the old leader sends nothing, writes nothing and exits to stand by', async () => {
    services.a = await start('a');
    assert.equal((await health(services.a)).role, 'standby');
    const { caller, agent } = await call('600840003');
    const frozen = services.b!;
    frozen.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    const takeover = await tookOver(services.a, stoppedAt);
    console.log(`takeover after SIGSTOP: ${takeover} ms`);
    assert.ok(takeover <= 5000, `took over in ${takeover} ms`);
    await talking(caller, agent, 'with the old leader frozen');
    await waitFor(async () => ((await services.a!.api('/api/v1/stats/live')).body.calls as { agentId: string }[]).some((c) => c.agentId === agentId), 5000, 'the call is not adopted');
    const rowsBefore = (await db.query(`select (select count(*) from agent_state_events) + (select count(*) from calls) + (select count(*) from queue_entries) as n`)).rows[0].n;
    frozen.child.kill('SIGCONT');
    await Promise.race([frozen.exited, sleep(10_000).then(() => { throw new Error(`the resumed leader did not exit: ${frozen.output().slice(-2000)}`); })]);
    assert.equal(frozen.child.exitCode, 75);
    assert.match(frozen.output(), /fenced/);
    assert.equal((await db.query(`select (select count(*) from agent_state_events) + (select count(*) from calls) + (select count(*) from queue_entries) as n`)).rows[0].n, rowsBefore, 'the resumed leader wrote nothing');
    await talking(caller, agent, 'after the old leader resumed');
    assert.equal((await services.a.api(`/api/v1/agents/${agentId}/state`)).body.status, 'on_call');
    // It comes back as a standby (as systemd would start it).
    services.b = await start('b');
    assert.equal((await health(services.b)).role, 'standby');
    await endsProperly(services.a, caller, agent, '600840003');
  });

  it('Postgres stopped for 30 s with both running: the call goes on, nobody takes over (no flapping), the epoch is the same after and nothing is lost', {
    skip: process.getuid?.() === 0 ? false : 'needs root to stop and start Postgres', timeout: 120_000,
  }, async () => {
    const leader = services.a!;
    const other = services.b!;
    assert.equal(await leads(leader), true);
    const { caller, agent } = await call('600840004');
    const epochBefore = Number((await db.query('select epoch from leader_lease')).rows[0].epoch);
    await db.end();
    await stopPostgres();
    const roles: string[] = [];
    try {
      for (let elapsed = 0; elapsed < 30_000; elapsed += 3000) {
        await talking(caller, agent, `${elapsed / 1000} s into the outage`);
        roles.push(`${await leads(leader)}/${await leads(other)}`);
        await sleep(2000);
      }
    } finally {
      await startPostgres();
    }
    assert.deepEqual([...new Set(roles)], ['true/false'], 'the leader keeps leading (it keeps trying), the standby never takes over');
    for (let i = 0; i < 8; i += 1) {
      await sleep(500);
      roles.push(`${await leads(leader)}/${await leads(other)}`);
    }
    assert.deepEqual([...new Set(roles)], ['true/false'], 'and not once the database is back');
    db = new pg.Client({ connectionString: testDatabaseUrl });
    await db.connect();
    assert.equal(Number((await db.query('select epoch from leader_lease')).rows[0].epoch), epochBefore, 'no takeover happened');
    await talking(caller, agent, 'after the outage');
    await endsProperly(leader, caller, agent, '600840004');
  });
});
