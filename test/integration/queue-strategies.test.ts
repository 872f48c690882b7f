import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

/** Three agents and five callers per strategy: which agents each strategy picks, priority before arrival. */
describe('queue strategies on the lab', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  const names = ['ana', 'ben', 'eva'] as const;
  const ids: Record<string, string> = {};
  let queueId: string;

  const offered = async (caller: string): Promise<string[]> => {
    const rows = await sql<{ agent_id: string; result: string | null }>`
      select o.agent_id, o.result from queue_offers o join queue_entries e on e.id = o.entry_id join calls c on c.id = e.call_id
      where c.caller_number = ${caller} order by o.id`.execute(t.app.database.db);
    return rows.rows.map((r) => `${names.find((n) => ids[n] === r.agent_id)}:${r.result ?? 'ringing'}`);
  };
  /** Desk phones answer what rings while this is on; their calls are kept to hang up. */
  let autoAnswer = true;
  let closed = false;
  const agentCalls = new Map<string, Call>();
  const answeredBy = async (caller: string): Promise<string | undefined> => {
    const rows = await sql<{ answered_by: string | null }>`
      select e.answered_by from queue_entries e join calls c on c.id = e.call_id where c.caller_number = ${caller}`.execute(t.app.database.db);
    const id = rows.rows[0]?.answered_by;
    return id ? names.find((n) => ids[n] === id) : undefined;
  };
  const setStrategy = async (strategy: string, extra: Record<string, unknown>): Promise<void> => {
    const res = await t.api(`/api/v1/queues/${queueId}`, { method: 'PATCH', json: { strategy, ...extra } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const allAvailable = () => waitFor(async () => {
    const states = await Promise.all(names.map(async (n) => (await t.api(`/api/v1/agents/${ids[n]}/state`)).body.status));
    return states.every((s) => s === 'available');
  }, 8000, 'agents not available again');
  let round = 0;
  /**
   * Callers 1-3 come one after another and are answered by the agents in
   * `expected` order; caller 4 and then a VIP (priority 10) wait; when the
   * first agent hangs up the VIP reaches them, when the second does caller 4.
   */
  const fiveCallers = async (strategy: string, extra: Record<string, unknown>, expected: string[]): Promise<void> => {
    round += 1;
    await setStrategy(strategy, extra);
    const number = (i: number) => `6007${round}000${i}`;
    const callers: Call[] = [];
    const dial = async (i: number, did = '5557001') => {
      const phone = await TestPhone.start({ user: number(i) });
      phones.push(phone);
      callers.push(await phone.call(did));
    };
    const waiting = async () => (await t.api(`/api/v1/queues/${queueId}/live`)).body.waiting as { caller: string }[];
    for (let i = 1; i <= 3; i += 1) {
      await dial(i);
      await waitFor(() => answeredBy(number(i)), 8000, `${strategy}: caller ${i} not answered`);
    }
    assert.deepEqual([await answeredBy(number(1)), await answeredBy(number(2)), await answeredBy(number(3))], expected, `${strategy} picked`);
    await dial(4);
    await waitFor(async () => (await waiting()).length === 1, 5000, 'caller 4 not waiting');
    await dial(5, '5557002');
    await waitFor(async () => (await waiting()).length === 2, 5000, 'the VIP not waiting');
    assert.deepEqual((await waiting()).map((w) => w.caller), [number(5), number(4)], 'the VIP waits ahead of caller 4');
    await agentCalls.get(expected[0]!)!.hangup();
    await waitFor(() => answeredBy(number(5)), 8000, `${strategy}: the VIP not answered`);
    assert.equal(await answeredBy(number(5)), expected[0]);
    assert.equal(await answeredBy(number(4)), undefined, 'caller 4 still waits after the VIP was answered');
    await agentCalls.get(expected[1]!)!.hangup();
    await waitFor(() => answeredBy(number(4)), 8000, `${strategy}: caller 4 not answered`);
    assert.equal(await answeredBy(number(4)), expected[1]);
    for (const call of callers) await call.hangup().catch(() => undefined);
    await allAvailable();
  };

  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    const billing = { ana: 3, ben: 8, eva: 5 };
    for (const [i, name] of names.entries()) {
      const ext = String(1005 + i);
      const phone = await TestPhone.start({ user: ext, password: `lab-${ext}` });
      await phone.register();
      phones.push(phone);
      void (async () => {
        for (;;) {
          const incoming = await phone.waitForIncoming(30_000).catch(() => undefined);
          if (closed) return;
          if (!incoming) continue;
          if (!autoAnswer) continue;
          const call = await incoming.answer().catch(() => undefined);
          if (call) agentCalls.set(name, call);
        }
      })();
      ids[name] = (await t.api('/api/v1/agents', { method: 'POST', json: { number: ext, name, pin: '1234', extension: ext, skills: { billing: billing[name] } } })).body.id;
    }
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'estrategias', strategy: 'longest_idle', ringTimeoutSeconds: 20, wrapUpSeconds: 0 } });
    queueId = queue.body.id;
    await t.api(`/api/v1/queues/${queueId}/members`, { method: 'PUT', json: { members: names.map((n) => ({ agentId: ids[n] })) } });
    await routeDid(t, '5557001', { start: 'q', nodes: { q: { type: 'queue', queue: 'estrategias' } } });
    await routeDid(t, '5557002', { start: 'vip', nodes: { vip: { type: 'setPriority', priority: 10, next: 'q' }, q: { type: 'queue', queue: 'estrategias' } } });
    for (const name of names) {
      await t.api(`/api/v1/agents/${ids[name]}/login`, { method: 'POST' });
      await new Promise((r) => setTimeout(r, 30));
    }
  });
  after(async () => {
    closed = true;
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('three agents, five callers: each strategy picks the agents its rules say, and a VIP entering last is answered first', { timeout: 120_000 }, async () => {
    // Calls answered today before the test: ana 20, ben 10, eva 30 (history written straight to the tables).
    for (const [name, count] of [['ana', 20], ['ben', 10], ['eva', 30]] as const) {
      for (let i = 0; i < count; i += 1) {
        const callId = randomUUID();
        const at = new Date();
        await sql`insert into calls (id, channel_id, direction, started_at, ended_at, end_reason) values (${callId}, ${`history-${callId}`}, 'inbound', ${at}, ${at}, 'hangup')`.execute(t.app.database.db);
        await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at, answered_at, answered_by, left_at, outcome, wait_seconds)
          values (${randomUUID()}, ${callId}, ${queueId}, 0, ${at}, ${at}, ${ids[name]}, ${at}, 'answered', 0)`.execute(t.app.database.db);
      }
    }
    // Checked in ana, ben, eva: ana idle longest.
    await fiveCallers('longest_idle', {}, ['ana', 'ben', 'eva']);
    // Answered today now ana 22, ben 12, eva 31.
    await fiveCallers('fewest_calls', {}, ['ben', 'ana', 'eva']);
    // Last offered in the round before: eva (3rd caller), then ben (the VIP), then ana (4th caller).
    await fiveCallers('round_robin', {}, ['eva', 'ben', 'ana']);
    // billing: ben 8, eva 5, ana 3.
    await fiveCallers('skills', { requiredSkills: { billing: 1 } }, ['ben', 'eva', 'ana']);
  });

  it('ring all rings every qualified agent at once', async () => {
    await setStrategy('ring_all', { requiredSkills: {} });
    const caller = await TestPhone.start({ user: '600700099' });
    phones.push(caller);
    autoAnswer = false;
    const call = await caller.call('5557001');
    await waitFor(async () => (await offered('600700099')).length === 3, 8000, 'expected offers to all three');
    await call.hangup();
    await waitFor(async () => (await offered('600700099')).every((o) => !o.endsWith(':ringing')), 5000, 'offers not closed');
    assert.deepEqual((await offered('600700099')).map((o) => o.split(':')[0]).sort(), ['ana', 'ben', 'eva']);
  });
});
