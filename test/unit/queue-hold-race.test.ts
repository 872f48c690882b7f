import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AriHelpers } from '../../src/asterisk/ari-helpers.js';
import { Announcer } from '../../src/queues/announcer.js';
import { Dispatcher } from '../../src/queues/dispatcher.js';
import { QueueEntries, type Entry, type QueueDeps } from '../../src/queues/entries.js';
import type { QueueRow } from '../../src/queues/store.js';
import { fakeAri, recordingLogger } from '../support/fake-ari-client.js';

/** One queue entry (caller `caller1`, queue `sales`) in a QueueEntries over `ari`, the agents' commands going to `command`. */
function queueWith(ari: ReturnType<typeof fakeAri>['ari'], command: (agentId: string, command: { type: string }) => Promise<void>, writes: string[] = []) {
  const { logger, lines } = recordingLogger();
  const deps = {
    ari, helpers: new AriHelpers(ari, logger), logger, site: { phone: (e: string) => `PJSIP/${e}` },
    bus: { emit: () => undefined },
    writes: { enqueue: (what: string) => { writes.push(what); return Promise.resolve(); } },
    store: { updateEntry: () => 'op', endOffer: () => 'op', insertOffer: () => 'op' },
    agents: { command, takeForcedNotice: () => false },
    media: {},
  } as unknown as QueueDeps;
  const q = new QueueEntries(deps, { dispatch: () => undefined, ringTimeout: () => undefined, wrapUp: () => ({ wrapUpEndsAt: null, awaitingDisposition: false }) });
  const queue = { id: 'q1', name: 'sales', music_on_hold: 'default', ring_timeout_seconds: 10 } as QueueRow;
  const entry: Entry = {
    id: 'e1', call: { callId: 'call1', channelId: 'caller1', caller: '600' } as Entry['call'], queue, priority: 0, skills: {}, language: null,
    callLanguage: 'es', announcing: false, enteredAt: new Date(), holdingBridgeId: undefined, holding: Promise.resolve(), state: 'waiting',
    legs: new Map(), connected: undefined, hold: { count: 0, seconds: 0, since: null, by: null }, disposition: null, timers: [], ringTimer: undefined, finished: () => undefined,
  };
  q.add(entry);
  return { q, entry, lines };
}

/** One ARI request as it ran: when it was sent and when its answer came (a step counter, not a clock). */
interface Span { what: string; sent: number; answered: number | undefined }

/**
 * The queue's hold and an agent's answer meeting (docs/status.md, the
 * postgres-outage caller left in no bridge): an agent answered while the
 * caller was still being put on hold, and the holding bridge was destroyed
 * while the caller was being added to it. The caller must be taken out of
 * the holding bridge only once the hold is done, and added to the call's
 * bridge only once out of it.
 */
