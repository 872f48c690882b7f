import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { outboundCode, dialledNumber } from '../../src/outbound/service.js';
import { startFastApp, type FastApp } from '../support/fast-harness.js';

describe('click-to-call over the API: who may call what, and bad input (docs/outbound.md)', () => {
  let t: FastApp;
  let agentId = '';
  let agentToken = '';
  let otherId = '';
  const stored = async () => (await sql<{ n: number }>`select count(*)::int as n from outbound_calls`.execute(t.app.database.db)).rows[0]!.n;

  before(async () => {
    // No trunk set: a request that passes every check is refused with 409, never dialled.
    t = await startFastApp({ outbound: { endpoint: undefined, callerId: '', campaignRingSeconds: 25 } });
    const agent = await t.api('/api/v1/agents', { method: 'POST', json: { number: '1008', name: 'olga', pin: '1234', extension: '1008', dialingRights: ['_0X.'] } });
    assert.equal(agent.status, 201, JSON.stringify(agent.body));
    agentId = agent.body.id;
    agentToken = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'olga', role: 'agent', agentId } })).body.token;
    otherId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1009', name: 'pablo', pin: '1234', extension: '1009' } })).body.id;
  });
  after(async () => t?.stop());

  it('400 names the field: a number with letters, a missing agent, an unknown property', async () => {
    for (const [json, field] of [
      [{ agentId, number: '06x12' }, 'number'],
      [{ number: '0612345670' }, 'agentId'],
      [{ agentId, number: '0612345670', extra: 1 }, 'extra'],
      [{ agentId, number: '++' }, 'number'],
    ] as const) {
      const res = await t.api('/api/v1/calls', { method: 'POST', json });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.body.error.message, new RegExp(field));
    }
    assert.equal(await stored(), 0);
  });

  it('401 without a token, 403 for another agent\'s phone and outside the rights, 404 for an unknown agent or queue', async () => {
    assert.equal((await t.api('/api/v1/calls', { method: 'POST', token: null, json: { agentId, number: '0612345670' } })).status, 401);
    assert.equal((await t.api('/api/v1/calls', { method: 'POST', token: agentToken, json: { agentId: otherId, number: '0612345670' } })).status, 403);
    const outside = await t.api('/api/v1/calls', { method: 'POST', json: { agentId, number: '+34 612 345 670' } });
    assert.equal(outside.status, 403);
    assert.match(outside.body.error.message, /dialing rights/);
    assert.equal((await t.api('/api/v1/calls', { method: 'POST', json: { agentId: otherId, number: '0612345670' } })).status, 403, 'no rights at all');
    assert.equal((await t.api('/api/v1/calls', { method: 'POST', json: { agentId: randomUUID(), number: '0612345670' } })).status, 404);
    assert.equal((await t.api('/api/v1/calls', { method: 'POST', json: { agentId, number: '0612345670', queueId: randomUUID() } })).status, 404);
    assert.equal(await stored(), 0);
  });

  it('409 when outbound calls are not set up, and the agent\'s state is unchanged', async () => {
    const res = await t.api('/api/v1/calls', { method: 'POST', token: agentToken, json: { agentId, number: '061 234-5670' } });
    assert.equal(res.status, 409);
    assert.match(res.body.error.message, /CENTRALITA_OUTBOUND_ENDPOINT/);
    assert.equal((await t.api(`/api/v1/agents/${agentId}/state`)).body.status, 'logged_out');
    assert.equal(await stored(), 0);
  });

  it('409 for a number on the global do-not-call list, dialled with its country code or without it', async () => {
    const listed = await t.api('/api/v1/dnc', { method: 'POST', json: { number: '+34 612 345 671', reason: 'asked not to be called' } });
    assert.equal(listed.status, 201, JSON.stringify(listed.body));
    for (const number of ['0034 612 345 671', '0612345671']) {
      const res = await t.api('/api/v1/calls', { method: 'POST', json: { agentId, number } });
      assert.equal(res.status, 409, `${number}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /do-not-call list \(as \+34612345671\)/);
    }
    // A number not on the list gets past this check (and on to the trunk's, not set up here).
    const other = await t.api('/api/v1/calls', { method: 'POST', json: { agentId, number: '0612345672' } });
    assert.match(other.body.error.message, /CENTRALITA_OUTBOUND_ENDPOINT/);
    assert.equal(await stored(), 0);
    assert.equal((await t.api('/api/v1/dnc/+34612345671', { method: 'DELETE' })).status, 204);
  });

  it('preview campaigns: 404 unknown campaign, 409 not preview or not running, 403 another agent, 409 not checked in; nothing claimed or dialled', async () => {
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'previa', strategy: 'longest_idle' } });
    await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId }] } });
    const campaign = async (mode: string) => {
      const created = await t.api('/api/v1/campaigns', { method: 'POST', json: {
        name: `previa-${mode}`, queueId: queue.body.id, callerId: '+34910000000', mode, hours: { mon: ['09:00-21:00'] }, defaultRegion: 'ES', defaultTimezone: 'Europe/Madrid',
      } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body.id as string;
    };
    const preview = await campaign('preview');
    const progressive = await campaign('progressive');
    const ask = (id: string, token?: string) => t.api(`/api/v1/campaigns/${id}/preview`, { method: 'POST', json: { agentId }, ...(token ? { token } : {}) });
    assert.equal((await ask(randomUUID())).status, 404);
    const draft = await ask(preview);
    assert.equal(draft.status, 409);
    assert.match(draft.body.error.message, /draft/);
    for (const id of [preview, progressive]) assert.equal((await t.api(`/api/v1/campaigns/${id}/start`, { method: 'POST' })).status, 200);
    assert.match((await ask(progressive)).body.error.message, /agents join it instead/);
    assert.equal((await t.api(`/api/v1/campaigns/${preview}/preview`, { method: 'POST', token: agentToken, json: { agentId: otherId } })).status, 403);
    const notIn = await ask(preview, agentToken);
    assert.equal(notIn.status, 409);
    assert.match(notIn.body.error.message, /not checked in/);
    assert.equal((await t.api(`/api/v1/campaigns/${preview}/preview/skip`, { method: 'POST', json: { agentId: 'nope' } })).status, 400);
    const listed = await t.api(`/api/v1/campaigns/preview?agentId=${agentId}`, { token: agentToken });
    assert.deepEqual(listed.body.map((c: { name: string; contact: unknown }) => [c.name, c.contact]), [['previa-preview', null]]);
    assert.equal((await t.api(`/api/v1/campaigns/preview?agentId=${otherId}`, { token: agentToken })).status, 403);
    assert.equal(await stored(), 0);
  });

  it('lists outbound calls: an agent only their own', async () => {
    assert.equal((await t.api('/api/v1/outbound-calls', { token: agentToken })).status, 403);
    const own = await t.api(`/api/v1/outbound-calls?agentId=${agentId}`, { token: agentToken });
    assert.equal(own.status, 200);
    assert.deepEqual(own.body, []);
    assert.equal((await t.api(`/api/v1/outbound-calls/${randomUUID()}`)).status, 404);
  });

  it('reads numbers and desk-phone codes as documented', () => {
    assert.equal(dialledNumber(' (06) 123-45.67 '), '061234567');
    assert.equal(dialledNumber('+34 612'), '+34612');
    assert.equal(dialledNumber('12'), undefined);
    assert.equal(outboundCode('*0612345670'), '0612345670');
    assert.equal(outboundCode('*45'), undefined, 'check-in');
    assert.equal(outboundCode('*471'), undefined, 'a pause with its code');
    assert.equal(outboundCode('*221001'), undefined, 'monitoring');
    assert.equal(outboundCode('*12'), undefined, 'too short');
  });
});
