import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tonesPresent } from '../phones/audio.js';
import { behaviourOf, PstnEmulator, PSTN_VOICE_HZ, type PstnBehaviour } from '../phones/pstn.js';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { resetDatabase, startTestApp, waitFor, type TestApp } from '../support/harness.js';
import { sineWav } from '../support/tone-wav.js';

const AGENT_HZ = 1000;
const MESSAGE_HZ = 440;

/** What each behaviour of the PSTN emulator must leave a contact as, with the campaign's retry rules below. */
const expected: Record<PstnBehaviour, { state: string; attempts: number; lastOutcome: string }> = {
  person: { state: 'done', attempts: 1, lastOutcome: 'answered' },
  busy: { state: 'failed', attempts: 2, lastOutcome: 'busy' }, // busy: 2 calls, no delay
  no_answer: { state: 'failed', attempts: 1, lastOutcome: 'no_answer' },
  machine: { state: 'failed', attempts: 1, lastOutcome: 'machine' },
  invalid: { state: 'failed', attempts: 1, lastOutcome: 'failed' },
  hangs_up: { state: 'failed', attempts: 1, lastOutcome: 'no_answer' }, // answered and gone during AMD
  congestion: { state: 'failed', attempts: 1, lastOutcome: 'failed' },
};

/**
 * A progressive campaign of 50 contacts dialled to the PSTN emulator by
 * five agents in sessions: every contact ends in the state its outcome
 * gives, nothing is dialled out of hours or to a listed number, machines
 * get the message after the beep, and persons hear the agent both ways.
 */
