import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { FeedClient } from '../support/live-feed.js';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { waitFor } from '../support/harness.js';

describe('agents API', () => {
  let t: FastApp;
  let supervisorToken: string;
  before(async () => {
    // Registered desk phones as AMI lists them: checking in on a phone that
    // is not there makes the agent paused(unreachable) at once (see
    // agents-phone tests); 4999 is no phone at all.
    t = await startFastApp({}, { phones: { 1006: 'NOT_INUSE', 1007: 'NOT_INUSE', 1008: 'NOT_INUSE', 1010: 'NOT_INUSE', 1009: 'UNAVAILABLE' } });
    supervisorToken = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'sup', role: 'supervisor' } })).body.token;
  });
  after(async () => t?.stop());

  const createAgent = async (number: string, extra: Record<string, unknown> = {}) => {
    const res = await t.api('/api/v1/agents', { method: 'POST', json: { number, name: `Agente ${number}`, pin: '4321', ...extra } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; number: string };
  };

  it('creates, reads and changes agents; validates and refuses conflicts', async () => {
    const ana = await createAgent('201', { extension: '1009', team: 'soporte', skills: { es: 9, billing: 4 } });
    assert.deepEqual((await t.api(`/api/v1/agents/${ana.id}`)).body.skills, { es: 9, billing: 4 });
    const badPin = await t.api('/api/v1/agents', { method: 'POST', json: { number: '202', name: 'x', pin: '12' } });
    assert.equal(badPin.status, 400);
    assert.match(badPin.body.error.message, /body\/pin/);
    const badSkill = await t.api('/api/v1/agents', { method: 'POST', json: { number: '202', name: 'x', pin: '1234', skills: { es: 11 } } });
    assert.equal(badSkill.status, 400);
    assert.match(badSkill.body.error.message, /body\/skills\/es/);
    const badSkillName = await t.api('/api/v1/agents', { method: 'POST', json: { number: '202', name: 'x', pin: '1234', skills: { 'Bad Key': 5 } } });
    assert.equal(badSkillName.status, 400);
    const racing = await Promise.all([1, 2, 3].map(() => t.api('/api/v1/agents', { method: 'POST', json: { number: '205', name: 'x', pin: '1234' } })));
    assert.deepEqual(racing.map((r) => r.status).sort(), [201, 409, 409], 'the same number created at once: one wins, the others get 409');
    const dupNumber = await t.api('/api/v1/agents', { method: 'POST', json: { number: '201', name: 'x', pin: '1234' } });
    assert.equal(dupNumber.status, 409);
    const dupPhone = await t.api('/api/v1/agents', { method: 'POST', json: { number: '203', name: 'x', pin: '1234', extension: '1009' } });
    assert.equal(dupPhone.status, 409);
    assert.match(dupPhone.body.error.message, /1009/);
    assert.equal((await t.api('/api/v1/agents', { method: 'POST', token: supervisorToken, json: { number: '204', name: 'x', pin: '1234' } })).status, 403);
    const renamed = await t.api(`/api/v1/agents/${ana.id}`, { method: 'PATCH', json: { name: 'Ana López' } });
    assert.equal(renamed.body.name, 'Ana López');
    assert.equal((await t.api('/api/v1/agents', { token: supervisorToken })).body.length, 2);
    assert.equal((await t.api('/api/v1/agents/00000000-0000-4000-8000-000000000000')).status, 404);
    const pinRow = await sql<{ pin_hash: string }>`select pin_hash from agents where id = ${ana.id}`.execute(t.app.database.db);
    assert.match(pinRow.rows[0]!.pin_hash, /^scrypt\$/);
  });

  it('stores dialing rights as dialplan patterns and refuses patterns Asterisk would not read, changing nothing', async () => {
    const eva = await createAgent('290', { dialingRights: ['_9XXXXXXXX', '_00.'] });
    assert.deepEqual((await t.api(`/api/v1/agents/${eva.id}`)).body.dialingRights, ['_9XXXXXXXX', '_00.']);
    for (const bad of [['_9X.X'], ['_9[12'], ['abc'], ['_'], ['_9[a-b]']]) {
      const res = await t.api(`/api/v1/agents/${eva.id}`, { method: 'PATCH', json: { dialingRights: bad } });
      assert.equal(res.status, 400, `${bad[0]}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /body\/dialingRights/);
    }
    assert.equal((await t.api(`/api/v1/agents/${eva.id}`, { method: 'PATCH', json: { dialingRights: ['_9X', '_9X'] } })).status, 400, 'twice the same pattern');
    assert.deepEqual((await t.api(`/api/v1/agents/${eva.id}`)).body.dialingRights, ['_9XXXXXXXX', '_00.'], 'nothing changed');
    const cleared = await t.api(`/api/v1/agents/${eva.id}`, { method: 'PATCH', json: { dialingRights: [] } });
    assert.deepEqual(cleared.body.dialingRights, []);
  });

  it('runs the state machine with 409 for illegal moves, one row per change, and a live feed', async () => {
    const agent = await createAgent('210');
    const feed = await FeedClient.connect(t.baseUrl, supervisorToken);
    try {
      const base = `/api/v1/agents/${agent.id}`;
      const noPhone = await t.api(`${base}/login`, { method: 'POST' });
      assert.equal(noPhone.status, 400);
      assert.match(noPhone.body.error.message, /extension/);
      const noSuchPhone = await t.api(`${base}/login`, { method: 'POST', json: { extension: '4999' } });
      assert.equal(noSuchPhone.status, 400);
      assert.match(noSuchPhone.body.error.message, /Asterisk has no phone 4999/);
      assert.equal((await t.api(`${base}/pause`, { method: 'POST', json: { reason: 'lunch' } })).status, 409);

      const login = await t.api(`${base}/login`, { method: 'POST', json: { extension: '1010' } });
      assert.equal(login.status, 200);
      assert.equal(login.body.status, 'available');
      assert.equal(login.body.extension, '1010');
      const again = await t.api(`${base}/login`, { method: 'POST', json: { extension: '1010' } });
      assert.equal(again.status, 409);
      assert.match(again.body.error.message, /already checked in/);

      assert.equal((await t.api(`${base}/pause`, { method: 'POST', json: { reason: 'siesta' } })).status, 400);
      assert.equal((await t.api(`${base}/pause`, { method: 'POST', json: { reason: 'rona' } })).status, 409);
      const paused = await t.api(`${base}/pause`, { method: 'POST', json: { reason: 'lunch' } });
      assert.deepEqual([paused.body.status, paused.body.reason], ['paused', 'lunch']);
      assert.equal((await t.api(`${base}/ready`, { method: 'POST' })).body.status, 'available');
      const readyAgain = await t.api(`${base}/ready`, { method: 'POST' });
      assert.equal(readyAgain.status, 409);
      assert.match(readyAgain.body.error.message, /already available/);
      assert.equal((await t.api(`${base}/logout`, { method: 'POST' })).body.status, 'logged_out');
      assert.equal((await t.api(`${base}/logout`, { method: 'POST' })).status, 409);

      const rows = await sql<{ from_state: string; to_state: string; to_reason: string | null; source: string }>`
        select from_state, to_state, to_reason, source from agent_state_events where agent_id = ${agent.id} order by id`.execute(t.app.database.db);
      assert.deepEqual(rows.rows.map((r) => `${r.from_state}>${r.to_state}${r.to_reason ? `(${r.to_reason})` : ''}:${r.source}`), [
        'logged_out>available:api', 'available>paused(lunch):api', 'paused>available:api', 'available>logged_out:api',
      ]);
      const timeline = await t.api(`${base}/timeline`, { token: supervisorToken });
      assert.deepEqual(timeline.body.map((e: { to: string }) => e.to), ['available', 'paused(lunch)', 'available', 'logged_out']);
      await waitFor(() => feed.agentStates(agent.id).length === 4, 2000, 'the live feed did not carry every change');
      assert.deepEqual(feed.agentStates(agent.id), ['available', 'paused(lunch)', 'available', 'logged_out']);
    } finally {
      feed.close();
    }
  });

  it('lets an agent token act only on its own agent, and feeds it only its own changes', async () => {
    const mine = await createAgent('220');
    const other = await createAgent('221');
    const token = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'a', role: 'agent', agentId: mine.id } })).body.token;
    const feed = await FeedClient.connect(t.baseUrl, token);
    try {
      assert.equal((await t.api(`/api/v1/agents/${mine.id}/login`, { method: 'POST', token, json: { extension: '1008' } })).status, 200);
      const foreign = await t.api(`/api/v1/agents/${other.id}/login`, { method: 'POST', token, json: { extension: '1007' } });
      assert.equal(foreign.status, 403);
      assert.equal((await t.api(`/api/v1/agents/${other.id}/state`)).body.status, 'logged_out');
      assert.equal((await t.api('/api/v1/agents', { token })).status, 403);
      const owner = await createAgent('222', { extension: '1006' });
      assert.equal((await t.api(`/api/v1/agents/${mine.id}/logout`, { method: 'POST', token })).status, 200);
      const takeOver = await t.api(`/api/v1/agents/${mine.id}/login`, { method: 'POST', token, json: { extension: '1006' } });
      assert.equal(takeOver.status, 403, "an agent may not check in on another agent's own phone");
      assert.equal((await t.api(`/api/v1/agents/${owner.id}`, { method: 'DELETE' })).body.deleted, true);
      assert.equal((await t.api(`/api/v1/agents/${mine.id}/login`, { method: 'POST', token, json: { extension: '1008' } })).status, 200);
      assert.equal((await t.api(`/api/v1/agents/${other.id}/login`, { method: 'POST', token: supervisorToken, json: { extension: '1007' } })).status, 200);
      await waitFor(() => feed.agentStates(mine.id).length === 3, 2000, 'own changes not fed');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(feed.agentStates(other.id), [], 'an agent must not see other agents');
      await t.api(`/api/v1/agents/${mine.id}/logout`, { method: 'POST', token });
      await t.api(`/api/v1/agents/${other.id}/logout`, { method: 'POST' });
    } finally {
      feed.close();
    }
    const revocable = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'r', role: 'supervisor' } })).body;
    const watching = await FeedClient.connect(t.baseUrl, revocable.token);
    await t.api(`/api/v1/tokens/${revocable.id}`, { method: 'DELETE' });
    await waitFor(() => watching.closedWith === 4001, 2000, 'a revoked token kept its live feed');
    await assert.rejects(FeedClient.connect(t.baseUrl, null), /401/);
    await assert.rejects(FeedClient.connect(t.baseUrl, 'ctl_nope'), /401/);
  });

  it('checks an agent in on a phone that is not registered as paused(unreachable)', async () => {
    const agent = await createAgent('240');
    const login = await t.api(`/api/v1/agents/${agent.id}/login`, { method: 'POST', json: { extension: '1009' } });
    assert.equal(login.status, 200);
    assert.deepEqual([login.body.status, login.body.reason], ['paused', 'unreachable']);
    assert.equal((await t.api(`/api/v1/agents/${agent.id}/logout`, { method: 'POST' })).body.status, 'logged_out');
  });

  it('deactivates agents with history and deletes those without', async () => {
    const fresh = await createAgent('230');
    const del = await t.api(`/api/v1/agents/${fresh.id}`, { method: 'DELETE' });
    assert.deepEqual([del.status, del.body.deleted], [200, true]);
    assert.equal((await t.api(`/api/v1/agents/${fresh.id}`)).status, 404);

    const veteran = await createAgent('231');
    await t.api(`/api/v1/agents/${veteran.id}/login`, { method: 'POST', json: { extension: '1006' } });
    assert.equal((await t.api(`/api/v1/agents/${veteran.id}`, { method: 'DELETE' })).status, 409, 'a checked-in agent is not removed');
    await t.api(`/api/v1/agents/${veteran.id}/logout`, { method: 'POST' });
    const deactivated = await t.api(`/api/v1/agents/${veteran.id}`, { method: 'DELETE' });
    assert.deepEqual([deactivated.body.deleted, deactivated.body.agent.active], [false, false]);
    const [row] = (await sql<{ deactivated_at: Date }>`select deactivated_at from agents where id = ${veteran.id}`.execute(t.app.database.db)).rows;
    const again = await t.api(`/api/v1/agents/${veteran.id}`, { method: 'DELETE' });
    assert.deepEqual([again.status, again.body.deleted], [200, false]);
    const [after] = (await sql<{ deactivated_at: Date }>`select deactivated_at from agents where id = ${veteran.id}`.execute(t.app.database.db)).rows;
    assert.equal(after!.deactivated_at.getTime(), row!.deactivated_at.getTime(), 'a second DELETE changes nothing');
    assert.equal((await t.api(`/api/v1/agents/${veteran.id}/login`, { method: 'POST', json: { extension: '1006' } })).status, 409);
    // the number is free again for a new agent
    await createAgent('231');
  });

  it('manages pause reasons; system reasons cannot change', async () => {
    const list = await t.api('/api/v1/pause-reasons', { token: supervisorToken });
    assert.deepEqual(list.body.filter((r: { system: boolean }) => !r.system).map((r: { code: string; name: string }) => `${r.code}:${r.name}`),
      ['1:break', '2:lunch', '3:training', '4:back_office']);
    const meeting = await t.api('/api/v1/pause-reasons/meeting', { method: 'PUT', json: { code: '5', label: 'Reunión', productive: true } });
    assert.equal(meeting.status, 200);
    assert.equal((await t.api('/api/v1/pause-reasons/coffee', { method: 'PUT', json: { code: '5', label: 'Café', productive: false } })).status, 409);
    assert.equal((await t.api('/api/v1/pause-reasons/rona', { method: 'PUT', json: { code: '9', label: 'x', productive: false } })).status, 409);
    assert.equal((await t.api('/api/v1/pause-reasons/meeting', { method: 'PUT', token: supervisorToken, json: { code: '5', label: 'x', productive: true } })).status, 403);
  });
});
