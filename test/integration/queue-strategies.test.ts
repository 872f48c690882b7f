import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { TestPhone } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

/** Three agents, one caller at a time: which phones each strategy rings. */
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
  const callAndHangUpWhileRinging = async (user: string, expected: string[]): Promise<void> => {
    const caller = await TestPhone.start({ user });
    phones.push(caller);
    const call = await caller.call('5557001');
    await waitFor(async () => (await offered(user)).length === expected.length, 8000, `expected offers to ${expected.join(', ')}`);
    await call.hangup();
    await waitFor(async () => (await offered(user)).every((o) => !o.endsWith(':ringing')), 5000, 'offers not closed');
    assert.deepEqual((await offered(user)).map((o) => o.split(':')[0]).sort(), [...expected].sort());
    await waitFor(async () => {
      const states = await Promise.all(names.map(async (n) => (await t.api(`/api/v1/agents/${ids[n]}/state`)).body.status));
      return states.every((s) => s === 'available');
    }, 5000, 'agents not available again after the caller left');
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
      ids[name] = (await t.api('/api/v1/agents', { method: 'POST', json: { number: ext, name, pin: '1234', extension: ext, skills: { billing: billing[name] } } })).body.id;
    }
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'estrategias', strategy: 'longest_idle', ringTimeoutSeconds: 20 } });
    queueId = queue.body.id;
    await t.api(`/api/v1/queues/${queueId}/members`, { method: 'PUT', json: { members: names.map((n) => ({ agentId: ids[n] })) } });
    await routeDid(t, '5557001', { start: 'q', nodes: { q: { type: 'queue', queue: 'estrategias' } } });
    for (const name of names) {
      await t.api(`/api/v1/agents/${ids[name]}/login`, { method: 'POST' });
      await new Promise((r) => setTimeout(r, 30));
    }
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('picks by each strategy: longest idle, skills, fewest calls, round robin, and rings everyone with ring all', async () => {
    const strategy = async (s: string, extra: Record<string, unknown> = {}) => {
      const res = await t.api(`/api/v1/queues/${queueId}`, { method: 'PATCH', json: { strategy: s, ...extra } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    };

    await callAndHangUpWhileRinging('600700001', ['ana']); // checked in first: idle longest

    await strategy('skills', { requiredSkills: { billing: 1 } });
    await callAndHangUpWhileRinging('600700002', ['ben']); // billing 8 beats 5 and 3

    // Calls answered today: ana 5, ben 2, eva 9 (history written straight to the tables).
    for (const [name, count] of [['ana', 5], ['ben', 2], ['eva', 9]] as const) {
      for (let i = 0; i < count; i += 1) {
        const callId = randomUUID();
        const at = new Date();
        await sql`insert into calls (id, channel_id, direction, started_at, ended_at, end_reason) values (${callId}, ${`history-${callId}`}, 'inbound', ${at}, ${at}, 'hangup')`.execute(t.app.database.db);
        await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at, answered_at, answered_by, left_at, outcome, wait_seconds)
          values (${randomUUID()}, ${callId}, ${queueId}, 0, ${at}, ${at}, ${ids[name]}, ${at}, 'answered', 0)`.execute(t.app.database.db);
      }
    }
    await strategy('fewest_calls', { requiredSkills: {} });
    await callAndHangUpWhileRinging('600700003', ['ben']); // 2 calls, though eva has been idle longest

    await strategy('round_robin');
    await callAndHangUpWhileRinging('600700004', ['eva']); // never offered yet in this queue

    await strategy('ring_all');
    await callAndHangUpWhileRinging('600700005', ['ana', 'ben', 'eva']);
  });
});