describe('a caller answered while being put on hold', () => {
  function setup() {
    let step = 0;
    const spans: Span[] = [];
    /** Requests held until released: the hold's, to let the answer come in between. */
    const held = new Map<string, () => void>();
    let nextBridge = 0;
    const { ari, events } = fakeAri();
    (ari as { request: unknown }).request = async (operation: string, params: Record<string, unknown>) => {
      const what = `${operation} ${String(params.bridgeId ?? params.channelId ?? params.type ?? '')}${params.channel ? ` ${String(params.channel)}` : ''}`;
      const span: Span = { what, sent: ++step, answered: undefined };
      spans.push(span);
      if (operation === 'bridges.create' && String(params.type) === 'holding') await new Promise<void>((r) => held.set('create', r));
      if (operation === 'bridges.addChannel' && params.bridgeId === 'hold1') await new Promise<void>((r) => held.set('add', r));
      await Promise.resolve();
      span.answered = ++step;
      if (operation === 'bridges.create') return { id: `${String(params.type) === 'holding' ? 'hold' : 'call'}${++nextBridge}` };
      return undefined;
    };
    const { q, entry, lines } = queueWith(ari, () => Promise.resolve());
    const release = async (name: string) => {
      while (!held.has(name)) await new Promise((r) => setImmediate(r));
      held.get(name)!();
      held.delete(name);
    };
    const span = (what: string) => {
      const found = spans.find((s) => s.what === what);
      assert.ok(found, `no request "${what}" in ${JSON.stringify(spans.map((s) => s.what))}`);
      return found;
    };
    return { q, entry, events, spans, span, release, lines, announcer: new Announcer(q), dispatcher: new Dispatcher(q) };
  }

  /** The entry rings agent a1's leg, as the dispatcher's offer leaves it. */
  function ringing(q: QueueEntries, entry: Entry): void {
    q.step(entry, { type: 'offer' });
    q.step(entry, { type: 'legRinging', legId: 'leg1', agentId: 'a1' });
  }

  it('waits for the caller to be in the holding bridge before taking them out, and bridges them after', async () => {
    const { q, entry, span, release, lines, announcer, dispatcher } = setup();
    const hold = announcer.hold(entry);
    await release('create');
    // The hold is adding the caller to its bridge when the agent answers.
    while (!entry.holdingBridgeId) await new Promise((r) => setImmediate(r));
    ringing(q, entry);
    const answered = dispatcher.legAnswered('leg1');
    for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
    await release('add');
    await Promise.all([hold, answered]);

    const addedToHold = span('bridges.addChannel hold1 caller1');
    const music = span('bridges.startMoh hold1');
    const out = span('bridges.removeChannel hold1 caller1');
    const destroyed = span('bridges.destroy hold1');
    const mixing = span('bridges.create mixing,dtmf_events');
    const addedToCall = span('bridges.addChannel call2 caller1');
    assert.ok(out.sent > addedToHold.answered! && out.sent > music.answered!, 'the caller was taken out of the holding bridge while the hold was still being made');
    assert.ok(destroyed.sent > out.answered!, 'the holding bridge was destroyed before the caller had left it');
    assert.ok(addedToCall.sent > destroyed.answered! && mixing.sent > out.answered!, 'the caller was bridged with the agent before leaving the holding bridge');
    assert.equal(entry.state, 'connected');
    assert.equal(entry.holdingBridgeId, undefined);
    assert.deepEqual(lines.filter((l) => l.level === 'error'), []);
  });

  it('does not use a holding bridge made after the agent answered', async () => {
    const { q, entry, spans, release, announcer, dispatcher } = setup();
    const hold = announcer.hold(entry);
    ringing(q, entry);
    const answered = dispatcher.legAnswered('leg1');
    for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
    await release('create');
    await Promise.all([hold, answered]);
    const sent = spans.map((s) => s.what);
    assert.equal(sent.some((w) => /^bridges\.addChannel hold\d caller1$/.test(w)), false, `the caller was put in a holding bridge after being answered: ${sent.join(', ')}`);
    assert.ok(sent.some((w) => /^bridges\.destroy hold\d$/.test(w)), `the holding bridge made too late was not destroyed: ${sent.join(', ')}`);
    assert.ok(sent.some((w) => /^bridges\.addChannel call\d caller1$/.test(w)), `the caller was not bridged with the agent: ${sent.join(', ')}`);
    assert.equal(entry.holdingBridgeId, undefined);
  });

  it('takes a caller who leaves the queue out of a hold still being made', async () => {
    const { q, entry, span, release, announcer } = setup();
    const hold = announcer.hold(entry);
    await release('create');
    while (!q.entries.get('e1')?.holdingBridgeId) await new Promise((r) => setImmediate(r));
    const out = q.takeOut(entry);
    for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
    await release('add');
    await Promise.all([hold, out]);
    assert.ok(span('bridges.removeChannel hold1 caller1').sent > span('bridges.startMoh hold1').answered!);
    assert.ok(span('bridges.destroy hold1').sent > span('bridges.removeChannel hold1 caller1').answered!);
  });
});

/**
 * The agent answered but the call was never bridged: its media server died
 * (bridges.create refused), or the caller hung up while it was being made
 * (their entry already left as abandoned). Nothing else frees the agent,
 * who must not stay on_call (found by bench/scale-out.ts's kill).
 */
describe('an agent who answered a call that could not be bridged', () => {
  function setup(fail: (operation: string, params: Record<string, unknown>) => boolean) {
    const { ari } = fakeAri();
    (ari as { request: unknown }).request = async (operation: string, params: Record<string, unknown>) => {
      await Promise.resolve();
      if (fail(operation, params)) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.3:8088'), { status: 0 });
      if (operation === 'bridges.create') return { id: 'call1' };
      return undefined;
    };
    const commands: string[] = [];
    const { q, entry } = queueWith(ari, (agentId, command) => { commands.push(`${agentId} ${command.type}`); return Promise.resolve(); });
    q.step(entry, { type: 'offer' });
    q.step(entry, { type: 'legRinging', legId: 'leg1', agentId: 'a1' });
    return { q, entry, commands, dispatcher: new Dispatcher(q) };
  }

  it('frees the agent when the bridge cannot be made', async () => {
    const { commands, dispatcher } = setup((operation) => operation === 'bridges.create');
    await dispatcher.legAnswered('leg1');
    assert.deepEqual(commands, ['a1 answer', 'a1 callEnded']);
  });

  it('frees the agent when the caller left while the bridge was made', async () => {
    const hangUps: (() => void)[] = [];
    const context = setup((operation, params) => {
      // The caller's hang-up is handled while the bridge is made: the entry leaves as abandoned.
      if (operation === 'bridges.create') hangUps.shift()?.();
      return operation === 'bridges.addChannel' && params.channel === 'caller1';
    });
    hangUps.push(() => context.q.leave(context.entry, 'abandoned'));
    await context.dispatcher.legAnswered('leg1');
    assert.deepEqual(context.commands, ['a1 answer', 'a1 callEnded']);
  });

  it('leaves the agent to the call\'s end when the bridge was made and the entry is still there', async () => {
    const { commands, dispatcher } = setup((operation, params) => operation === 'bridges.addChannel' && params.channel === 'caller1');
    await dispatcher.legAnswered('leg1');
    assert.deepEqual(commands, ['a1 answer'], 'the caller\'s end (callerGone) frees them, once');
  });
});
