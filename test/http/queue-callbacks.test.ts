import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startFastApp, type FastApp } from '../support/fast-harness.js';

describe('callbacks a supervisor asks for (the wallboard)', () => {
  let t: FastApp;
  let queueId: string;
  before(async () => {
    t = await startFastApp();
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'devoluciones', strategy: 'longest_idle', ringTimeoutSeconds: 10, wrapUpSeconds: 0, maxWaitSeconds: 60 } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    queueId = queue.body.id;
  });
  after(async () => t?.stop());

  const insertCall = async (callerNumber: string): Promise<string> => {
    const id = randomUUID();
    await sql`insert into calls (id, channel_id, direction, caller_number, started_at, ended_at, end_reason)
      values (${id}, ${`cb-${id}`}, 'inbound', ${callerNumber}, now(), now(), 'hangup')`.execute(t.app.database.db);
    return id;
  };
  const stored = async (callId: string) => (await sql<{ n: number }>`select count(*)::int as n from queue_callbacks where call_id = ${callId}`.execute(t.app.database.db)).rows[0]!.n;

  it('stores one callback when asked several times at once (a double click): the others get 409', async () => {
    const callId = await insertCall('600123123');
    const replies = await Promise.all([1, 2, 3].map(() => t.api(`/api/v1/queues/${queueId}/callbacks`, { method: 'POST', json: { callId } })));
    assert.deepEqual(replies.map((r) => r.status).sort(), [201, 409, 409], JSON.stringify(replies.map((r) => r.body)));
    assert.equal(await stored(callId), 1);
    assert.equal((await t.api(`/api/v1/queues/${queueId}/callbacks`, { method: 'POST', json: { callId } })).status, 409, 'pending already');
  });

  it('refuses a call with no caller number (409) and an unknown call (400 naming the field), storing nothing', async () => {
    const anonymous = await insertCall('');
    assert.equal((await t.api(`/api/v1/queues/${queueId}/callbacks`, { method: 'POST', json: { callId: anonymous } })).status, 409);
    const unknown = await t.api(`/api/v1/queues/${queueId}/callbacks`, { method: 'POST', json: { callId: randomUUID() } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /body\/callId/);
    assert.equal(await stored(anonymous), 0);
  });

  it('schedules a callback: agents only for themselves and within their dialing rights; a member named; bad input named', async () => {
    const agent = await t.api('/api/v1/agents', { method: 'POST', json: { number: '1010', name: 'rosa', pin: '1234', extension: '1010', dialingRights: ['_6XXXXXXXX'] } });
    const other = await t.api('/api/v1/agents', { method: 'POST', json: { number: '1011', name: 'tomas', pin: '1234' } });
    await t.api(`/api/v1/queues/${queueId}/members`, { method: 'PUT', json: { members: [{ agentId: agent.body.id }] } });
    const token = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'rosa', role: 'agent', agentId: agent.body.id } })).body.token as string;
    const schedule = (json: unknown, as?: string) => t.api(`/api/v1/queues/${queueId}/callbacks/scheduled`, { method: 'POST', json, ...(as ? { token: as } : {}) });
    const before = (await t.api(`/api/v1/queues/${queueId}/callbacks`)).body.length as number;
    assert.equal((await schedule({ number: '612345678', agentId: other.body.id }, token)).status, 403, 'for another agent');
    assert.equal((await schedule({ number: '912345678' }, token)).status, 403, 'outside the rights');
    assert.equal((await schedule({ number: '612345678', agentId: other.body.id })).status, 400, 'not a member');
    const bad = await schedule({ number: 'abc' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /number/);
    assert.equal((await t.api(`/api/v1/queues/${randomUUID()}/callbacks/scheduled`, { method: 'POST', json: { number: '612345678' } })).status, 404);
    assert.equal((await t.api(`/api/v1/queues/${queueId}/callbacks`)).body.length, before, 'nothing stored by a refusal');
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const ok = await schedule({ number: '612345678', agentId: agent.body.id, at }, token);
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.deepEqual([ok.body.status, ok.body.nextAttemptAt], ['pending', at]);
    const listed = ((await t.api(`/api/v1/queues/${queueId}/callbacks`)).body as { id: string; agentId: string; scheduledBy: string; attempts: number; callId: string | null }[]).find((c) => c.id === ok.body.id)!;
    assert.deepEqual([listed.agentId, listed.scheduledBy, listed.attempts, listed.callId], [agent.body.id, agent.body.id, 0, null]);
    // A supervisor cancels it (agents may not); a second cancel is 409, an unknown one 404.
    assert.equal((await t.api(`/api/v1/queues/${queueId}/callbacks/${ok.body.id}`, { method: 'DELETE', token })).status, 403);
    assert.deepEqual((await t.api(`/api/v1/queues/${queueId}/callbacks/${ok.body.id}`, { method: 'DELETE' })).body, { id: ok.body.id, status: 'cancelled' });
    assert.equal((await t.api(`/api/v1/queues/${queueId}/callbacks/${ok.body.id}`, { method: 'DELETE' })).status, 409);
    assert.equal((await t.api(`/api/v1/queues/${queueId}/callbacks/${randomUUID()}`, { method: 'DELETE' })).status, 404);
  });
});
