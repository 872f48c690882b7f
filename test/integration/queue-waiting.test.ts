import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { rms } from '../phones/audio.js';
import { FeedClient } from '../support/live-feed.js';
import { adminToken, resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

describe('waiting in a queue with nobody free', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  let queueId: string;
  let feed: FeedClient;

  const caller = async (user: string): Promise<Call> => {
    const phone = await TestPhone.start({ user });
    phones.push(phone);
    return phone.call('5555001');
  };
  const outcomeOf = async (callerNumber: string) => waitFor(async () => (await sql<{ outcome: string | null }>`
    select e.outcome from queue_entries e join calls c on c.id = e.call_id where c.caller_number = ${callerNumber}`.execute(t.app.database.db)).rows[0]?.outcome, 10_000, `no outcome for ${callerNumber}`);

  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    const queue = await t.api('/api/v1/queues', {
      method: 'POST',
      json: {
        name: 'soporte', strategy: 'longest_idle', maxWaitSeconds: 12, musicOnHold: 'silence',
        announcements: { everySeconds: 2, position: true }, overflow: { action: 'hangup', media: ['sound:vm-goodbye'] },
        callbackKey: '1', overflowKey: '2',
      },
    });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    queueId = queue.body.id;
    await routeDid(t, '5555001', { start: 'q', nodes: { q: { type: 'queue', queue: 'soporte' } } });
    feed = await FeedClient.connect(t.baseUrl, adminToken);
  });
  after(async () => {
    feed?.close();
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('announces the position while the caller waits, and runs the overflow at max wait', async () => {
    const call = await caller('600500001');
    // Music on hold is silent here, so sound means an announcement.
    await call.waitForAudio({ minMs: 400, timeoutMs: 7000 });
    const end = await Promise.race([call.ended, new Promise<undefined>((r) => setTimeout(r, 20_000, undefined).unref())]);
    assert.ok(end, 'the overflow should hang up after its message');
    assert.equal(end.by, 'remote');
    assert.equal(await outcomeOf('600500001'), 'overflow');
    const announced = feed.messages.filter((m) => m.type === 'queue.entry' && m.data.event === 'announced');
    assert.ok(announced.length >= 2, `announcements: ${announced.length}`);
    assert.equal(announced[0]!.data.position, 1);
  });

  it('stores a callback request when the caller presses the callback key', async () => {
    const call = await caller('600500002');
    await waitFor(async () => (await t.api(`/api/v1/queues/${queueId}/live`)).body.waiting.length === 1, 5000, 'not waiting');
    await call.sendDtmf('1');
    await waitFor(() => !call.isActive, 10_000, 'the call did not end after the callback request');
    assert.equal(await outcomeOf('600500002'), 'callback');
    const callbacks = await t.api(`/api/v1/queues/${queueId}/callbacks`);
    assert.deepEqual(callbacks.body.map((c: { callerNumber: string; status: string }) => [c.callerNumber, c.status]), [['600500002', 'pending']]);
  });

  it('runs the overflow at once when the caller presses the overflow key', async () => {
    const call = await caller('600500003');
    await waitFor(async () => (await t.api(`/api/v1/queues/${queueId}/live`)).body.waiting.length === 1, 5000, 'not waiting');
    await call.sendDtmf('2');
    await waitFor(() => !call.isActive, 10_000, 'the call did not end after the overflow');
    assert.equal(await outcomeOf('600500003'), 'overflow');
  });

  it('records a message at an overflow of the message kind, as a WAV holding what the caller said', async () => {
    const queue = await t.api('/api/v1/queues', {
      method: 'POST', json: { name: 'mensajes', strategy: 'longest_idle', overflowKey: '2', overflow: { action: 'message', media: ['sound:vm-intro'], maxSeconds: 20 } },
    });
    await routeDid(t, '5555002', { start: 'q', nodes: { q: { type: 'queue', queue: 'mensajes' } } });
    const phone = await TestPhone.start({ user: '600500004' });
    phones.push(phone);
    const call = await phone.call('5555002');
    await waitFor(async () => (await t.api(`/api/v1/queues/${queue.body.id}/live`)).body.waiting.length === 1, 5000, 'not waiting');
    await call.sendDtmf('2');
    await call.waitForTone(700, { timeoutMs: 15_000, threshold: 0.3 }); // Asterisk's beep is about 700 Hz
    call.playTone(440);
    await new Promise((r) => setTimeout(r, 2000));
    call.stopTone();
    await call.sendDtmf('#');
    await waitFor(() => !call.isActive, 10_000, 'the call did not end after the message');
    const messages = await waitFor(async () => {
      const res = await t.api(`/api/v1/queues/${queue.body.id}/messages`);
      return res.body.length === 1 ? res.body : undefined;
    }, 5000, 'no message row');
    assert.equal(messages[0].callerNumber, '600500004');
    const { readFileSync } = await import('node:fs');
    const { parseWav } = await import('../../src/prompts/wav.js');
    const { toneLevels } = await import('../phones/audio.js');
    const audio = parseWav(readFileSync(`${t.app.config.recordingsDir}/${messages[0].recordingName}.wav`));
    assert.deepEqual([audio.encoding, audio.sampleRate, audio.channels], ['pcm16', 8000, 1]);
    const samples = Int16Array.from({ length: audio.data.length / 2 }, (_, i) => audio.data.readInt16LE(i * 2));
    const [level] = toneLevels(samples, [440]);
    assert.ok(level! > 0.5, `the recording should hold the caller's 440 Hz (level ${level})`);
    assert.equal(await outcomeOf('600500004'), 'overflow');
  });

  it('runs an IVR flow at an overflow of the flow kind, and refuses a flow that does not exist', async () => {
    const flow = (await t.api('/api/v1/ivr-flows', {
      method: 'POST', json: { name: 'fuera de cola', document: { start: 'sorry', nodes: { sorry: { type: 'play', media: ['sound:hello-world'], next: 'bye' }, bye: { type: 'hangup' } } } },
    })).body;
    const missing = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'x', strategy: 'longest_idle', overflow: { action: 'flow', flowId: '00000000-0000-4000-8000-000000000000' } } });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /overflow\/flowId/);
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'a-flujo', strategy: 'longest_idle', overflowKey: '2', overflow: { action: 'flow', flowId: flow.id } } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    await routeDid(t, '5555003', { start: 'q', nodes: { q: { type: 'queue', queue: 'a-flujo' } } });
    const phone = await TestPhone.start({ user: '600500005' });
    phones.push(phone);
    const call = await phone.call('5555003');
    await waitFor(async () => (await t.api(`/api/v1/queues/${queue.body.id}/live`)).body.waiting.length === 1, 5000, 'not waiting');
    await call.sendDtmf('2');
    await waitFor(() => !call.isActive, 10_000, 'the overflow flow did not end the call');
    // Trace rows go through the write queue: the hang-up can reach the phone first.
    await t.app.writes.drain();
    const calls = await t.api('/api/v1/calls?did=5555003');
    const trace = await t.api(`/api/v1/calls/${calls.body[0].id}/ivr-trace`);
    assert.deepEqual(trace.body.map((s: { node: string }) => s.node), ['q', 'sorry', 'bye']);
  });

  it('refuses the same key for callback and overflow', async () => {
    const res = await t.api(`/api/v1/queues/${queueId}`, { method: 'PATCH', json: { overflowKey: '1' } });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /overflowKey/);
  });

  it('adds the estimated wait, from recent handle times, to the position when the queue asks for it', { timeout: 60_000 }, async () => {
    // One agent staffs both queues, checked in but paused: nobody is offered, the estimate shares the work by one.
    const agent = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1008', name: 'Eli', pin: '1234', extension: '1008' } })).body;
    await t.api(`/api/v1/agents/${agent.id}/login`, { method: 'POST' });
    await t.api(`/api/v1/agents/${agent.id}/pause`, { method: 'POST', json: { reason: 'break' } });
    /** When the last sound since the mark was heard, in ms after it (the music on hold is silent). */
    const speechEnd = (call: Call, since: number): number => {
      const samples = call.receivedSince(since);
      let end = 0;
      for (let i = 0; i + 160 <= samples.length; i += 160) if (rms(samples.subarray(i, i + 160)) > 300) end = (i + 160) / 8;
      return end;
    };
    const measured: Record<string, { speechEndMs: number; estimate: unknown }> = {};
    await Promise.all([['sin-estimar', '5555011', false], ['estimada', '5555012', true]].map(async ([name, did, estimate], i) => {
      const queue = (await t.api('/api/v1/queues', {
        method: 'POST',
        json: { name, strategy: 'longest_idle', maxWaitSeconds: 60, musicOnHold: 'silence', announcements: { everySeconds: 12, position: true, estimate } },
      })).body;
      await t.api(`/api/v1/queues/${queue.id}/members`, { method: 'PUT', json: { members: [{ agentId: agent.id }] } });
      // Handle times of 120 s and 240 s: three minutes on average.
      for (const handle of [120, 240]) {
        const callId = crypto.randomUUID();
        const at = new Date(Date.now() - 3_600_000);
        await sql`insert into calls (id, channel_id, direction, started_at, ended_at, end_reason) values (${callId}, ${`history-${callId}`}, 'inbound', ${at}, ${at}, 'hangup')`.execute(t.app.database.db);
        await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at, answered_at, answered_by, left_at, outcome, wait_seconds)
          values (${crypto.randomUUID()}, ${callId}, ${queue.id}, 0, ${at}, ${at}, ${agent.id}, ${new Date(at.getTime() + handle * 1000)}, 'answered', 0)`.execute(t.app.database.db);
      }
      await routeDid(t, did as string, { start: 'q', nodes: { q: { type: 'queue', queue: name } } });
      const phone = await TestPhone.start({ user: `60050009${i}` });
      phones.push(phone);
      const call = await phone.call(did as string);
      const announcements = () => feed.messages.filter((m) => m.type === 'queue.entry' && m.data.event === 'announced' && m.data.queueId === queue.id);
      const announced = await waitFor(() => announcements()[0], 15_000, `no announcement in ${name}`);
      const mark = call.mark();
      await new Promise((r) => setTimeout(r, 11_000));
      measured[name as string] = { speechEndMs: speechEnd(call, mark), estimate: announced.data.estimateMinutes };
      await call.hangup();
    }));
    assert.equal(measured['sin-estimar']!.estimate, undefined);
    assert.equal(measured.estimada!.estimate, 3, 'position 1 × 180 s handle / 1 agent = 3 minutes');
    // "You are next" alone, against "you are next; the estimated hold time is 3 minutes".
    assert.ok(measured['sin-estimar']!.speechEndMs > 1000, `the position is heard: ${JSON.stringify(measured)}`);
    assert.ok(measured.estimada!.speechEndMs - measured['sin-estimar']!.speechEndMs >= 2000, `the estimate is heard after it: ${JSON.stringify(measured)}`);
  });
});
