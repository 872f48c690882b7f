import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AriError } from '../../src/asterisk/ari.js';
import { AriHelpers } from '../../src/asterisk/ari-helpers.js';
import { DirectCalls } from '../../src/asterisk/direct-calls.js';
import { ChannelRegistry, type CallParties } from '../../src/asterisk/registry.js';
import { fakeAri, recordingLogger } from '../support/fake-ari-client.js';

const channel = (id: string, name: string, state: string, app: string, data = '') => ({ id, name, state, dialplan: { app_name: app, app_data: data } });
const queueCall: CallParties = { kind: 'queue', entryId: 'e1', callId: 'call-1', queueId: 'q', agentId: 'ana', callerChannelId: 'c1', agentChannelId: 'leg-1', bridgeId: 'b1' };

function layer(listing: unknown[], gone: Set<string> = new Set(), bridges: unknown[] = []) {
  const fake = fakeAri((operation, params) => {
    if (operation === 'channels.list') return listing;
    if (operation === 'bridges.list') return bridges;
    if (operation === 'channels.get') {
      if (gone.has(String(params.channelId))) throw new AriError('channels.get', 404, 'Channel not found');
      return listing.find((c) => (c as { id: string }).id === params.channelId);
    }
    return undefined;
  });
  const registry = new ChannelRegistry(fake.ari);
  const direct = new DirectCalls(fake.ari, new AriHelpers(fake.ari, recordingLogger().logger), registry);
  return { ...fake, registry, direct };
}

describe('the call registry\'s calls', () => {
  it('links a queue call, tells who listens, and unlinks it only for its own entry', () => {
    const { registry } = layer([]);
    const linked: string[] = [];
    const ended: string[] = [];
    registry.onCallLinked((c) => linked.push(c.callId));
    registry.onCallEnded((c) => ended.push(`${c.callId}/${c.entryId}`));
    registry.linkCall(queueCall);
    assert.equal(registry.callOf({ agentId: 'ana' })?.callId, 'call-1');
    assert.equal(registry.callOf({ callId: 'call-1' })?.bridgeId, 'b1');
    registry.linkCall({ ...queueCall, entryId: 'e2', agentId: 'bea' }); // transferred on to another queue's entry
    registry.unlinkCall('call-1', 'e1'); // the first entry's late "left"
    assert.equal(registry.callOf({ callId: 'call-1' })?.agentId, 'bea', 'the next entry\'s call stays');
    registry.unlinkCall('call-1', 'e2');
    assert.equal(registry.callOf({ callId: 'call-1' }), undefined);
    assert.deepEqual(linked, ['call-1', 'call-1']);
    assert.deepEqual(ended, ['call-1/e1', 'call-1/e2'], 'the first entry\'s part ended when the next one was linked, its late "left" or not');
  });

  it('finds an agent\'s direct call on the desk phone\'s channel, not one of the application\'s, and unlinks it when the channel is destroyed', async () => {
    const listing = [
      channel('feature', 'PJSIP/1005-00000001', 'Up', 'Stasis', 'centralita,feature,*45'),
      channel('ringing', 'PJSIP/1005-00000002', 'Ringing', 'AppDial'),
      channel('other-phone', 'PJSIP/1007-00000003', 'Up', 'Dial', 'PJSIP/1005,30'),
      channel('desk', 'PJSIP/1005-00000004', 'Up', 'AppDial', '(Outgoing Line)'),
    ];
    const { registry, direct, events, requests } = layer(listing, new Set(), [{ id: 'dial-bridge', channels: ['other-phone', 'desk'] }]);
    const ended: string[] = [];
    registry.onCallEnded((c) => ended.push(c.kind));
    const call = await direct.find('ana', '1005');
    assert.deepEqual({ kind: call?.kind, agentId: call?.agentId, agentChannelId: call?.agentChannelId, bridgeId: call?.bridgeId, peer: call?.peerExtension }, { kind: 'direct', agentId: 'ana', agentChannelId: 'desk', bridgeId: undefined, peer: '1007' });
    assert.ok(requests.includes('applications.subscribe channel:desk'), 'its end is asked for');
    assert.equal((await direct.find('ana', '1005'))?.callId, call!.callId, 'found once, then known');
    assert.equal(await direct.find('bea', '1009'), undefined, 'no call on another phone');
    events.emit('ChannelDestroyed', { type: 'ChannelDestroyed', channel: { id: 'desk' } });
    assert.equal(registry.callOf({ agentId: 'ana' }), undefined);
    assert.deepEqual(ended, ['direct']);
  });

  it('prefers the queue call the queues linked, and drops a direct call that ended before its subscription', async () => {
    const listing = [channel('desk', 'PJSIP/1005-00000004', 'Up', 'Dial', 'PJSIP/1007,30')];
    const { registry, direct } = layer(listing, new Set(['desk']));
    assert.equal(await direct.find('ana', '1005'), undefined, 'gone between the listing and the subscription');
    assert.equal(registry.callOf({ agentId: 'ana' }), undefined);
    registry.linkCall(queueCall);
    assert.equal((await direct.find('ana', '1005'))?.kind, 'queue');
  });

  it('drops direct calls whose channel ended while the socket was down, and subscribes again to the others on a reconnection', async () => {
    const listing = [channel('desk-1', 'PJSIP/1005-00000004', 'Up', 'Dial'), channel('desk-2', 'PJSIP/1006-00000005', 'Up', 'AppDial')];
    const { registry, direct, connect, requests } = layer(listing);
    await direct.find('ana', '1005');
    await direct.find('bea', '1006');
    requests.length = 0;
    connect();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(requests.filter((r) => r.startsWith('applications.subscribe')).sort(), ['applications.subscribe channel:desk-1', 'applications.subscribe channel:desk-2']);
    const listedAt = new Date();
    await new Promise((resolve) => setTimeout(resolve, 5));
    listing.push(channel('desk-3', 'PJSIP/1008-00000006', 'Up', 'Dial'));
    await direct.find('eva', '1008'); // found after the listing was taken: not judged by it
    registry.rebuild('centralita', { listedAt, channels: [listing[1]] as never, bridges: [] });
    assert.equal(registry.callOf({ agentId: 'eva' })?.agentChannelId, 'desk-3');
    assert.equal(registry.callOf({ agentId: 'ana' }), undefined, 'desk-1 ended meanwhile');
    assert.equal(registry.callOf({ agentId: 'bea' })?.agentChannelId, 'desk-2');
  });
});
