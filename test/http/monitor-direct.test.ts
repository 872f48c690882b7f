import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bridge } from '../../src/asterisk/ari-types.generated.js';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { waitFor } from '../support/harness.js';

/**
 * Monitoring an agent's direct call, as the call layer drives it: the call is
 * found on the agent's desk phone channel (not one of the application's), the
 * supervisor listens and barges through snoops on it (the dialplan's bridge is
 * not ours to join), and the session ends with the call. What the phones hear
 * is the lab's test (test/integration/monitor.test.ts); this one checks the
 * requests and the session's states without Asterisk.
 */
describe('monitoring a direct call (fake ARI)', () => {
  let t: FastApp;
  const ids: Record<string, string> = {};

  before(async () => {
    t = await startFastApp({}, { phones: ['1005', '1007', '2001'] });
    const fake = t.ari;
    fake.endpoints.add('2001');
    // The supervisor's leg and the snoops enter the application as Asterisk makes them.
    fake.handle('POST', '/channels/create', (req) => {
      const id = req.query.channelId!;
      fake.stasisStart(id, [req.query.appArgs ?? ''], { state: 'Down', name: `${req.query.endpoint}-00000010` });
      return { status: 200, body: fake.channels.get(id) };
    });
    fake.handle('POST', '/channels/{channelId}/dial', (_, { channelId }) => {
      fake.channels.get(channelId!)!.state = 'Ringing';
      return { status: 204 };
    });
    fake.handle('POST', '/channels/{channelId}/snoop', (req, { channelId }) => {
      if (!fake.channels.has(channelId!)) return { status: 404, body: { message: 'Channel not found' } };
      const id = req.query.snoopId!;
      return { status: 200, body: fake.stasisStart(id, [req.query.appArgs ?? ''], { name: `Snoop/${channelId}-00000001` }) };
    });
    fake.handle('POST', '/bridges', (req) => {
      const bridge = { id: req.query.bridgeId!, technology: 'simple_bridge', bridge_type: 'mixing', bridge_class: 'stasis', creator: 'Stasis', name: req.query.name ?? '', channels: [], creationtime: new Date().toISOString(), video_mode: 'none' } as unknown as Bridge;
      fake.bridges.set(bridge.id, bridge);
      return { status: 200, body: bridge };
    });
    fake.handle('POST', '/bridges/{bridgeId}/addChannel', (req, { bridgeId }) => {
      const bridge = fake.bridges.get(bridgeId!);
      if (!bridge) return { status: 404, body: { message: 'Bridge not found' } };
      bridge.channels.push(req.query.channel!);
      return { status: 204 };
    });
    for (const [key, json] of [['ana', { number: '1005', name: 'Ana', extension: '1005' }], ['sup', { number: '2001', name: 'Sofía', extension: '2001', isSupervisor: true }]] as const) {
      const res = await t.api('/api/v1/agents', { method: 'POST', json: { pin: '1234', ...json } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[key] = res.body.id;
    }
  });
  after(async () => {
    await t?.stop();
  });

  it('finds the call on the desk phone, listens and barges through snoops, and ends with the call', async () => {
    const fake = t.ari;
    const start = () => t.api('/api/v1/monitor', { method: 'POST', json: { supervisorId: ids.sup, agentId: ids.ana, mode: 'listen' } });
    // Ana's phone in a feature code (our application) and ringing: no call to monitor.
    fake.channel('feature', { name: 'PJSIP/1005-00000001', args: ['feature', '*45'] });
    fake.channel('ringing', { name: 'PJSIP/1005-00000002', state: 'Ringing', dialplan: { context: 'from-phones', exten: '1005', priority: 1, app_name: 'AppDial', app_data: '(Outgoing Line)' } });
    const refused = await start();
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.error.message, /not on a call/);
    fake.hangUp('feature');
    fake.hangUp('ringing');

    // The supervisor's own call with ana (in the dialplan's bridge): not theirs to monitor.
    fake.channel('own-sup', { name: 'PJSIP/2001-00000005', dialplan: { context: 'from-phones', exten: '1005', priority: 1, app_name: 'Dial', app_data: 'PJSIP/1005,30' } });
    fake.channel('own-ana', { name: 'PJSIP/1005-00000006', dialplan: { context: 'from-phones', exten: '1005', priority: 1, app_name: 'AppDial', app_data: '(Outgoing Line)' } });
    fake.bridges.set('own-bridge', { id: 'own-bridge', bridge_type: 'mixing', channels: ['own-sup', 'own-ana'] } as unknown as Bridge);
    const own = await start();
    assert.equal(own.status, 409, JSON.stringify(own.body));
    assert.match(own.body.error.message, /own call/);
    assert.equal(fake.requestsTo('POST', '/channels/create').length, 0, 'nothing rang');
    fake.hangUp('own-ana');
    fake.hangUp('own-sup');
    fake.bridges.delete('own-bridge');
    // Once its ChannelDestroyed has come, the call is forgotten: ana is on no call.
    await waitFor(async () => /not on a call/.test((await start()).body.error?.message ?? ''), 5000, 'the ended call was not forgotten');

    // Desk phone to desk phone through the dialplan: 1007 dialled ana's phone, which answered.
    fake.channel('other', { name: 'PJSIP/1007-00000003', dialplan: { context: 'from-phones', exten: '1005', priority: 1, app_name: 'Dial', app_data: 'PJSIP/1005,30' } });
    fake.channel('desk', { name: 'PJSIP/1005-00000004', dialplan: { context: 'from-phones', exten: '1005', priority: 1, app_name: 'AppDial', app_data: '(Outgoing Line)' } });
    const started = await start();
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.id as string;
    assert.ok(fake.requestsTo('POST', '/applications/centralita/subscription').some((r) => r.query.eventSource === 'channel:desk'), 'the direct call\'s end is asked for');
    const leg = fake.requestsTo('POST', '/channels/create').at(-1)!;
    assert.equal(leg.query.endpoint, 'PJSIP/2001');

    // The supervisor answers: a snoop on ana's channel, spying both ways, whispering nothing.
    const supChannel = fake.channels.get(leg.query.channelId!)!;
    supChannel.state = 'Up';
    fake.emit({ type: 'ChannelStateChange', channel: supChannel });
    await waitFor(async () => (await t.api(`/api/v1/monitor/${id}`)).body.segments.length === 1, 5000, 'the session did not start');
    const snoops = () => fake.requestsTo('POST', /^\/channels\/[^/]+\/snoop$/);
    assert.deepEqual(snoops().map((r) => [r.path, r.query.spy, r.query.whisper]), [['/channels/desk/snoop', 'both', 'none']]);

    // Barge: a new snoop whispering both ways; the supervisor is never added to any bridge but their own.
    const barged = await t.api(`/api/v1/monitor/${id}`, { method: 'PATCH', json: { mode: 'barge' } });
    assert.equal(barged.status, 200, JSON.stringify(barged.body));
    assert.deepEqual(snoops().map((r) => r.query.whisper), ['none', 'both']);
    const bridgesJoined = new Set(fake.requestsTo('POST', /\/addChannel$/).map((r) => r.path));
    assert.deepEqual([...bridgesJoined], [`/bridges/${id}-monitor/addChannel`]);

    // The direct call ends: the session ends with it and the supervisor's leg is hung up.
    fake.hangUp('desk');
    fake.hangUp('other');
    await waitFor(async () => (await t.api(`/api/v1/monitor/${id}`)).body.status === 'ended', 8000, 'the session did not end with the call');
    const ended = (await t.api(`/api/v1/monitor/${id}`)).body;
    assert.equal(ended.endReason, 'call_ended');
    assert.deepEqual(ended.segments.map((s: { mode: string; callId: string }) => [s.mode, s.callId]), [['listen', started.body.callId], ['barge', started.body.callId]]);
    // After the farewell prompt.
    await waitFor(() => fake.requestsTo('DELETE', `/channels/${supChannel.id}`).length > 0, 5000, 'the supervisor\'s leg was not hung up');
    assert.equal((await start()).status, 409, 'after the call ana is on no call');
  });
});
