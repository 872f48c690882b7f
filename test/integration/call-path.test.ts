import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rms } from '../phones/audio.js';
import { TestPhone } from '../phones/sip-phone.js';
import { greetAndListen, resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

describe('first call path: a DID call end to end', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await routeDid(t, '5551000', greetAndListen);
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('answers, plays the prompt, receives the digits and records the call', async () => {
    const caller = await TestPhone.start({ user: '600111222', displayName: 'Cliente Prueba' });
    phones.push(caller);
    const call = await caller.call('5551000');

    // The phone has its 200 OK before centralita has ARI's answer to channels.answer: wait for both.
    const live = await waitFor(async () => {
      const res = await t.api('/api/v1/calls/live');
      return res.body.length === 1 && res.body[0].answeredAt ? res.body[0] : undefined;
    }, 5000, 'the call is not listed as live and answered');
    assert.equal(live.did, '5551000');
    assert.equal(live.callerNumber, '600111222');
    assert.equal(live.direction, 'inbound');
    assert.ok(live.answeredAt, 'the call was answered');

    // The prompt (hello-world, Spanish) reaches the phone as sound: at least
    // half a second of frames above the silence floor.
    await call.waitForAudio({ minMs: 500, timeoutMs: 5000 });
    // Then the line is quiet: the prompt was played once, not looped noise.
    await new Promise((r) => setTimeout(r, 2500));
    const mark = call.mark();
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(rms(call.receivedSince(mark)) < 200, 'the line should be silent after the prompt');

    await call.sendDtmf('12#');
    const callId = live.id as string;
    const detail = await waitFor(async () => {
      const res = await t.api(`/api/v1/calls/${callId}`);
      const digits = (res.body.events as { type: string; detail: { digit: string } }[]).filter((e) => e.type === 'dtmf').map((e) => e.detail.digit).join('');
      return digits === '12#' ? res.body : undefined;
    }, 5000, 'the digits 1, 2, # did not reach the call record');
    const trace = await t.api(`/api/v1/calls/${callId}/ivr-trace`);
    assert.deepEqual(trace.body.slice(0, 2).map((e: { node: string; input: string | null }) => [e.node, e.input]), [['hello', null], ['listen', '12']]);
    assert.ok(detail.events.some((e: { type: string }) => e.type === 'dtmf'));

    await call.hangup();
    const ended = await waitFor(async () => {
      const res = await t.api(`/api/v1/calls/${callId}`);
      return res.body.endedAt ? res.body : undefined;
    }, 5000, 'the call row was not closed');
    assert.equal(ended.hangupCause, 16);
    assert.equal(ended.hangupCauseText, 'Normal Clearing');
    assert.equal(ended.endReason, 'hangup');
    const started = Date.parse(ended.startedAt);
    const answered = Date.parse(ended.answeredAt);
    const finished = Date.parse(ended.endedAt);
    assert.ok(started <= answered && answered <= finished, 'start ≤ answer ≤ end');
    assert.ok(finished - started >= 3000, 'the call lasted as long as the phone kept it');

    assert.deepEqual((await t.api('/api/v1/calls/live')).body, []);
    const list = await t.api('/api/v1/calls?did=5551000');
    assert.equal(list.status, 200);
    assert.equal(list.body.length, 1);
    assert.equal(list.body[0].id, callId);
  });

  it('tells a desk phone that an unknown feature code is not available, and hangs up', async () => {
    const desk = await TestPhone.start({ user: '1001', password: 'lab-1001' });
    phones.push(desk);
    await desk.register();
    const call = await desk.call('*99');
    await call.waitForAudio({ minMs: 300, timeoutMs: 5000 });
    const end = await Promise.race([call.ended, new Promise<undefined>((r) => setTimeout(r, 10_000, undefined).unref())]);
    assert.ok(end, 'centralita should hang up after the spoken error');
    assert.equal(end.by, 'remote');
    const rows = await waitFor(async () => {
      const res = await t.api('/api/v1/calls');
      const row = (res.body as { direction: string; callerNumber: string; endedAt: string | null }[]).find((c) => c.direction === 'internal');
      return row?.endedAt ? row : undefined;
    }, 5000, 'the feature-code call was not recorded');
    assert.equal(rows.callerNumber, '1001');
  });

  it('asks Asterisk for only the event types it handles, and for a type handled later too', async () => {
    const allowedTypes = async () => ((await t.app.ari.request('applications.get', { applicationName: t.app.ari.app })).events_allowed as { type: string }[]).map((e) => e.type);
    const first = await waitFor(async () => { const types = await allowedTypes(); return types.length > 0 ? types : undefined; }, 5000, 'no event filter on the application');
    for (const type of ['StasisStart', 'StasisEnd', 'ChannelDestroyed', 'ChannelDtmfReceived', 'PlaybackFinished', 'ApplicationReplaced']) assert.ok(first.includes(type), `${type} is not allowed`);
    assert.ok(!first.includes('ChannelVarset'), 'variable changes are not needed');
    const off = t.app.ari.on('ChannelVarset', () => undefined);
    try {
      await waitFor(async () => (await allowedTypes()).includes('ChannelVarset'), 5000, 'a newly handled type was not allowed');
    } finally {
      off();
    }
  });
});
