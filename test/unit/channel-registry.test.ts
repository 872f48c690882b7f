import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AriHelpers } from '../../src/asterisk/ari-helpers.js';
import { ChannelRegistry } from '../../src/asterisk/registry.js';
import { StasisRouter } from '../../src/asterisk/stasis-router.js';
import { fakeAri, recordingLogger } from '../support/fake-ari-client.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));
const start = (channelId: string, args: string[]) => ({ type: 'StasisStart', args, channel: { id: channelId, caller: { number: '600' } } });
const bridge = (id: string, type: 'mixing' | 'holding') => ({ id, bridge_type: type, channels: [] });
const entered = (channelId: string, bridgeId: string, type: 'mixing' | 'holding') => ({ type: 'ChannelEnteredBridge', channel: { id: channelId }, bridge: bridge(bridgeId, type) });
const left = (channelId: string, bridgeId: string) => ({ type: 'ChannelLeftBridge', channel: { id: channelId }, bridge: bridge(bridgeId, 'mixing') });
const listed = (id: string, appData: string) => ({ id, dialplan: { app_name: 'Stasis', app_data: appData } });

function layer() {
  const fake = fakeAri();
  const { logger } = recordingLogger();
  const registry = new ChannelRegistry(fake.ari);
  const router = new StasisRouter(fake.ari, new AriHelpers(fake.ari, logger), registry, logger);
  router.claim('did', { role: 'caller' });
  router.claim('queue-leg', { role: 'agent' });
  router.claim('monitor-snoop', { role: 'snoop' });
  return { ...fake, registry };
}

describe('the channel registry', () => {
  it('knows each channel\'s role from its kind, and who is bridged with whom', async () => {
    const { registry, events } = layer();
    events.emit('StasisStart', start('caller-1', ['did', '5551']));
    events.emit('StasisStart', start('leg-1', ['queue-leg', 'entry-1']));
    await settle();
    assert.equal(registry.channel('caller-1')?.role, 'caller');
    assert.equal(registry.channel('leg-1')?.role, 'agent');
    events.emit('ChannelEnteredBridge', entered('caller-1', 'hold-1', 'holding'));
    assert.equal(registry.bridgeOf('caller-1')?.type, 'holding');
    events.emit('ChannelLeftBridge', left('caller-1', 'hold-1'));
    events.emit('ChannelEnteredBridge', entered('caller-1', 'call-1', 'mixing'));
    events.emit('ChannelEnteredBridge', entered('leg-1', 'call-1', 'mixing'));
    assert.deepEqual(registry.bridgedWith('caller-1').map((c) => `${c.id} ${c.role}`), ['leg-1 agent']);
    assert.deepEqual([...registry.bridgeOf('leg-1')!.channels].sort(), ['caller-1', 'leg-1']);
    events.emit('StasisEnd', { type: 'StasisEnd', channel: { id: 'leg-1' } });
    assert.equal(registry.channel('leg-1'), undefined);
    assert.deepEqual(registry.bridgedWith('caller-1'), [], 'a channel that left the application is no longer bridged with anyone');
    events.emit('BridgeDestroyed', { type: 'BridgeDestroyed', bridge: bridge('call-1', 'mixing') });
    assert.equal(registry.bridgeOf('caller-1'), undefined);
  });

  it('does not register a channel of a kind nobody claimed', async () => {
    const { registry, events } = layer();
    events.emit('StasisStart', start('x', ['surprise']));
    await settle();
    assert.equal(registry.channel('x'), undefined);
  });

  it('tells when a channel enters a bridge of a type, or that it did not in time', async () => {
    const { registry, events } = layer();
    events.emit('StasisStart', start('caller-2', ['did', '5551']));
    await settle();
    events.emit('ChannelEnteredBridge', entered('caller-2', 'hold-2', 'holding'));
    const waiting = registry.inBridge('caller-2', 'mixing', 1000);
    await settle();
    events.emit('ChannelEnteredBridge', entered('caller-2', 'call-2', 'mixing'));
    assert.equal(await waiting, true);
    assert.equal(await registry.inBridge('caller-2', 'mixing', 1000), true, 'at once when it is there already');
    assert.equal(await registry.inBridge('caller-2', 'holding', 20), false);
  });

  it('is rebuilt from ARI\'s lists on a reconnection, keeping what events told since', async () => {
    const { registry, events, connect } = layer();
    events.emit('StasisStart', start('stale', ['did', '5559'])); // gone while the socket was down
    await new Promise((resolve) => setTimeout(resolve, 5));
    connect();
    const listedAt = new Date();
    await new Promise((resolve) => setTimeout(resolve, 5));
    events.emit('StasisStart', start('new-caller', ['did', '5552'])); // arrived after the listing
    events.emit('StasisEnd', { type: 'StasisEnd', channel: { id: 'ended-meanwhile' } }); // listed, but ended since
    await settle();
    registry.rebuild('centralita', {
      listedAt,
      channels: [listed('caller-3', 'centralita,did,5553'), listed('leg-3', 'centralita,queue-leg,e3'), listed('ended-meanwhile', 'centralita,did,5554'),
        listed('other-app', 'elsewhere,did,5555'), { id: 'dialplan', dialplan: { app_name: 'Dial', app_data: 'PJSIP/2001' } }] as never,
      bridges: [{ ...bridge('call-3', 'mixing'), channels: ['caller-3', 'leg-3'] }] as never,
    });
    assert.equal(registry.channel('stale'), undefined);
    assert.equal(registry.channel('ended-meanwhile'), undefined);
    assert.equal(registry.channel('other-app'), undefined);
    assert.equal(registry.channel('dialplan'), undefined);
    assert.equal(registry.channel('new-caller')?.role, 'caller');
    assert.equal(registry.channel('leg-3')?.role, 'agent');
    assert.deepEqual(registry.bridgedWith('caller-3').map((c) => c.id), ['leg-3']);
  });
});
