import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { sine, toneLevels } from '../phones/audio.js';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { writeWav } from '../../src/prompts/wav.js';
import { pcmOf } from '../../src/recording/wav-edit.js';
import type { DomainEvents } from '../../src/core/events.js';
import { adminToken, resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

/** Each prompt of the survey is a tone of its own, so the caller's phone tells which it hears. */
const tones = { s500: 500, s700: 700, s900: 900, s1100: 1100, s1300: 1300, s1500: 1500 } as const;
const survey = {
  intro: ['prompt:s500'],
  questions: [
    { id: 'agent', prompt: ['prompt:s700'], scale: '1-5', timeoutMs: 4000 },
    { id: 'recommend', prompt: ['prompt:s900'], scale: '0-10', timeoutMs: 4000 },
  ],
  comment: { prompt: ['prompt:s1100'], maxSeconds: 6 },
  thanks: ['prompt:s1300'],
};

/**
 * Post-call surveys on the lab: the agent hangs up first, the caller's
 * phone hears the survey and keys answers (RFC 2833), the answers are
 * stored as keyed; a caller who hangs up halfway keeps the answers given;
 * an opt-in at the IVR, and a restart of centralita mid-survey.
 */
describe('post-call surveys on the lab', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  let desk: TestPhone;
  let ana = '';
  let surveyId = '';
  const completed: DomainEvents['survey.completed'][] = [];

  const stateOf = async () => (await t.api(`/api/v1/agents/${ana}/state`)).body.status as string;
  const hears = (call: Call, hz: number, since?: number) => call.waitForTone(hz, { since, timeoutMs: 10_000, threshold: 0.4 });
  const listen = () => t.app.bus.on('survey.completed', (done) => completed.push(done));
  /** A caller reaches ana through the DID and she answers; returns both sides, and the call's id. */
  const connect = async (did: string, user: string, beforeQueue?: (call: Call) => Promise<void>) => {
    const phone = await TestPhone.start({ user });
    phones.push(phone);
    const ringing = desk.waitForIncoming(15_000);
    const caller = await phone.call(did);
    await beforeQueue?.(caller);
    const agent = await (await ringing).answer();
    await waitFor(async () => (await stateOf()) === 'on_call', 5000, 'ana not on_call');
    // Talking: the agent hears the caller (the bridge is made; hanging up before it is another case).
    caller.playTone(440);
    await agent.waitForTone(440, { timeoutMs: 5000, threshold: 0.4 });
    caller.stopTone();
    const callId = (await t.api('/api/v1/calls?limit=1')).body[0].id as string;
    return { caller, agent, callId };
  };
  const responsesOf = async (callId: string) => {
    await t.app.writes.drain();
    return (await t.api(`/api/v1/calls/${callId}/surveys`)).body as { status: string; completedAt: string | null; answers: { question: string; value: number }[]; commentRecordingId: string | null }[];
  };

  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    listen();
    for (const [name, hz] of Object.entries(tones)) {
      const res = await t.api(`/api/v1/prompts?name=${name}`, { method: 'POST', body: new Uint8Array(writeWav(sine(hz, 8000 * 0.8))), headers: { 'content-type': 'audio/wav' } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    desk = await TestPhone.start({ user: '1005', password: 'lab-1005' });
    await desk.register();
    phones.push(desk);
    ana = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1005', name: 'ana', pin: '1234', extension: '1005' } })).body.id;
    const created = await t.api('/api/v1/surveys', { method: 'POST', json: { name: 'csat', document: survey } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    surveyId = created.body.id;
    for (const [name, mode] of [['encuesta', 'always'], ['optin', 'opt_in']] as const) {
      const queue = await t.api('/api/v1/queues', {
        method: 'POST', json: { name, strategy: 'longest_idle', ringTimeoutSeconds: 10, wrapUpSeconds: 1, survey: { surveyId, mode, samplePercent: 100 } },
      });
      assert.equal(queue.status, 201, JSON.stringify(queue.body));
      await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId: ana }] } });
    }
    await routeDid(t, '5556001', { start: 'q', nodes: { q: { type: 'queue', queue: 'encuesta' } } });
    await routeDid(t, '5556002', {
      start: 'ask', nodes: { ask: { type: 'surveyOptIn', prompt: ['prompt:s1500'], timeoutMs: 4000, next: 'q' }, q: { type: 'queue', queue: 'optin' } },
    });
    await t.api(`/api/v1/agents/${ana}/login`, { method: 'POST' });
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('refuses a survey whose prompt was not uploaded, naming it', async () => {
    const res = await t.api('/api/v1/surveys', { method: 'POST', json: { name: 'bad', document: { ...survey, thanks: ['prompt:never_uploaded'] } } });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /thanks plays prompt:never_uploaded, but no prompt by that name was uploaded/);
  });

  it('the agent hangs up first: the caller hears the survey, keys answers and a comment, and the rows appear', async () => {
    const { caller, agent, callId } = await connect('5556001', '600700001');
    await agent.hangup();
    // The agent is free of the call (wrap-up, then available) while the caller answers.
    await waitFor(async () => ['wrap_up', 'available'].includes(await stateOf()), 5000, 'ana still on the call');
    await hears(caller, 500);
    await hears(caller, 700);
    await caller.sendDtmf('4');
    await hears(caller, 900, caller.mark());
    await caller.sendDtmf('9#');
    await hears(caller, 1100, caller.mark());
    // After the beep: the caller speaks (a 440 Hz tone), then # ends the comment.
    await new Promise((r) => setTimeout(r, 1200));
    caller.playTone(440);
    await new Promise((r) => setTimeout(r, 2000));
    caller.stopTone();
    await caller.sendDtmf('#');
    await hears(caller, 1300, caller.mark());
    await waitFor(() => !caller.isActive, 10_000, 'the caller was not hung up after the thank-you');

    const [response] = await responsesOf(callId);
    assert.equal(response!.status, 'completed');
    assert.deepEqual(response!.answers.map((a) => [a.question, a.value]), [['agent', 4], ['recommend', 9]]);
    const entry = (await sql<{ outcome: string }>`select outcome from queue_entries where call_id = ${callId}`.execute(t.app.database.db)).rows[0];
    assert.equal(entry!.outcome, 'answered');
    assert.equal(completed.at(-1)?.callId, callId, 'survey.completed was announced (webhooks)');

    // The comment is a recording of its own kind, played through the recordings API: the caller's 440 Hz is in it.
    const recording = await waitFor(async () => {
      const r = (await t.api(`/api/v1/recordings/${response!.commentRecordingId}`)).body;
      return r.status === 'complete' ? r : undefined;
    }, 10_000, 'the comment recording is not complete');
    assert.equal(recording.kind, 'survey_comment');
    const audio = await fetch(`${t.baseUrl}/api/v1/recordings/${recording.id}/audio`, { headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(audio.status, 200);
    const pcm = pcmOf(Buffer.from(await audio.arrayBuffer()));
    const [level] = toneLevels(new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.length)), [440]);
    assert.ok(level! > 0.3, `the comment holds what the caller said (440 Hz level ${level})`);
  });

  it('a caller who hangs up halfway keeps the answers given', async () => {
    const { caller, agent, callId } = await connect('5556001', '600700002');
    await agent.hangup();
    await hears(caller, 700);
    await caller.sendDtmf('2');
    await hears(caller, 900, caller.mark());
    await caller.hangup();
    const [response] = await waitFor(async () => {
      const rows = await responsesOf(callId);
      return rows[0]?.status === 'partial' ? rows : undefined;
    }, 5000, 'the response is not partial');
    assert.equal(response!.completedAt, null);
    assert.deepEqual(response!.answers.map((a) => [a.question, a.value]), [['agent', 2]]);
    const report = (await t.api(`/api/v1/reports/surveys?from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}&interval=hour`)).body.totals[0];
    assert.deepEqual([report.offered, report.completed, report.csatAnswers, report.csat], [2, 1, 2, 50]);
  });

  it('opt-in at the IVR, and a restart of centralita mid-survey: the survey goes on after the last answer', async () => {
    const { caller, agent, callId } = await connect('5556002', '600700003', async (call) => {
      await hears(call, 1500);
      await call.sendDtmf('1');
    });
    await agent.hangup();
    await hears(caller, 700).catch(async (err: Error) => {
      await t.app.writes.drain();
      const trace = (await t.api(`/api/v1/calls/${callId}/ivr-trace`)).body;
      const calls = (await t.api(`/api/v1/calls/${callId}`)).body;
      throw new Error(`${err.message}; caller active ${caller.isActive}; trace ${JSON.stringify(trace)}; call ${JSON.stringify(calls).slice(0, 1500)}; surveys ${JSON.stringify(await responsesOf(callId))}`);
    });
    await caller.sendDtmf('5');
    await hears(caller, 900, caller.mark());
    await t.app.writes.drain();
    await t.stop();
    t = await startTestApp();
    await t.app.agents.load();
    listen();
    // Taken up after the restart: asked the second question again, not routed to the queue again.
    await hears(caller, 900, caller.mark());
    await caller.sendDtmf('10');
    await hears(caller, 1100, caller.mark());
    await caller.sendDtmf('#');
    await hears(caller, 1300, caller.mark());
    await waitFor(() => !caller.isActive, 10_000, 'the caller was not hung up after the thank-you');
    const responses = await responsesOf(callId);
    assert.equal(responses.length, 1);
    assert.equal(responses[0]!.status, 'completed');
    assert.deepEqual(responses[0]!.answers.map((a) => [a.question, a.value]), [['agent', 5], ['recommend', 10]]);
    const entries = (await sql<{ n: string }>`select count(*) as n from queue_entries where call_id = ${callId}`.execute(t.app.database.db)).rows[0];
    assert.equal(Number(entries!.n), 1, 'the caller was not queued again');
  });
});
