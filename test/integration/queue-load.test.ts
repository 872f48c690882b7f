import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

const agentCount = 10;
const callerCount = 50;

describe(`${callerCount} callers and ${agentCount} agents at once`, () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  let stop = false;

  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'carga', strategy: 'round_robin', ringTimeoutSeconds: 10, wrapUpSeconds: 0, maxWaitSeconds: 600 } });
    const members: { agentId: string }[] = [];
    for (let i = 1; i <= agentCount; i += 1) {
      const ext = String(1000 + i);
      const phone = await TestPhone.start({ user: ext, password: `lab-${ext}` });
      await phone.register();
      phones.push(phone);
      const agent = await t.api('/api/v1/agents', { method: 'POST', json: { number: `9${ext}`, name: `Carga ${ext}`, pin: '1234', extension: ext } });
      members.push({ agentId: agent.body.id });
      // Each desk phone answers whatever rings, talks a moment, and hangs up.
      void (async () => {
        while (!stop) {
          const incoming = await phone.waitForIncoming(60_000).catch(() => undefined);
          if (!incoming || stop) continue;
          const call = await incoming.answer().catch(() => undefined);
          if (!call) continue;
          await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
          await call.hangup().catch(() => undefined);
        }
      })();
    }
    await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members } });
    await routeDid(t, '5556001', { start: 'q', nodes: { q: { type: 'queue', queue: 'carga' } } });
    for (const m of members) await t.api(`/api/v1/agents/${m.agentId}/login`, { method: 'POST' });
  });
  after(async () => {
    stop = true;
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('answers every caller, never offers an agent two calls, and keeps every row consistent', { timeout: 180_000 }, async () => {
    const calls: Call[] = [];
    for (let i = 0; i < callerCount; i += 1) {
      const phone = await TestPhone.start({ user: `6006${String(i).padStart(5, '0')}` });
      phones.push(phone);
      calls.push(await phone.call('5556001'));
    }
    await waitFor(() => calls.every((c) => !c.isActive), 150_000, 'not every caller was answered and hung up');
    await waitFor(async () => (await sql<{ n: number }>`select count(*)::int as n from queue_entries where left_at is null`.execute(t.app.database.db)).rows[0]!.n === 0, 10_000, 'open queue entries remain');
    await t.app.writes.drain();

    const entries = (await sql<{ outcome: string; answered_by: string | null; answered_at: Date | null; left_at: Date; entered_at: Date; wait_seconds: string }>`
      select outcome, answered_by, answered_at, left_at, entered_at, wait_seconds from queue_entries`.execute(t.app.database.db)).rows;
    assert.equal(entries.length, callerCount, 'one queue entry per caller');
    assert.deepEqual([...new Set(entries.map((e) => e.outcome))], ['answered'], 'every caller was answered');
    for (const e of entries) {
      assert.ok(e.answered_by && e.answered_at, 'answered entries say by whom and when');
      assert.ok(e.entered_at <= e.answered_at! && e.answered_at! <= e.left_at, 'entered ≤ answered ≤ left');
      assert.ok(Math.abs(Number(e.wait_seconds) - (e.answered_at!.getTime() - e.entered_at.getTime()) / 1000) < 0.01, 'wait = answered − entered');
    }
    const offers = (await sql<{ agent_id: string; offered_at: Date; ended_at: Date | null; result: string | null }>`
      select agent_id, offered_at, ended_at, result from queue_offers order by agent_id, offered_at`.execute(t.app.database.db)).rows;
    assert.ok(offers.every((o) => o.ended_at && o.result), 'every offer ended with a result');
    for (let i = 1; i < offers.length; i += 1) {
      const [a, b] = [offers[i - 1]!, offers[i]!];
      if (a.agent_id === b.agent_id) assert.ok(a.ended_at! <= b.offered_at, `agent ${a.agent_id} was offered two calls at once`);
    }
    const calls50 = (await sql<{ n: number }>`select count(*)::int as n from calls where did = '5556001' and ended_at is not null`.execute(t.app.database.db)).rows[0]!.n;
    assert.equal(calls50, callerCount, 'every call row closed');
    const states: string[] = await Promise.all((await t.api('/api/v1/agents')).body.map(async (a: { id: string }) => {
      const s = (await t.api(`/api/v1/agents/${a.id}/state`)).body;
      return s.status === 'paused' ? `paused(${s.reason})` : s.status;
    }));
    const results = (await sql<{ result: string; n: number }>`select result, count(*)::int as n from queue_offers group by result`.execute(t.app.database.db)).rows;
    assert.ok(states.every((s) => s === 'available'), `agents left in ${states.join(', ')}; offers ${JSON.stringify(results)}`);
  });
});
