import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { beside, RoutedAri } from '../../src/asterisk/media-servers.js';
import { fakeAri } from '../support/fake-ari-client.js';

// Two media servers, each a fake ARI client that answers makers with the id it was given.
function twoServers() {
  const answer = (name: string) => (operation: string, params: Record<string, unknown>) => {
    if (operation === 'channels.create') return { id: params.channelId };
    if (operation === 'bridges.create') return { id: params.bridgeId ?? `${name}-bridge-${Math.random().toString(36).slice(2, 6)}` };
    if (operation === 'channels.snoopChannel') return { id: params.snoopId };
    if (operation === 'channels.list') return [{ id: `${name}-listed` }];
    return undefined;
  };
  const one = fakeAri(answer('media-1'));
  const two = fakeAri(answer('media-2'));
  const ari = new RoutedAri([{ name: 'media-1', ari: one.ari }, { name: 'media-2', ari: two.ari }]);
  return { ari, one, two };
}

const stasisStart = (channelId: string) => ({ type: 'StasisStart', args: ['did', '5551000'], channel: { id: channelId, name: `PJSIP/kamailio-${channelId}` } });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('several media servers behind one ARI surface', () => {
  it('handles each event inside its server: what the handler asks and makes goes there', async () => {
    const { ari, one, two } = twoServers();
    const seen: (string | undefined)[] = [];
    ari.on('StasisStart', async (event) => {
      seen.push(ari.currentServer);
      await ari.request('channels.answer', { channelId: event.channel.id });
      const bridge = await ari.request('bridges.create', { type: 'mixing' });
      await ari.request('channels.create', { endpoint: 'PJSIP/1005@kamailio', app: ari.app, appArgs: 'queue-leg', channelId: `leg-of-${event.channel.id}` });
      await ari.request('bridges.addChannel', { bridgeId: bridge.id, channel: event.channel.id });
    });
    two.events.emit('StasisStart', stasisStart('caller-2'));
    await settle(); await settle();
    assert.deepEqual(seen, ['media-2']);
    assert.equal(one.requests.length, 0, `nothing on media-1: ${one.requests.join(', ')}`);
    assert.deepEqual(two.requests.map((r) => r.split(' ')[0]), ['channels.answer', 'bridges.create', 'channels.create', 'bridges.addChannel']);
    assert.equal(ari.serverOf('caller-2'), 'media-2');
    assert.equal(ari.serverOf('leg-of-caller-2'), 'media-2', 'the agent leg lives beside its caller');
  });

  it('sends a request on a known object to its server from anywhere (a timer, an API call)', async () => {
    const { ari, one, two } = twoServers();
    ari.on('StasisStart', () => {});
    one.events.emit('StasisStart', stasisStart('caller-1'));
    two.events.emit('StasisStart', stasisStart('caller-2'));
    await ari.request('channels.hangup', { channelId: 'caller-2' });
    await ari.request('channels.hangup', { channelId: 'caller-1' });
    // A supervisor's snoop is made beside the call it listens to, under a new id.
    await ari.request('channels.snoopChannel', { channelId: 'caller-2', app: ari.app, spy: 'both', snoopId: 'snoop-a' });
    await ari.request('channels.hangup', { channelId: 'snoop-a' });
    // A subscription names its channel in eventSource; a bridge not known yet goes beside its channel.
    await ari.request('applications.subscribe', { applicationName: ari.app, eventSource: 'channel:caller-2' });
    await ari.request('bridges.addChannel', { bridgeId: 'made-elsewhere', channel: 'caller-1' });
    assert.deepEqual(one.requests, ['channels.hangup caller-1', 'bridges.addChannel made-elsewhere']);
    assert.deepEqual(two.requests, ['channels.hangup caller-2', 'channels.snoopChannel caller-2', 'channels.hangup snoop-a', 'applications.subscribe channel:caller-2']);
  });

  it('makes a new call on the up server with the fewest calls, or where it is told', async () => {
    const { ari, one, two } = twoServers();
    ari.on('StasisStart', () => {});
    one.events.emit('StasisStart', stasisStart('caller-1'));
    await ari.request('channels.create', { endpoint: 'PJSIP/600@carrier', app: ari.app, channelId: 'campaign-1' });
    assert.equal(ari.serverOf('campaign-1'), 'media-2', 'media-1 already holds a call');
    two.ari.state = 'down';
    await ari.request('channels.create', { endpoint: 'PJSIP/601@carrier', app: ari.app, channelId: 'campaign-2' });
    assert.equal(ari.serverOf('campaign-2'), 'media-1', 'a server that is down gets nothing new');
    two.ari.state = 'up';
    await ari.withServer('media-1', () => ari.request('bridges.create', { type: 'mixing', bridgeId: 'b-told' }));
    assert.equal(ari.serverOf('b-told'), 'media-1');
    assert.equal(one.requests.filter((r) => r.startsWith('channels.create')).length, 1);
    assert.equal(two.requests.filter((r) => r.startsWith('channels.create')).length, 1);
    assert.throws(() => ari.withServer('media-9', () => undefined), /no media server media-9/);
  });

  it('merges the lists of every up server; reconciles across all of them once each is up or lost', async () => {
    const { ari, one, two } = twoServers();
    const all = await ari.request('channels.list', {});
    assert.deepEqual(all.map((c) => c.id).sort(), ['media-1-listed', 'media-2-listed']);
    assert.equal(ari.serverOf('media-2-listed'), 'media-2');
    const reconciled: string[][] = [];
    ari.onConnected(async () => {
      reconciled.push((await ari.request('channels.list', {})).map((c) => c.id).sort());
    });
    // media-1 is still reconnecting: a listing now would miss its calls, so nothing is judged yet.
    one.ari.state = 'connecting';
    two.connect();
    await sleep(150);
    assert.deepEqual(reconciled, []);
    one.ari.state = 'up';
    await sleep(150);
    assert.deepEqual(reconciled, [['media-1-listed', 'media-2-listed']], 'one reconciliation over both servers');
  });

  it('ends a lost server\'s calls as hung up, gives it nothing new, and brings it back in line when it returns', async () => {
    const old = new Date(Date.now() - 60_000).toISOString();
    const listing = (id: string) => [{ id, creationtime: old, dialplan: { app_name: 'Stasis', app_data: 'centralita,did,5551000' } }];
    const one = fakeAri((operation) => (operation === 'channels.list' ? listing('on-1') : operation === 'bridges.list' ? [] : operation === 'channels.create' ? { id: 'new' } : undefined));
    const handlers: ((state: string) => void)[] = [];
    let twoHas: string[] = [];
    const two = fakeAri((operation) => (operation === 'channels.list' ? twoHas.flatMap(listing) : operation === 'bridges.list' ? [] : undefined));
    const client2 = Object.assign(two.ari, { onStateChange: (h: (state: string) => void) => { handlers.push(h); return () => {}; } });
    const warnings: string[] = [];
    const logger = { info: () => {}, error: () => {}, warn: (_: unknown, message: string) => { warnings.push(message); } };
    const ari = new RoutedAri([{ name: 'media-1', ari: one.ari }, { name: 'media-2', ari: client2 as never }], { lostAfterMs: 100, logger: logger as never });
    const reconciled: string[][] = [];
    ari.onConnected(async () => { reconciled.push((await ari.request('channels.list', {})).map((c) => c.id).sort()); });
    const destroyed: string[] = [];
    ari.on('ChannelDestroyed', (event) => { destroyed.push(`${event.channel.id}:${event.cause}`); });
    ari.on('StasisStart', () => {});
    twoHas = ['on-2'];
    one.connect();
    two.connect();
    await sleep(150);
    assert.deepEqual(reconciled, [['on-1', 'on-2']], 'at start, one reconciliation over both');
    two.events.emit('StasisStart', stasisStart('caller-2'));
    assert.equal(ari.serverOf('caller-2'), 'media-2');
    client2.state = 'down';
    for (const h of handlers) h('down');
    await sleep(50);
    assert.deepEqual(destroyed, [], 'not lost yet: a short drop (a restart) is waited for');
    await sleep(150);
    assert.deepEqual(destroyed.sort(), ['caller-2:38', 'on-2:38'], 'lost: its calls end as if hung up (cause 38)');
    assert.match(warnings.join(), /media server lost/);
    assert.equal(ari.serverOf('caller-2'), undefined, 'its calls are forgotten');
    assert.equal(ari.serverStates().find((s) => s.name === 'media-2')?.lost, true);
    client2.state = 'up';
    await ari.request('channels.create', { endpoint: 'PJSIP/1', app: ari.app, channelId: 'x' });
    assert.equal(ari.serverOf('new'), 'media-1', 'a lost server gets nothing new until it is back');
    // Back, still holding a call of ours that was ended meanwhile: hung up; the other server is not listed again.
    twoHas = ['kept'];
    for (const h of handlers) h('up');
    two.connect();
    await sleep(50);
    assert.ok(two.requests.includes('channels.hangup kept'), two.requests.join(', '));
    assert.deepEqual(reconciled.length, 1, 'no reconciliation over every server while the others carry calls');
    assert.equal(ari.serverStates().find((s) => s.name === 'media-2')?.lost, false);
    // Restarted within the grace: what it no longer has ends, what it has stays.
    two.events.emit('StasisStart', stasisStart('caller-3'));
    two.events.emit('StasisStart', stasisStart('caller-4'));
    twoHas = ['caller-4'];
    destroyed.length = 0;
    await sleep(5);
    two.connect();
    await sleep(50);
    assert.deepEqual(destroyed, ['caller-3:38']);
    await ari.stop();
  });

  it('on a reconnection keeps what still goes (a live recording), ends what does not, and tells legs their Stasis end', async () => {
    const handlers: ((state: string) => void)[] = [];
    const live = new Set(['rec-live']);
    const one = fakeAri((operation) => (operation.endsWith('.list') ? [] : undefined));
    const two = fakeAri((operation, params) => {
      if (operation === 'channels.list') return [{ id: 'still', creationtime: new Date().toISOString(), dialplan: { app_name: 'Stasis', app_data: 'centralita' } }];
      if (operation === 'bridges.list') return [];
      if (operation === 'recordings.getLive') {
        if (live.has(params.recordingName as string)) return { name: params.recordingName };
        throw Object.assign(new Error('not found'), { status: 404 });
      }
      return undefined;
    });
    const client2 = Object.assign(two.ari, { onStateChange: (h: (state: string) => void) => { handlers.push(h); return () => {}; } });
    const ari = new RoutedAri([{ name: 'media-1', ari: one.ari }, { name: 'media-2', ari: client2 as never }], { lostAfterMs: 50 });
    ari.onConnected(() => {});
    const heard: string[] = [];
    for (const type of ['StasisEnd', 'ChannelDestroyed', 'RecordingFinished'] as const) {
      ari.on(type, (event) => { heard.push(`${type} ${'channel' in event ? event.channel.id : event.recording.name}`); });
    }
    ari.on('StasisStart', () => {});
    one.connect();
    two.connect();
    await sleep(100);
    two.events.emit('StasisStart', stasisStart('still'));
    two.events.emit('StasisStart', stasisStart('leg-gone'));
    await ari.request('channels.record', { channelId: 'still', name: 'rec-live', format: 'wav' });
    await ari.request('channels.record', { channelId: 'leg-gone', name: 'rec-gone', format: 'wav' });
    await sleep(5);
    // another instance took the application (HA): not a loss
    for (const h of handlers) h('replaced');
    await sleep(100);
    assert.deepEqual(heard, []);
    two.connect();
    await sleep(50);
    assert.deepEqual(heard.sort(), ['ChannelDestroyed leg-gone', 'RecordingFinished rec-gone', 'StasisEnd leg-gone']);
    assert.equal(ari.serverOf('rec-live'), 'media-2');
    await ari.stop();
  });

  it('makes what an API request or timer asks for beside the call it is about', async () => {
    const { ari, one, two } = twoServers();
    ari.on('StasisStart', () => {});
    two.events.emit('StasisStart', stasisStart('caller-2'));
    await beside(ari, 'caller-2', () => ari.request('bridges.create', { type: 'mixing', bridgeId: 'monitor-b' }));
    await beside(ari, 'never-seen', () => ari.request('bridges.create', { type: 'mixing', bridgeId: 'other-b' }));
    assert.equal(ari.serverOf('monitor-b'), 'media-2');
    assert.equal(ari.serverOf('other-b'), 'media-1', 'unknown: the least loaded');
    assert.equal(one.requests.length + two.requests.length, 2);
  });

  it('is up while any server is up, and tells each one\'s state', () => {
    const { ari, one, two } = twoServers();
    one.ari.state = 'down';
    assert.equal(ari.state, 'up');
    two.ari.state = 'down';
    assert.equal(ari.state, 'down');
    assert.deepEqual(ari.serverStates(), [{ name: 'media-1', state: 'down', lost: false }, { name: 'media-2', state: 'down', lost: false }]);
    one.ari.state = 'up';
    two.ari.state = 'replaced';
    assert.equal(ari.state, 'replaced', 'another connection took one server\'s application');
  });

  it('with one server, sends everything to it', async () => {
    const only = fakeAri();
    const ari = new RoutedAri([{ name: 'asterisk', ari: only.ari }]);
    await ari.request('channels.hangup', { channelId: 'never-seen' });
    await ari.request('bridges.destroy', { bridgeId: 'b' });
    assert.deepEqual(only.requests, ['channels.hangup never-seen', 'bridges.destroy b']);
    assert.throws(() => new RoutedAri([]), /no media server/);
    assert.throws(() => new RoutedAri([{ name: 'a', ari: only.ari }, { name: 'a', ari: only.ari }]), /configured twice/);
  });

  it('starts, stops, gates and reports every server as one client does', async () => {
    const lifecycle = (name: string) => {
      const fake = fakeAri();
      const stateHandlers: (() => void)[] = [];
      const requestHandlers: ((sample: { operation: string }) => void)[] = [];
      const calls: string[] = [];
      const client = Object.assign(fake.ari, {
        gate: undefined as (() => boolean) | undefined,
        fencedRequests: name === 'media-1' ? 2 : 3,
        start: () => { calls.push('start'); },
        stop: async () => { calls.push('stop'); },
        onStateChange: (handler: () => void) => { stateHandlers.push(handler); return () => {}; },
        onRequest: (handler: (sample: { operation: string }) => void) => { requestHandlers.push(handler); return () => {}; },
      });
      const setState = (state: 'up' | 'down') => { client.state = state; for (const h of stateHandlers) h(); };
      return { client, calls, setState, requestHandlers };
    };
    const a = lifecycle('media-1');
    const b = lifecycle('media-2');
    const ari = new RoutedAri([{ name: 'media-1', ari: a.client as never }, { name: 'media-2', ari: b.client as never }]);
    ari.start();
    await ari.stop();
    assert.deepEqual([a.calls, b.calls], [['start', 'stop'], ['start', 'stop']]);
    const gate = () => false;
    ari.gate = gate;
    assert.equal(ari.gate, gate);
    assert.equal(a.client.gate, gate);
    assert.equal(b.client.gate, gate);
    assert.equal(ari.fencedRequests, 5);
    const states: string[] = [];
    ari.onStateChange((state) => states.push(state));
    a.setState('down');
    b.setState('down');
    a.setState('up');
    assert.deepEqual(states, ['down', 'up'], 'the whole goes down with the last server and up with the first');
    const samples: string[] = [];
    ari.onRequest((sample) => samples.push(sample.operation));
    b.requestHandlers[0]!({ operation: 'channels.answer' });
    assert.deepEqual(samples, ['channels.answer']);
  });
});
