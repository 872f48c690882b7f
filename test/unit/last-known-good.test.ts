import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LastKnownGood } from '../../src/core/last-known-good.js';
import type { Logger } from '../../src/core/logger.js';

/** A logger that keeps what was said at warn and info. */
function recordingLogger(): Logger & { said: { level: string; msg: string }[] } {
  const said: { level: string; msg: string }[] = [];
  const logger = {
    said,
    warn: (_obj: unknown, msg: string) => said.push({ level: 'warn', msg }),
    info: (_obj: unknown, msg: string) => said.push({ level: 'info', msg }),
    debug: () => undefined,
    error: (_obj: unknown, msg: string) => said.push({ level: 'error', msg }),
    child: () => logger,
  };
  return logger as unknown as Logger & { said: { level: string; msg: string }[] };
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const never = <T>() => new Promise<T>(() => undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitUntil = async (check: () => boolean) => { while (!check()) await sleep(0); };

describe('last-known-good cache', () => {
  it('serves a hot read from memory while fresh, and asks again once it is invalidated or stale', async () => {
    const cache = new LastKnownGood(recordingLogger(), { freshMs: 60 });
    let reads = 0;
    let flow = 'a';
    const load = async () => { reads += 1; return { did: '555', flow }; };
    assert.equal((await cache.readFresh('ivr-route:555', load)).flow, 'a');
    flow = 'b';
    assert.equal((await cache.readFresh('ivr-route:555', load)).flow, 'a', 'fresh: not asked again');
    assert.equal(reads, 1);
    cache.invalidate('ivr-route:');
    assert.equal((await cache.readFresh('ivr-route:555', load)).flow, 'b', 'a prefix invalidates every key under it');
    assert.equal(reads, 2);
    flow = 'c';
    cache.invalidate('ivr-route:556');
    assert.equal((await cache.readFresh('ivr-route:555', load)).flow, 'b', 'another key: still fresh');
    await sleep(80);
    assert.equal((await cache.readFresh('ivr-route:555', load)).flow, 'c', 'stale after freshMs');
    assert.equal(reads, 3);
    let versionReads = 0;
    const version = async () => { versionReads += 1; return { version: 1 }; };
    await cache.readFresh('ivr-flow-version:f:1', version, true);
    await sleep(80);
    await cache.readFresh('ivr-flow-version:f:1', version, true);
    assert.equal(versionReads, 1, 'forever: read once');
  });

  it('does not keep as current what a read begun before an invalidate answered', async () => {
    const cache = new LastKnownGood(recordingLogger());
    let release!: (v: { flow: string }) => void;
    const slow = cache.readFresh('queue:q1', () => new Promise<{ flow: string }>((resolve) => { release = resolve; }));
    cache.invalidate('queue:');
    const fresh = await cache.readFresh('queue:q1', async () => ({ flow: 'new' }));
    assert.equal(fresh.flow, 'new');
    release({ flow: 'old' });
    assert.equal((await slow).flow, 'old', 'the early reader gets what it read');
    assert.equal((await cache.readFresh('queue:q1', async () => ({ flow: 'asked' }))).flow, 'new', 'the old answer did not replace the new one');
    cache.invalidateAll();
    assert.equal((await cache.readFresh('queue:q1', async () => ({ flow: 'asked' }))).flow, 'asked');
  });

  it('does not make fresh what it served from memory during an outage', async () => {
    const cache = new LastKnownGood(recordingLogger());
    await cache.read('queue:q2', async () => ({ n: 1 }));
    assert.deepEqual(await cache.readFresh('queue:q2', async () => { throw refused(); }), { n: 1 });
    assert.equal(cache.databaseDown, true);
    await sleep(5);
    let asked = false;
    await cache.readFresh('queue:q2', async () => { asked = true; return { n: 2 }; });
    await waitUntil(() => asked);
    assert.equal(cache.databaseDown, false);
    assert.deepEqual(await cache.readFresh('queue:q2', async () => ({ n: 3 })), { n: 2 }, 'once the database answers again, its value is current');
  });

  it('reads the database first and remembers what it answered', async () => {
    const cache = new LastKnownGood(recordingLogger());
    let row = { did: '555', flow: 'a' };
    assert.deepEqual(await cache.read('route:555', async () => row), { did: '555', flow: 'a' });
    row = { did: '555', flow: 'b' };
    assert.deepEqual(await cache.read('route:555', async () => row), { did: '555', flow: 'b' }, 'a live database always wins');
    assert.equal(cache.databaseDown, false);
  });

  it('serves the last known value when the database is unreachable, and fails a key it never saw', async () => {
    const cache = new LastKnownGood(recordingLogger());
    await cache.read('queue:ventas', async () => ({ id: 'q1' }));
    assert.deepEqual(await cache.read('queue:ventas', async () => { throw refused(); }), { id: 'q1' });
    assert.equal(cache.databaseDown, true);
    await assert.rejects(cache.read('queue:other', async () => { throw refused(); }), /ECONNREFUSED/);
  });

  it('remembers "there is none" too (a DID without a route stays unrouted)', async () => {
    const cache = new LastKnownGood(recordingLogger());
    assert.equal(await cache.read('route:999', async () => undefined), undefined);
    assert.equal(await cache.read('route:999', async () => { throw refused(); }), undefined);
  });

  it('does not hide errors that are not an outage', async () => {
    const cache = new LastKnownGood(recordingLogger());
    await cache.read('flow:x', async () => 1);
    await assert.rejects(cache.read('flow:x', async () => { throw Object.assign(new Error('invalid input syntax for type uuid'), { code: '22P02' }); }), /uuid/);
    assert.equal(cache.databaseDown, false);
  });

  it('serves the last value when the database does not answer in time, and takes the late answer when it comes', async () => {
    const cache = new LastKnownGood(recordingLogger(), { timeoutMs: 30 });
    await cache.read('agent:1', async () => 'old');
    let answer!: (v: string) => void;
    const started = Date.now();
    assert.equal(await cache.read('agent:1', () => new Promise<string>((r) => { answer = r; })), 'old');
    assert.ok(Date.now() - started < 500);
    assert.equal(cache.databaseDown, true);
    answer('new');
    await sleep(5);
    assert.equal(cache.databaseDown, false, 'the late answer shows the database is back');
    assert.equal(await cache.read('agent:1', never<string>), 'new');
  });

  it('waits for the database on a key it has no value for, even past the timeout', async () => {
    const cache = new LastKnownGood(recordingLogger(), { timeoutMs: 10 });
    assert.equal(await cache.read('agent:2', async () => { await sleep(40); return 'slow'; }), 'slow');
  });

  it('during an outage answers at once from memory and notices the return in the background', async () => {
    const cache = new LastKnownGood(recordingLogger(), { timeoutMs: 1000 });
    await cache.read('k', async () => 1);
    await cache.read('k', async () => { throw refused(); });
    const started = Date.now();
    assert.equal(await cache.read('k', never<number>), 1, 'a hanging database does not hold the call');
    assert.ok(Date.now() - started < 100);
    // The hanging background read of k is still running: a second one is not started.
    let loads = 0;
    assert.equal(await cache.read('k', async () => { loads += 1; return 2; }), 1);
    assert.equal(loads, 0);
    assert.equal(await cache.read('other', async () => 'x'), 'x', 'a key without a value asks the database');
    assert.equal(cache.databaseDown, false, 'which answered: the outage is over');
  });

  it('asks the database once for concurrent reads of one key', async () => {
    const cache = new LastKnownGood(recordingLogger());
    let loads = 0;
    const load = async () => { loads += 1; await sleep(10); return loads; };
    const values = await Promise.all([cache.read('m', load), cache.read('m', load), cache.read('m', load)]);
    assert.deepEqual(values, [1, 1, 1]);
    assert.equal(loads, 1);
  });

  it('warns once per outage, not once per read, and says when reads answer again', async () => {
    const logger = recordingLogger();
    const cache = new LastKnownGood(logger);
    await cache.read('a', async () => 1);
    for (let i = 0; i < 50; i += 1) await cache.read('a', async () => { throw refused(); });
    await sleep(1);
    assert.deepEqual(logger.said.map((s) => s.level), ['warn']);
    await cache.read('b', async () => 2);
    assert.deepEqual(logger.said.map((s) => s.level), ['warn', 'info']);
    await cache.read('a', async () => { throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }); });
    assert.deepEqual(logger.said.map((s) => s.level), ['warn', 'info', 'warn'], 'a second outage is reported again');
  });

  it('is warmed from whole tables at start; a store that fails does not stop the others', async () => {
    const logger = recordingLogger();
    const cache = new LastKnownGood(logger);
    await cache.warm([
      { warm: async (remember) => { remember('route:1', 'r1'); remember('route:2', 'r2'); } },
      { warm: async () => { throw refused(); } },
    ]);
    assert.equal(cache.size, 2);
    assert.equal(await cache.read('route:2', async () => { throw refused(); }), 'r2');
    assert.equal(logger.said[0]?.msg, 'call-path cache not fully warmed');
  });

  it('keeps at most maxEntries values, dropping the least recently stored', async () => {
    const cache = new LastKnownGood(recordingLogger(), { maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) cache.remember(key, key);
    cache.remember('a', 'a2');
    cache.remember('d', 'd');
    assert.equal(cache.size, 3);
    await assert.rejects(cache.read('b', async () => { throw refused(); }), /ECONNREFUSED/, 'b was the oldest');
    assert.equal(await cache.read('a', async () => { throw refused(); }), 'a2');
  });
});
