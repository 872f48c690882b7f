import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AriHelpers } from '../../src/asterisk/ari-helpers.js';
import { ChannelRegistry } from '../../src/asterisk/registry.js';
import { StasisRouter } from '../../src/asterisk/stasis-router.js';
import { fakeAri, recordingLogger } from '../support/fake-ari-client.js';

const start = (channelId: string, args: string[]) => ({ type: 'StasisStart', args, channel: { id: channelId, caller: { number: '600' } } });
const settle = () => new Promise((resolve) => setImmediate(resolve));

function router() {
  const fake = fakeAri();
  const log = recordingLogger();
  const helpers = new AriHelpers(fake.ari, log.logger);
  const registry = new ChannelRegistry(fake.ari);
  return { ...fake, ...log, helpers, registry, router: new StasisRouter(fake.ari, helpers, registry, log.logger) };
}

describe('the StasisStart router', () => {
  it('hands each channel to the capability that claimed its first argument', async () => {
    const { router: r, events, requests } = router();
    const seen: string[] = [];
    r.claim('did', { start: (event) => { seen.push(`did ${event.channel.id} ${event.args.join(',')}`); } });
    r.claim('queue-leg', { start: (event) => { seen.push(`leg ${event.channel.id}`); } });
    events.emit('StasisStart', start('c1', ['did', '5551']));
    events.emit('StasisStart', start('l1', ['queue-leg', 'entry-1']));
    await settle();
    assert.deepEqual(seen, ['did c1 did,5551', 'leg l1']);
    assert.deepEqual(requests, [], 'claimed channels are left to their capability');
    assert.deepEqual([...r.kinds].sort(), ['did', 'queue-leg']);
  });

  it('hangs up and logs a channel of a kind nobody claimed, or with no arguments', async () => {
    const { router: r, events, requests, lines } = router();
    r.claim('did');
    events.emit('StasisStart', start('x1', ['surprise']));
    events.emit('StasisStart', start('x2', []));
    await settle();
    assert.deepEqual(requests, ['channels.hangup x1', 'channels.hangup x2']);
    assert.equal(lines.filter((l) => l.level === 'warn' && /nobody handles/.test(l.message)).length, 2);
  });

  it('refuses a kind claimed twice', () => {
    const { router: r } = router();
    r.claim('recording');
    assert.throws(() => r.claim('recording'), /claimed twice/);
  });

  it('logs a handler that fails, and goes on routing', async () => {
    const { router: r, events, lines } = router();
    const seen: string[] = [];
    r.claim('feature', {
      start: (event) => {
        if (event.channel.id === 'bad') throw new Error('handler bug');
        seen.push(event.channel.id);
      },
    });
    events.emit('StasisStart', start('bad', ['feature', '*45']));
    events.emit('StasisStart', start('good', ['feature', '*45']));
    await settle();
    assert.deepEqual(seen, ['good']);
    assert.deepEqual(lines.filter((l) => l.level === 'error').map((l) => l.message), ['StasisStart handling failed']);
  });

  it('settles an intoStasis wait whatever the channel\'s kind', async () => {
    const { router: r, events, helpers } = router();
    r.claim('monitor-snoop');
    const made = helpers.intoStasis('s-1', async () => 'made', 1000);
    await settle();
    events.emit('StasisStart', start('s-1', ['monitor-snoop']));
    assert.equal(await made, 'made');
  });
});
