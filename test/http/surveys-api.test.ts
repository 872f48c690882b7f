import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { adminToken } from '../support/harness.js';

const survey = {
  questions: [
    { id: 'agent', prompt: ['sound:x'], scale: '1-5' },
    { id: 'recommend', prompt: ['sound:x'], scale: '0-10' },
    { id: 'solved', prompt: ['sound:x'], scale: 'yes_no' },
  ],
  thanks: ['sound:auth-thankyou'],
};

/**
 * The surveys API (documents, who offers them, responses) and the survey
 * report from rollups and from the raw responses, on the fast tier. The
 * survey heard and keyed at a phone is test/integration/surveys.test.ts.
 */
describe('surveys API and report', () => {
  let t: FastApp;
  before(async () => { t = await startFastApp(); });
  after(async () => { await t?.stop(); });
  const count = async (table: string) => Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(t.app.database.db)).rows[0]!.n);

  it('refuses bad documents naming each problem (a prompt not uploaded by name), and stores nothing', async () => {
    const cases: [unknown, RegExp][] = [
      [{ name: 'csat', document: { ...survey, questions: [{ id: 'q', prompt: ['prompt:not-uploaded'], scale: '1-5' }] } }, /questions\[0\]\.prompt plays prompt:not-uploaded, but no prompt by that name was uploaded/],
      [{ name: 'csat', document: { ...survey, questions: [{ id: 'q', prompt: ['sound:x'], scale: '1-9' }] } }, /questions\[0\]\.scale must be one of/],
      [{ name: 'csat', document: { ...survey, thanks: undefined } }, /thanks must be a non-empty list/],
      [{ name: '', document: survey }, /body\/name/],
      [{ name: 'csat', document: survey, extra: true }, /body/],
    ];
    for (const [json, message] of cases) {
      const res = await t.api('/api/v1/surveys', { method: 'POST', json });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.body.error.message, message);
    }
    assert.equal(await count('surveys'), 0);
    assert.equal((await t.api('/api/v1/surveys/check', { method: 'POST', json: { document: { ...survey, intro: ['prompt:nope'] } } })).body.problems[0], 'intro plays prompt:nope, but no prompt by that name was uploaded');
  });

  it('keeps versions, checks roles and ids, and refuses to delete a survey a queue offers', async () => {
    const created = await t.api('/api/v1/surveys', { method: 'POST', json: { name: 'csat', document: survey } });
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    assert.equal((await t.api('/api/v1/surveys', { method: 'POST', json: { name: 'csat', document: survey } })).status, 409);
    const saved = await t.api(`/api/v1/surveys/${id}`, { method: 'PUT', json: { document: { ...survey, language: 'en' } } });
    assert.equal(saved.body.currentVersion, 2);
    assert.equal((await t.api(`/api/v1/surveys/${id}/versions/1`)).body.document.language, undefined);
    assert.equal((await t.api(`/api/v1/surveys/${id}/versions`)).body.length, 2);
    assert.equal((await t.api(`/api/v1/surveys/${id}`, { method: 'PUT', json: {} })).status, 400);

    const supervisor = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'sup', role: 'supervisor' } })).body.token;
    assert.equal((await t.api('/api/v1/surveys', { token: supervisor })).status, 200);
    assert.equal((await t.api('/api/v1/surveys', { method: 'POST', token: supervisor, json: { name: 'x', document: survey } })).status, 403);
    assert.equal((await t.api('/api/v1/surveys', { token: null })).status, 401);
    assert.equal((await t.api(`/api/v1/surveys/${randomUUID()}`)).status, 404);
    assert.equal((await t.api('/api/v1/surveys/nope')).status, 400);
    assert.equal((await t.api(`/api/v1/calls/${randomUUID()}/surveys`)).status, 404);

    const queue = (await t.api('/api/v1/queues', { method: 'POST', json: { name: 'ventas', strategy: 'longest_idle' } })).body;
    assert.equal(queue.survey, null);
    const unknown = await t.api(`/api/v1/queues/${queue.id}`, { method: 'PATCH', json: { survey: { surveyId: randomUUID(), mode: 'always', samplePercent: 100 } } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /body\/survey\/surveyId: no survey/);
    const badMode = await t.api(`/api/v1/queues/${queue.id}`, { method: 'PATCH', json: { survey: { surveyId: id, mode: 'sometimes', samplePercent: 100 } } });
    assert.equal(badMode.status, 400);
    assert.equal((await t.api(`/api/v1/queues/${queue.id}`)).body.survey, null, 'nothing changed');
    const offer = { surveyId: id, mode: 'always', samplePercent: 50 };
    assert.deepEqual((await t.api(`/api/v1/queues/${queue.id}`, { method: 'PATCH', json: { survey: offer } })).body.survey, offer);

    const flow = (await t.api('/api/v1/ivr-flows', { method: 'POST', json: { name: 'f', document: { start: 'q', nodes: { q: { type: 'queue', queue: 'ventas' } } } } })).body;
    const route = await t.api('/api/v1/routes/5551234', { method: 'PUT', json: { flowId: flow.id, survey: { ...offer, mode: 'opt_in' } } });
    assert.equal(route.status, 200, JSON.stringify(route.body));
    assert.equal(route.body.survey.mode, 'opt_in');
    assert.equal((await t.api('/api/v1/routes/5551234', { method: 'PUT', json: { flowId: flow.id, survey: { ...offer, surveyId: randomUUID() } } })).status, 400);

    const refused = await t.api(`/api/v1/surveys/${id}`, { method: 'DELETE' });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /queue ventas, route 5551234/);
    await t.api(`/api/v1/queues/${queue.id}`, { method: 'PATCH', json: { survey: null } });
    await t.api('/api/v1/routes/5551234', { method: 'PUT', json: { flowId: flow.id } });
    const other = (await t.api('/api/v1/surveys', { method: 'POST', json: { name: 'spare', document: survey } })).body;
    assert.equal((await t.api(`/api/v1/surveys/${other.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await t.api(`/api/v1/surveys/${other.id}`)).status, 404);
  });

  it('reports CSAT, NPS, response rate and averages per queue and agent, the rollups equal to the raw responses, as JSON and CSV', async () => {
    const db = t.app.database.db;
    const surveyId = (await t.api('/api/v1/surveys')).body.find((s: { name: string }) => s.name === 'csat').id as string;
    const queueId = (await t.api('/api/v1/queues')).body[0].id as string;
    const agent = (await t.api('/api/v1/agents', { method: 'POST', json: { name: 'Ana', number: '7001', pin: '1234', team: 'norte' } })).body;
    const at = new Date('2026-11-30T10:05:00Z');
    // Six responses: CSAT answers 5, 4, 2, 5 (3 of 4 positive: 75 %); NPS 10, 9, 3 (2 promoters, 1 detractor of 3: 33.3);
    // five completed of six offered; one with a comment.
    const given: [number | null, number | null, number | null, boolean][] = [[5, 10, 1, true], [4, 9, 1, true], [2, 3, 0, true], [5, null, null, true], [null, null, null, true], [null, null, null, false]];
    for (const [i, [csat, nps, solved, completed]] of given.entries()) {
      const callId = randomUUID();
      await sql`insert into calls (id, channel_id, direction, started_at, ended_at, end_reason) values (${callId}, ${`s-${callId}`}, 'inbound', ${at}, ${at}, 'hangup')`.execute(db);
      const responseId = randomUUID();
      await sql`insert into survey_responses (id, survey_id, survey_version, call_id, channel_id, queue_id, agent_id, mode, language, offered_at, completed_at, comment_recording_id)
        values (${responseId}, ${surveyId}, 2, ${callId}, ${`s-${callId}`}, ${queueId}, ${agent.id}, 'always', 'es', ${new Date(at.getTime() + i * 60_000)},
          ${completed ? new Date(at.getTime() + i * 60_000 + 30_000) : null}, ${i === 0 ? randomUUID() : null})`.execute(db);
      for (const [position, question, scale, measure, value] of [[1, 'agent', '1-5', 'csat', csat], [2, 'recommend', '0-10', 'nps', nps], [3, 'solved', 'yes_no', null, solved]] as const) {
        if (value === null) continue;
        await sql`insert into survey_answers (response_id, position, question, scale, measure, value, answered_at) values (${responseId}, ${position}, ${question}, ${scale}, ${measure}, ${value}, ${at})`.execute(db);
      }
    }
    const query = 'from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z&interval=day&timezone=UTC';
    const rollup = (await t.api(`/api/v1/reports/surveys?${query}`)).body;
    const raw = (await t.api(`/api/v1/reports/surveys?${query}&source=raw`)).body;
    assert.deepEqual(rollup, raw, 'the rollups give what the raw responses give');
    assert.equal(rollup.rows.length, 1);
    const row = rollup.totals[0];
    assert.equal(row.key, queueId);
    assert.equal(row.name, 'ventas');
    assert.deepEqual(
      { offered: row.offered, completed: row.completed, answered: row.answered, responseRate: row.responseRate, csat: row.csat, csatAnswers: row.csatAnswers, nps: row.nps, npsAnswers: row.npsAnswers, comments: row.comments },
      { offered: 6, completed: 5, answered: 4, responseRate: 83.3, csat: 75, csatAnswers: 4, nps: 33.3, npsAnswers: 3, comments: 1 });
    assert.deepEqual(row.questions.map((q: { question: string; average: number; answers: number }) => [q.question, q.answers, q.average]), [['agent', 4, 4], ['recommend', 3, 7.33], ['solved', 3, 0.67]]);

    const byTeam = (await t.api(`/api/v1/reports/surveys?${query}&by=team`)).body.totals[0];
    assert.equal(byTeam.key, 'norte');
    assert.equal(byTeam.csat, 75);
    assert.equal((await t.api(`/api/v1/reports/surveys?${query}&by=agent&agent=${randomUUID()}`)).body.rows.length, 0);
    const csv = await fetch(`${t.baseUrl}/api/v1/reports/surveys?${query}&by=agent&format=csv`, { headers: { authorization: `Bearer ${adminToken}` } });
    const lines = (await csv.text()).trim().split('\r\n');
    assert.equal(lines[0], 'period,key,name,offered,completed,answered,responseRate,csat,csatAnswers,nps,npsAnswers,comments,q1Average,q2Average,q3Average,q4Average,q5Average');
    assert.equal(lines[1], `2026-11-30T00:00:00.000Z,${agent.id},Ana,6,5,4,83.3,75,4,33.3,3,1,4,7.33,0.67,,`);
    assert.equal((await t.api(`/api/v1/reports/surveys?${query}&by=nobody`)).status, 400);
    // The agent report carries the agent's CSAT (Ana logged in that morning).
    await sql`insert into agent_state_events (agent_id, from_state, to_state, source, at) values (${agent.id}, 'logged_out', 'available', 'api', ${new Date('2026-11-30T09:00:00Z')})`.execute(db);
    for (const source of ['rollup', 'raw']) {
      const ana = (await t.api(`/api/v1/reports/agents?${query}&source=${source}`)).body.totals.find((r: { agentId: string }) => r.agentId === agent.id);
      assert.deepEqual([ana.csat, ana.csatAnswers], [75, 4], source);
    }

    // A late answer (the write queue after an outage) changes the rollup's figures on the next read.
    const partial = (await t.api(`/api/v1/survey-responses?from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z`)).body;
    assert.equal(partial.length, 6);
    const unanswered = partial.find((r: { answers: unknown[]; completedAt: string | null }) => r.answers.length === 0 && r.completedAt === null);
    assert.equal(unanswered.status, 'partial');
    await sql`insert into survey_answers (response_id, position, question, scale, measure, value, answered_at) values (${unanswered.id}, 1, 'agent', '1-5', 'csat', 1, ${at})`.execute(db);
    assert.equal((await t.api(`/api/v1/reports/surveys?${query}`)).body.totals[0].csat, 60);
    assert.deepEqual((await t.api(`/api/v1/calls/${unanswered.callId}/surveys`)).body[0].answers.map((a: { value: number }) => a.value), [1]);

    // The wallboard's figures: today's CSAT per queue (the days before do not count).
    const live = async () => (await t.api('/api/v1/stats/live')).body.queues.find((q: { queueId: string }) => q.queueId === queueId).today;
    assert.deepEqual([(await live()).csat, (await live()).csatAnswers], [null, 0]);
    const today = randomUUID();
    await sql`insert into calls (id, channel_id, direction, started_at) values (${today}, ${`s-${today}`}, 'inbound', now())`.execute(db);
    const responseId = randomUUID();
    await sql`insert into survey_responses (id, survey_id, survey_version, call_id, channel_id, queue_id, mode, language, offered_at)
      values (${responseId}, ${surveyId}, 2, ${today}, ${`s-${today}`}, ${queueId}, 'always', 'es', now())`.execute(db);
    await sql`insert into survey_answers (response_id, position, question, scale, measure, value, answered_at) values (${responseId}, 1, 'agent', '1-5', 'csat', 4, now())`.execute(db);
    assert.deepEqual([(await live()).csat, (await live()).csatAnswers], [100, 1]);
  });
});