describe('campaigns on the lab: a progressive campaign of 50 contacts', () => {
  let t: TestApp;
  let pstn: PstnEmulator;
  const phones: TestPhone[] = [];
  const agentCalls: Call[] = [];
  const agentIds: string[] = [];
  let campaignId = '';
  // A clock we set, moving on with real time: tomorrow 09:00 UTC (10:00 in Madrid, 23:00 the day before in
  // Honolulu). Ahead of the real time, so what the import made due now is due on it too.
  const start = Date.now();
  const tomorrow = new Date(start + 86_400_000);
  const base = Date.UTC(tomorrow.getUTCFullYear(), tomorrow.getUTCMonth(), tomorrow.getUTCDate(), 9);
  const clock = () => new Date(base + (Date.now() - start));

  // 50 numbers: 12 persons, 8 busy, 1 not answering (it rings 25 s), 5 machines, 8 invalid, 8 who hang up at once, 8 congested.
  const lastDigits = [...'0789'.repeat(3), ...'11111111', '2', ...'33333', ...'44444444', ...'55555555', ...'66666666'];
  const numbers = lastDigits.map((d, i) => `+3461${String(1000 + i).padStart(6, '0')}${d}`);
  const outOfHours = '+34699000010'; // its time zone is Honolulu's: midnight there
  const listedGlobally = '+34699000020';
  const listedInCampaign = '+34699000030';

  before(async () => {
    pstn = await PstnEmulator.start({ personTalkMs: 1500 });
    t = await startTestApp({}, { clock });
    await resetDatabase(t.app);
    await t.app.agents.load();
    const wav = sineWav({ hz: MESSAGE_HZ, rate: 8000, channels: 1, seconds: 1 });
    assert.equal((await t.api('/api/v1/prompts?name=cobros-mensaje', { method: 'POST', body: new Uint8Array(wav), headers: { 'content-type': 'audio/wav' } })).status, 201);
    for (const ext of ['1001', '1002', '1003', '1004', '1005']) {
      const phone = await TestPhone.start({ user: ext, password: `lab-${ext}` });
      await phone.register();
      phones.push(phone);
      const agent = await t.api('/api/v1/agents', { method: 'POST', json: { number: ext, name: `agente ${ext}`, pin: '1234', extension: ext } });
      assert.equal(agent.status, 201, JSON.stringify(agent.body));
      agentIds.push(agent.body.id);
    }
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'cobros', strategy: 'longest_idle', ringTimeoutSeconds: 10, wrapUpSeconds: 0, maxWaitSeconds: 120 } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: agentIds.map((agentId) => ({ agentId })) } });
    const campaign = await t.api('/api/v1/campaigns', { method: 'POST', json: {
      name: 'cobros-diciembre', queueId: queue.body.id, callerId: '+34910000000', mode: 'progressive',
      hours: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ['09:00-21:00']])),
      defaultRegion: 'ES', defaultTimezone: 'Europe/Madrid',
      amd: { action: 'message', messagePrompt: 'cobros-mensaje' },
      retry: { busy: { maxAttempts: 2, delayMinutes: 0 }, no_answer: { maxAttempts: 1, delayMinutes: 0 }, machine: { maxAttempts: 1, delayMinutes: 0 } },
    } });
    assert.equal(campaign.status, 201, JSON.stringify(campaign.body));
    campaignId = campaign.body.id;
    const csv = ['number,name,timezone,deuda', ...numbers.map((n, i) => `${n},Cliente ${i},,${100 + i}`),
      `${outOfHours},Lejos,Pacific/Honolulu,5`, `${listedGlobally},Vetado,,5`, `${listedInCampaign},Vetada,,5`].join('\r\n');
    const list = await t.api(`/api/v1/campaigns/${campaignId}/lists?name=diciembre`, { method: 'POST', body: csv, headers: { 'content-type': 'text/csv' } });
    assert.equal(list.status, 201, JSON.stringify(list.body));
    assert.equal((await t.api('/api/v1/dnc', { method: 'POST', json: { number: listedGlobally } })).status, 201);
    assert.equal((await t.api(`/api/v1/campaigns/${campaignId}/dnc`, { method: 'POST', json: { number: listedInCampaign } })).status, 201);
    for (const id of agentIds) assert.equal((await t.api(`/api/v1/agents/${id}/login`, { method: 'POST' })).status, 200);
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
    await pstn?.close();
  });

  it('agents join: each phone rings once and stays connected; not a member is refused', async () => {
    for (const [i, agentId] of agentIds.entries()) {
      const rings = phones[i]!.waitForIncoming(10_000);
      const joined = await t.api(`/api/v1/campaigns/${campaignId}/sessions`, { method: 'POST', json: { agentId } });
      assert.equal(joined.status, 202, JSON.stringify(joined.body));
      const call = await (await rings).answer();
      call.playTone(AGENT_HZ);
      agentCalls.push(call);
    }
    await waitFor(async () => (await t.api(`/api/v1/campaigns/${campaignId}/live`)).body.sessions.every((s: { state: string }) => s.state !== 'ringing'), 5000, 'sessions not up');
    const again = await t.api(`/api/v1/campaigns/${campaignId}/sessions`, { method: 'POST', json: { agentId: agentIds[0] } });
    assert.equal(again.status, 409);
    // The wallboard's cards: a campaign with agents in it, though not started yet.
    const cards = (await t.api('/api/v1/campaigns/live')).body as { campaignId: string; state: string; sessions: unknown[]; agentsWaiting: number }[];
    assert.deepEqual(cards.map((c) => [c.campaignId, c.state, c.sessions.length, c.agentsWaiting]), [[campaignId, 'draft', 5, 5]]);
  });

  it('dials every contact in hours and off the lists; each ends in the state its outcome gives', async () => {
    assert.equal((await t.api(`/api/v1/campaigns/${campaignId}/start`, { method: 'POST' })).status, 200);
    // The first person put through hears the agent, and the agent the person.
    const first = await pstn.waitForCall(numbers[0]!, 20_000);
    await first.call!.waitForTone(AGENT_HZ, { timeoutMs: 8000 });
    await waitFor(async () => {
      const c = (await t.api(`/api/v1/campaigns/${campaignId}`)).body;
      const live = (await t.api(`/api/v1/campaigns/${campaignId}/live`)).body;
      return c.contacts.remaining === 1 && live.dialling === 0 && live.talking === 0;
    }, 150_000, 'the campaign did not get through its contacts');
    // What reaches an agent's phone in a session is the persons they were put through to.
    const heardPerson = agentCalls.filter((c) => tonesPresent(c.received(), [PSTN_VOICE_HZ], 0.3).length === 1).length;
    assert.ok(heardPerson >= 2, `the agents heard the persons (${heardPerson} of 5 agents)`);

    const contacts = (await t.api(`/api/v1/campaigns/${campaignId}/contacts?limit=100`)).body as { number: string; state: string; attempts: number; lastOutcome: string | null }[];
    const byNumber = new Map(contacts.map((c) => [c.number, c]));
    const wrong: string[] = [];
    for (const number of numbers) {
      const want = expected[behaviourOf(number).behaviour];
      const got = byNumber.get(number);
      if (got?.state !== want.state || got.attempts !== want.attempts || got.lastOutcome !== want.lastOutcome) {
        wrong.push(`${number} (${behaviourOf(number).behaviour}): ${JSON.stringify(got)} instead of ${JSON.stringify(want)}`);
      }
    }
    assert.deepEqual(wrong, [], 'every contact in the state its outcome gives');
    assert.deepEqual([byNumber.get(outOfHours)?.state, byNumber.get(outOfHours)?.attempts], ['pending', 0], 'out of hours: not called');
    for (const listed of [listedGlobally, listedInCampaign]) assert.equal(byNumber.get(listed)?.state, 'dnc');

    // What the emulator got: each number dialled as often as its attempts, never the others.
    const dialled = new Map<string, number>();
    for (const c of pstn.calls) dialled.set(c.number, (dialled.get(c.number) ?? 0) + 1);
    for (const number of numbers) assert.equal(dialled.get(number), expected[behaviourOf(number).behaviour].attempts, `${number} dialled`);
    for (const never of [outOfHours, listedGlobally, listedInCampaign]) assert.equal(dialled.get(never), undefined, `${never} was dialled`);
    assert.ok(pstn.calls.every((c) => c.callerId === '+34910000000'), 'the campaign\'s caller ID on every call');

    // A machine got the campaign's message after its beep.
    const machine = pstn.calls.find((c) => c.behaviour === 'machine' && c.call)!;
    assert.deepEqual(tonesPresent(machine.call!.received(), [MESSAGE_HZ], 0.3), [MESSAGE_HZ], 'the message was left on the machine');
    // Nobody was abandoned in progressive mode, and the agents are waiting again.
    assert.ok(contacts.every((c) => c.lastOutcome !== 'abandoned'));
    const live = (await t.api(`/api/v1/campaigns/${campaignId}/live`)).body;
    assert.equal(live.agentsWaiting, 5);
  });

  it('predictive: the pacer takes over the dialling; while it learns it dials 1:1 and the live view says why', async () => {
    assert.equal((await t.api(`/api/v1/campaigns/${campaignId}/pause`, { method: 'POST' })).status, 200);
    assert.equal((await t.api(`/api/v1/campaigns/${campaignId}`, { method: 'PATCH', json: { mode: 'predictive', abandonPrompt: 'cobros-mensaje' } })).status, 200);
    const more = Array.from({ length: 10 }, (_, i) => `+3462${String(2000 + i).padStart(6, '0')}${i % 2 === 0 ? '8' : '9'}`);
    const list = await t.api(`/api/v1/campaigns/${campaignId}/lists?name=predictivo`, { method: 'POST', body: ['number', ...more].join('\r\n'), headers: { 'content-type': 'text/csv' } });
    assert.equal(list.status, 201, JSON.stringify(list.body));
    assert.equal((await t.api(`/api/v1/campaigns/${campaignId}/start`, { method: 'POST' })).status, 200);
    await waitFor(async () => {
      const c = (await t.api(`/api/v1/campaigns/${campaignId}`)).body;
      const live = (await t.api(`/api/v1/campaigns/${campaignId}/live`)).body;
      return c.contacts.remaining === 1 && live.dialling === 0 && live.talking === 0;
    }, 60_000, 'the predictive list was not called');
    const live = (await t.api(`/api/v1/campaigns/${campaignId}/live`)).body;
    assert.equal(live.pacing?.state, 'learning', JSON.stringify(live.pacing));
    assert.ok(live.pacing.reason.length > 10, live.pacing.reason);
    const contacts = (await t.api(`/api/v1/campaigns/${campaignId}/contacts?limit=200`)).body as { number: string; state: string; lastOutcome: string | null }[];
    for (const number of more) assert.equal(contacts.find((c) => c.number === number)?.state, 'done', `${number} done`);
    assert.ok(contacts.every((c) => c.lastOutcome !== 'abandoned'), 'learning dials 1:1: nobody abandoned');
  });

  it('wrap-up codes on campaign calls, set during the call or in the wrap-up after it, do to the contact what the campaign says', async () => {
    assert.equal((await t.api(`/api/v1/campaigns/${campaignId}/pause`, { method: 'POST' })).status, 200);
    const { queueId } = (await t.api(`/api/v1/campaigns/${campaignId}`)).body;
    const dispositions = [{ code: '1', label: 'Pago prometido' }, { code: '2', label: 'No llamar más' }, { code: '3', label: 'Llamar otro día' }];
    assert.equal((await t.api(`/api/v1/queues/${queueId}`, { method: 'PATCH', json: { dispositions, wrapUpSeconds: 30 } })).status, 200);
    const actions = { 2: { action: 'dnc' }, 3: { action: 'retry', delayMinutes: 120 } };
    assert.equal((await t.api(`/api/v1/campaigns/${campaignId}`, { method: 'PATCH', json: { mode: 'progressive', dispositionActions: actions } })).status, 200);
    const [during, afterwards] = ['+34623000010', '+34623000028'];
    const list = await t.api(`/api/v1/campaigns/${campaignId}/lists?name=codigos`, { method: 'POST', body: ['number', during, afterwards].join('\r\n'), headers: { 'content-type': 'text/csv' } });
    assert.equal(list.status, 201, JSON.stringify(list.body));
    pstn.options.personTalkMs = 6000; // time to set a code while the person talks
    try {
      assert.equal((await t.api(`/api/v1/campaigns/${campaignId}/start`, { method: 'POST' })).status, 200);
      /** The agent put through to a number's call, once they are on it. */
      const agentOn = async (number: string): Promise<{ agentId: string; callId: string }> => waitFor(async () => {
        const contacts = (await t.api(`/api/v1/campaigns/${campaignId}/contacts?limit=200`)).body as { id: string; number: string }[];
        const contact = contacts.find((c) => c.number === number)!;
        const attempt = (await t.api(`/api/v1/campaigns/${campaignId}/contacts/${contact.id}`)).body.history.find((a: { agentId: string | null }) => a.agentId);
        if (!attempt?.agentId) return undefined;
        const state = (await t.api(`/api/v1/agents/${attempt.agentId}/state`)).body;
        return state.status === 'on_call' && state.callId ? { agentId: attempt.agentId as string, callId: state.callId as string } : undefined;
      }, 20_000, `no agent on the call to ${number}`);
      const first = await agentOn(during);
      // The desk shows the campaign's queue's codes for the call.
      const desk = (await t.api(`/api/v1/agents/${first.agentId}/call`)).body;
      assert.deepEqual(desk.handling?.dispositions.map((d: { code: string }) => d.code), ['1', '2', '3'], JSON.stringify(desk.handling));
      assert.equal((await t.api(`/api/v1/calls/${first.callId}/disposition`, { method: 'PUT', json: { code: '9' } })).status, 400, 'a code the queue lacks');
      const set = await t.api(`/api/v1/calls/${first.callId}/disposition`, { method: 'PUT', json: { code: '2' } });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const second = await agentOn(afterwards);
      await waitFor(async () => (await t.api(`/api/v1/agents/${second.agentId}/state`)).body.status === 'wrap_up', 15_000, 'the second call did not end in wrap-up');
      assert.equal((await t.api(`/api/v1/calls/${second.callId}/disposition`, { method: 'PUT', json: { code: '3' } })).status, 200);
      for (const { agentId } of [first, second]) {
        await waitFor(async () => (await t.api(`/api/v1/agents/${agentId}/state`)).body.status !== 'on_call', 15_000, 'a call did not end');
        await t.api(`/api/v1/agents/${agentId}/ready`, { method: 'POST' });
      }
    } finally {
      pstn.options.personTalkMs = 1500;
    }
    await t.app.writes.drain();
    const contacts = (await t.api(`/api/v1/campaigns/${campaignId}/contacts?limit=200`)).body as { id: string; number: string; state: string; attempts: number; nextAttemptAt: string | null }[];
    const byNumber = (n: string) => contacts.find((c) => c.number === n)!;
    assert.deepEqual([byNumber(during).state, byNumber(during).attempts], ['dnc', 1], 'code 2 (during the call): on the do-not-call list');
    const listed = (await t.api(`/api/v1/campaigns/${campaignId}/dnc?number=${encodeURIComponent(during)}`)).body;
    assert.deepEqual(listed.map((d: { number: string; source: string }) => [d.number, d.source]), [[during, 'disposition']]);
    const retry = byNumber(afterwards);
    assert.deepEqual([retry.state, retry.attempts], ['retry', 1], 'code 3 (in the wrap-up): called again later');
    const inMinutes = (Date.parse(retry.nextAttemptAt!) - clock().getTime()) / 60_000;
    assert.ok(inMinutes > 118 && inMinutes <= 120, `retried in ${inMinutes} minutes`);
    for (const number of [during, afterwards]) {
      const history = (await t.api(`/api/v1/campaigns/${campaignId}/contacts/${byNumber(number).id}`)).body.history as { disposition: string | null; outcome: string }[];
      assert.deepEqual(history.map((a) => [a.outcome, a.disposition]), [['answered', number === during ? '2' : '3']]);
    }
  });

  it('the campaign report: attempts, connects, abandons, talk, wrap-up and codes by period, each agent\'s share, the list\'s penetration; JSON and CSV', async () => {
    const day = (offset: number) => new Date(base + offset * 86_400_000).toISOString().slice(0, 10);
    const query = `from=${day(-1)}&to=${day(1)}&interval=day&timezone=UTC&campaign=${campaignId}`;
    const report = await t.api(`/api/v1/reports/campaigns?${query}`);
    assert.equal(report.status, 200, JSON.stringify(report.body));
    const contacts = (await t.api(`/api/v1/campaigns/${campaignId}/contacts?limit=200`)).body as { id: string; attempts: number; state: string }[];
    const histories = await Promise.all(contacts.filter((c) => c.attempts > 0).map(async (c) => (await t.api(`/api/v1/campaigns/${campaignId}/contacts/${c.id}`)).body.history as { agentId: string | null; outcome: string; disposition: string | null }[]));
    const attempts = histories.flat();
    const [row, ...more] = report.body.rows;
    assert.deepEqual(more, [], 'one day, one campaign');
    assert.equal(row.period, `${day(0)}T00:00:00.000Z`);
    assert.equal(row.attempts, attempts.length);
    assert.equal(row.connects, attempts.filter((a) => a.agentId).length);
    assert.equal(row.machines, attempts.filter((a) => a.outcome === 'machine').length);
    assert.equal(row.busy, attempts.filter((a) => a.outcome === 'busy').length);
    assert.equal(row.abandoned, 0);
    assert.equal(row.abandonRate, 0);
    assert.equal(row.contactRate, Math.round((10000 * row.connects) / row.attempts) / 100);
    assert.deepEqual(row.dispositions, { 2: 1, 3: 1, unset: row.connects - 2 });
    assert.ok(row.talkTime > row.connects, `the persons talked (${row.talkTime} s over ${row.connects} connects)`);
    assert.ok(row.wrapUpTime > 0, 'the wrap-up after the codes test\'s calls');
    const agentConnects = report.body.agents.reduce((sum: number, a: { connects: number }) => sum + a.connects, 0);
    assert.equal(agentConnects, row.connects, 'the agents\' connects add up');
    const [totals] = report.body.totals;
    assert.deepEqual(totals.penetration, {
      contacts: contacts.length, attempted: contacts.filter((c) => c.attempts > 0).length,
      completed: contacts.filter((c) => ['done', 'dnc', 'failed'].includes(c.state)).length,
      remaining: contacts.filter((c) => !['done', 'dnc', 'failed'].includes(c.state)).length,
      attemptedPercent: Math.round((10000 * contacts.filter((c) => c.attempts > 0).length) / contacts.length) / 100,
    });
    assert.equal(totals.abandonRate30Days, 0);
    const csv = await t.api(`/api/v1/reports/campaigns?${query}&format=csv`);
    assert.equal(csv.status, 200);
    const [header, line, end] = (csv.body as string).split('\r\n');
    assert.equal(header, 'period,campaignId,campaign,attempts,answered,connects,machines,abandoned,busy,noAnswer,failed,contactRate,abandonRate,talkTime,wrapUpTime,dispositions');
    assert.match(line!, new RegExp(`^${day(0)}T00:00:00.000Z,${campaignId},cobros-diciembre,${row.attempts},.*,2:1 3:1 unset:${row.connects - 2}$`));
    assert.equal(end, '');
    assert.equal((await t.api(`/api/v1/reports/campaigns?${query.replace(campaignId, 'nope')}`)).status, 400);
  });

  it('an agent leaves: their phone is hung up and the session is gone', async () => {
    assert.equal((await t.api(`/api/v1/campaigns/${campaignId}/sessions/${agentIds[0]}`, { method: 'DELETE' })).status, 204);
    await agentCalls[0]!.ended;
    assert.equal((await t.api(`/api/v1/campaigns/${campaignId}/sessions/${agentIds[0]}`, { method: 'DELETE' })).status, 404);
    assert.equal((await t.api(`/api/v1/agents/${agentIds[0]}/state`)).body.status, 'available');
  });

  it('preview: the agent sees the next contact with its fields before anything is dialled, skips one, calls the next two from their phone', async () => {
    const agentId = agentIds[0]!;
    const phone = phones[0]!;
    const { queueId } = (await t.api(`/api/v1/campaigns/${campaignId}`)).body;
    const created = await t.api('/api/v1/campaigns', { method: 'POST', json: {
      name: 'cobros-vista-previa', queueId, callerId: '+34910000001', mode: 'preview',
      hours: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ['09:00-21:00']])),
      defaultRegion: 'ES', defaultTimezone: 'Europe/Madrid',
      retry: { busy: { maxAttempts: 1, delayMinutes: 0 } }, dispositionActions: { 3: { action: 'retry', delayMinutes: 120 } },
    } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    const [skipped, busy, person] = ['+34624000010', '+34624000021', '+34624000038'];
    const csv = ['number,name,deuda,vencimiento', `${skipped},Ana,120.50,2026-11-30`, `${busy},Bruno,80,2026-12-01`, `${person},Carmen,310,2026-12-15`].join('\r\n');
    assert.equal((await t.api(`/api/v1/campaigns/${id}/lists?name=previa`, { method: 'POST', body: csv, headers: { 'content-type': 'text/csv' } })).status, 201);
    const next = async () => (await t.api(`/api/v1/campaigns/${id}/preview`, { method: 'POST', json: { agentId } }));
    assert.equal((await next()).status, 409, 'not running yet');
    assert.equal((await t.api(`/api/v1/campaigns/${id}/start`, { method: 'POST' })).status, 200);
    const dialledBefore = pstn.calls.length;

    const first = await next();
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual([first.body.contact.number, first.body.contact.name, first.body.contact.fields], [skipped, 'Ana', { deuda: '120.50', vencimiento: '2026-11-30' }]);
    assert.equal((await next()).body.contact.id, first.body.contact.id, 'the agent keeps their contact until they call or skip it');
    const listed = (await t.api(`/api/v1/campaigns/preview?agentId=${agentId}`)).body;
    assert.deepEqual(listed.map((c: { name: string; contact: { number: string } | null }) => [c.name, c.contact?.number]), [['cobros-vista-previa', skipped]]);
    assert.equal(pstn.calls.length, dialledBefore, 'a preview dials nothing');
    assert.equal((await t.api(`/api/v1/campaigns/${id}/preview/skip`, { method: 'POST', json: { agentId } })).status, 204);

    // A busy number: the agent's phone rings first, then the number; the agent hears why.
    assert.equal((await next()).body.contact.number, busy);
    let rings = phone.waitForIncoming(10_000);
    assert.equal((await t.api(`/api/v1/campaigns/${id}/preview/call`, { method: 'POST', json: { agentId } })).status, 202);
    let agentCall = await (await rings).answer();
    await pstn.waitForCall(busy);
    await agentCall.ended;
    await waitFor(async () => (await t.api(`/api/v1/agents/${agentId}/state`)).body.status === 'available', 10_000, 'the agent was not available again');

    // A person: both hear each other; the code set during the call goes with the attempt's end.
    assert.equal((await next()).body.contact.number, person);
    pstn.options.personTalkMs = 6000;
    try {
      rings = phone.waitForIncoming(10_000);
      const placed = await t.api(`/api/v1/campaigns/${id}/preview/call`, { method: 'POST', json: { agentId } });
      assert.equal(placed.status, 202);
      agentCall = await (await rings).answer();
      const customer = await pstn.waitForCall(person);
      await agentCall.waitForTone(PSTN_VOICE_HZ, { timeoutMs: 8000 });
      agentCall.playTone(AGENT_HZ);
      await customer.call!.waitForTone(AGENT_HZ, { timeoutMs: 5000 });
      assert.equal(customer.callerId, '+34910000001');
      // The desk's screen pop: whom the call is with and the list's fields.
      const desk = (await t.api(`/api/v1/agents/${agentId}/call`)).body;
      assert.deepEqual(desk.handling?.contact, { campaign: 'cobros-vista-previa', name: 'Carmen', number: person, fields: { deuda: '310', vencimiento: '2026-12-15' } });
      const code = await t.api(`/api/v1/calls/${placed.body.callId}/disposition`, { method: 'PUT', json: { code: '3' } });
      assert.equal(code.status, 200, JSON.stringify(code.body));
      await agentCall.ended;
    } finally {
      pstn.options.personTalkMs = 1500;
    }
    await waitFor(async () => (await t.api(`/api/v1/agents/${agentId}/state`)).body.status !== 'on_call', 10_000, 'the call did not end');
    await t.api(`/api/v1/agents/${agentId}/ready`, { method: 'POST' });
    assert.equal((await next()).body.contact, null, 'nobody else due: the skipped one comes round in 15 minutes');

    await t.app.writes.drain();
    const contacts = (await t.api(`/api/v1/campaigns/${id}/contacts`)).body as { id: string; number: string; state: string; attempts: number; nextAttemptAt: string }[];
    const of = (n: string) => contacts.find((c) => c.number === n)!;
    assert.deepEqual([of(skipped).state, of(skipped).attempts], ['pending', 0]);
    const skippedFor = (Date.parse(of(skipped).nextAttemptAt) - clock().getTime()) / 60_000;
    assert.ok(skippedFor > 13 && skippedFor <= 15, `skipped for ${skippedFor} minutes`);
    assert.deepEqual([of(busy).state, of(busy).attempts], ['failed', 1]);
    assert.deepEqual([of(person).state, of(person).attempts], ['retry', 1], 'code 3: called again later');
    const history = (await t.api(`/api/v1/campaigns/${id}/contacts/${of(person).id}`)).body.history;
    assert.deepEqual(history.map((a: { outcome: string; disposition: string; agentId: string }) => [a.outcome, a.disposition, a.agentId]), [['answered', '3', agentId]]);
    assert.ok(history[0].callId && history[0].answeredAt, 'the attempt has its call and its answer');
    assert.equal(pstn.calls.length, dialledBefore + 2, 'only the two called were dialled');
    assert.equal((await t.api(`/api/v1/campaigns/${id}/finish`, { method: 'POST' })).status, 200);
  });
});
