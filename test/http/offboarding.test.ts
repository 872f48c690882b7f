import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createLogger } from '../../src/core/logger.js';
import { FeedClient } from '../support/live-feed.js';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { waitFor } from '../support/harness.js';

/**
 * Offboarding revokes access at once: the tokens bound to an agent who is
 * deleted, deactivated or no longer a supervisor stop working on the next
 * request, their live feeds close with 4001, their playback tickets die.
 */
describe('offboarding', () => {
  let t: FastApp;
  let dir: string;
  let recordingId: string;
  const feeds: FeedClient[] = [];
  const logLines: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'centralita-offboarding-'));
    // Revoked tokens are refused many times here: more than the default budget of failed authentications.
    t = await startFastApp({ recordingsDir: dir, authFailuresPerMinute: 1000 }, { phones: { 1009: 'UNAVAILABLE' }, logger: createLogger('info', { write: (line: string) => { logLines.push(line); } }) });
    // One complete recording to issue playback tickets for.
    const callId = randomUUID();
    recordingId = randomUUID();
    writeFileSync(join(dir, `${callId}.wav`), Buffer.alloc(1044));
    const db = t.app.database.db;
    await sql`insert into calls (id, channel_id, direction, started_at, ended_at, end_reason) values (${callId}, ${`off-${callId}`}, 'inbound', now(), now(), 'hangup')`.execute(db);
    await sql`insert into recordings (id, call_id, agent_ids, asterisk_name, path, status, started_at, ended_at, bytes, retention_days)
      values (${recordingId}, ${callId}, '{}'::uuid[], ${`in-progress/${recordingId}`}, ${`${callId}.wav`}, 'complete', now(), now(), 1044, 3650)`.execute(db);
  });
  after(async () => {
    for (const feed of feeds) feed.close();
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let numbers = 700;
  /** An agent (a supervisor) with a supervisor token and an agent token bound to them, each with an open feed. */
  async function supervisorWithTokens() {
    const agent = await t.api('/api/v1/agents', { method: 'POST', json: { number: String(numbers++), name: 'Sup', pin: '4321', isSupervisor: true } });
    assert.equal(agent.status, 201, JSON.stringify(agent.body));
    const id = agent.body.id as string;
    const token = async (role: string) => {
      const created = await t.api('/api/v1/tokens', { method: 'POST', json: { name: `${role} ${id}`, role, agentId: id } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body.token as string;
    };
    const supervisor = await token('supervisor');
    const agentToken = await token('agent');
    const supervisorFeed = await FeedClient.connect(t.baseUrl, supervisor, { inQuery: true });
    const agentFeed = await FeedClient.connect(t.baseUrl, agentToken, { inQuery: true });
    feeds.push(supervisorFeed, agentFeed);
    const ticket = await t.api(`/api/v1/recordings/${recordingId}/ticket`, { method: 'POST', token: supervisor });
    assert.equal(ticket.status, 200);
    const play = async () => (await fetch(`${t.baseUrl}${ticket.body.url as string}`)).status;
    assert.equal(await play(), 200, 'the ticket plays before offboarding');
    assert.equal((await t.api('/api/v1/me', { token: supervisor })).status, 200);
    assert.equal((await t.api('/api/v1/calls', { token: supervisor })).status, 200);
    assert.equal((await t.api('/api/v1/me', { token: agentToken })).status, 200);
    return { id, supervisor, agentToken, supervisorFeed, agentFeed, play };
  }

  const refused = async (token: string) => {
    assert.equal((await t.api('/api/v1/me', { token })).status, 401);
    assert.equal((await t.api('/api/v1/calls', { token })).status, 401);
    await assert.rejects(FeedClient.connect(t.baseUrl, token, { inQuery: true }), /401/, 'a new live feed is refused');
  };

  it('a deleted agent: every token bound to them stops working', async () => {
    const s = await supervisorWithTokens();
    const removed = await t.api(`/api/v1/agents/${s.id}`, { method: 'DELETE' });
    assert.deepEqual([removed.status, removed.body.deleted], [200, true]);
    await refused(s.supervisor);
    await refused(s.agentToken);
    assert.equal(await s.play(), 401, 'the playback ticket died');
    await waitFor(() => s.supervisorFeed.closedWith === 4001 && s.agentFeed.closedWith === 4001, 2000, 'the open live feeds were not closed');
    const tokens = (await t.api('/api/v1/tokens')).body as Array<{ agentId: string; revokedAt: string | null }>;
    assert.ok(tokens.filter((x) => x.agentId === s.id).every((x) => x.revokedAt), 'both tokens are listed as revoked');
    const logged = logLines.map((l) => JSON.parse(l) as { msg: string; agentId?: string; change?: string; tokenIds?: string[] });
    const revocation = logged.find((l) => l.msg.startsWith('tokens revoked') && l.agentId === s.id);
    assert.equal(revocation?.change, 'deleted', 'the revocation is logged with the agent and why');
    assert.equal(revocation?.tokenIds?.length, 2);
    assert.ok(logLines.every((l) => !l.includes(s.supervisor) && !l.includes(s.agentToken)), 'never the secrets');
  });

  it('a deactivated agent: every token bound to them stops working', async () => {
    const s = await supervisorWithTokens();
    // History (a state change) makes DELETE deactivate instead of delete.
    const login = await t.api(`/api/v1/agents/${s.id}/login`, { method: 'POST', json: { extension: '1009' } });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal((await t.api(`/api/v1/agents/${s.id}/logout`, { method: 'POST' })).status, 200);
    const removed = await t.api(`/api/v1/agents/${s.id}`, { method: 'DELETE' });
    assert.deepEqual([removed.status, removed.body.deleted, removed.body.agent.active], [200, false, false]);
    await refused(s.supervisor);
    await refused(s.agentToken);
    assert.equal(await s.play(), 401, 'the playback ticket died');
    await waitFor(() => s.supervisorFeed.closedWith === 4001 && s.agentFeed.closedWith === 4001, 2000, 'the open live feeds were not closed');
  });

  it('a supervisor no longer a supervisor: the supervisor token stops working, the agent token goes on', async () => {
    const s = await supervisorWithTokens();
    assert.equal((await t.api(`/api/v1/agents/${s.id}`, { method: 'PATCH', json: { isSupervisor: false } })).status, 200);
    await refused(s.supervisor);
    assert.equal(await s.play(), 401, 'the playback ticket died');
    await waitFor(() => s.supervisorFeed.closedWith === 4001, 2000, 'the supervisor\'s live feed was not closed');
    assert.equal((await t.api('/api/v1/me', { token: s.agentToken })).status, 200, 'the agent token still works');
    assert.equal(s.agentFeed.closedWith, undefined, 'the agent token\'s feed stays open');
    // Made a supervisor again, the revoked token stays revoked.
    assert.equal((await t.api(`/api/v1/agents/${s.id}`, { method: 'PATCH', json: { isSupervisor: true } })).status, 200);
    assert.equal((await t.api('/api/v1/me', { token: s.supervisor })).status, 401);
  });

  it('refuses a bound token whose agent was deactivated behind the service\'s back, and revokes it', async () => {
    const s = await supervisorWithTokens();
    await sql`update agents set active = false, deactivated_at = now() where id = ${s.id}`.execute(t.app.database.db);
    assert.equal((await t.api('/api/v1/me', { token: s.supervisor })).status, 401);
    assert.equal(await s.play(), 401, 'the playback ticket is refused');
    await waitFor(() => s.supervisorFeed.closedWith === 4001, 2000, 'the live feed was not closed once the token was refused');
  });
});
