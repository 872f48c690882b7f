import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AriError } from '../../src/asterisk/ari.js';
import { AriHelpers, isGone } from '../../src/asterisk/ari-helpers.js';
import { ChannelRegistry } from '../../src/asterisk/registry.js';
import { StasisRouter } from '../../src/asterisk/stasis-router.js';
import { fakeAri, recordingLogger } from '../support/fake-ari-client.js';

const startOf = (channelId: string) => ({ type: 'StasisStart', args: ['queue-leg'], channel: { id: channelId } });

describe('isGone', () => {
  it('is 404 from any operation, and 422 only where ARI means the channel left', () => {
    assert.equal(isGone(new AriError('channels.hangup', 404, 'Channel not found')), true);
    assert.equal(isGone(new AriError('bridges.destroy', 404, 'Bridge not found')), true);
    assert.equal(isGone(new AriError('bridges.addChannel', 422, 'Channel not in Stasis application')), true);
    assert.equal(isGone(new AriError('bridges.removeChannel', 422, 'Channel not in this bridge')), true);
    assert.equal(isGone(new AriError('channels.play', 422, 'The format specified is unknown on this system')), false);
    assert.equal(isGone(new AriError('channels.answer', 409, 'Channel not in a Stasis application')), false);
    assert.equal(isGone(new AriError('channels.hangup', 0, 'no answer within 5000 ms')), false);
    assert.equal(isGone(new Error('404')), false);
  });
});

describe('quiet tear-downs', () => {
  it('ignore a channel or bridge already gone, without a word', async () => {
    const { ari, requests } = fakeAri((operation) => { throw new AriError(operation, 404, 'not found'); });
    const { logger, lines } = recordingLogger();
    const helpers = new AriHelpers(ari, logger);
    await helpers.hangup('c1');
    await helpers.destroyBridge('b1');
    await helpers.removeFromBridge('b1', 'c1');
    assert.deepEqual(requests, ['channels.hangup c1', 'bridges.destroy b1', 'bridges.removeChannel b1']);
    assert.deepEqual(lines, []);
  });

  it('log any other failure as a warning, and do not throw', async () => {
    const { ari } = fakeAri((operation) => { throw new AriError(operation, 500, 'Internal Server Error'); });
    const { logger, lines } = recordingLogger();
    const helpers = new AriHelpers(ari, logger);
    await helpers.hangup('c1');
    await helpers.destroyBridge('b1');
    assert.deepEqual(lines, [{ level: 'warn', message: 'hang-up failed' }, { level: 'warn', message: 'destroying a bridge failed' }]);
  });

  it('note a stopped client at debug level only: the next process takes the call up', async () => {
    const { ari } = fakeAri((operation) => { throw new AriError(operation, 0, 'the ARI client is stopped'); });
    ari.state = 'stopped';
    const { logger, lines } = recordingLogger();
    await new AriHelpers(ari, logger).hangup('c1');
    assert.deepEqual(lines.map((l) => l.level), ['debug']);
  });

  it('hand back the result of a request that worked', async () => {
    const { ari } = fakeAri(() => ({ id: 'b1' }));
    const helpers = new AriHelpers(ari, recordingLogger().logger);
    assert.deepEqual(await helpers.quietly('x', {}, () => ari.request('bridges.get', { bridgeId: 'b1' })), { id: 'b1' });
  });
});

describe('intoStasis', () => {
  it('resolves once the channel\'s StasisStart has come through the router', async () => {
    const { ari, events } = fakeAri(() => ({ id: 'leg-1' }));
    const helpers = new AriHelpers(ari, recordingLogger().logger);
    new StasisRouter(ari, helpers, new ChannelRegistry(ari), recordingLogger().logger).claim('queue-leg');
    let done = false;
    const made = helpers.intoStasis('leg-1', () => ari.request('channels.create', { channelId: 'leg-1' } as never)).then((leg) => { done = true; return leg; });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false, 'still waiting for StasisStart');
    events.emit('StasisStart', startOf('another'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false, 'another channel\'s StasisStart is not this one\'s');
    events.emit('StasisStart', startOf('leg-1'));
    assert.deepEqual(await made, { id: 'leg-1' });
  });

  it('hangs the channel up and throws when no StasisStart comes in time', async () => {
    const { ari, requests } = fakeAri(() => ({ id: 'leg-2' }));
    const helpers = new AriHelpers(ari, recordingLogger().logger);
    await assert.rejects(helpers.intoStasis('leg-2', () => ari.request('channels.create', { channelId: 'leg-2' } as never), 20), /never entered Stasis/);
    assert.deepEqual(requests, ['channels.create leg-2', 'channels.hangup leg-2']);
  });

  it('hangs the channel up when making it failed, and throws that failure', async () => {
    const { ari, requests } = fakeAri((operation) => {
      if (operation === 'channels.snoopChannel') throw new AriError(operation, 500, 'Internal Server Error');
      throw new AriError(operation, 404, 'Channel not found');
    });
    const helpers = new AriHelpers(ari, recordingLogger().logger);
    await assert.rejects(helpers.intoStasis('snoop-1', () => ari.request('channels.snoopChannel', { channelId: 'snoop-1' } as never)), /500/);
    assert.deepEqual(requests, ['channels.snoopChannel snoop-1', 'channels.hangup snoop-1']);
  });
});

describe('subscribe', () => {
  it('subscribes the app to the channel, and never throws', async () => {
    const { ari, requests } = fakeAri((operation) => { throw new AriError(operation, 404, 'not found'); });
    await new AriHelpers(ari, recordingLogger().logger).subscribe('c9');
    assert.deepEqual(requests, ['applications.subscribe channel:c9']);
  });
});
