import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { Lease } from '../../src/core/lease.js';
import { createLogger } from '../../src/core/logger.js';
import { PGliteDialect } from '../../src/core/pglite-dialect.js';
import { migratedPGlite } from '../support/pglite-template.js';
import { WriteQueue, type WriteFence } from '../../src/core/write-queue.js';

const logger = createLogger('silent');
const TTL = 2000;
const RENEW = 500;

/**
 * The leader lease (src/core/lease.ts) on an embedded Postgres with the real
 * migration; each Lease has a clock of its own that the test moves, and
 * `tick()` is one step of its loop (no timers run).
 */
describe('leader lease', () => {
  let pglite: PGlite;
  let db: Kysely<any>;
  const clocks = { a: 0, b: 0 };
  const lease = (name: 'a' | 'b') => new Lease(db, logger, { holder: name, address: `http://${name}:3000`, ttlMs: TTL, renewMs: RENEW, now: () => clocks[name] });
  const row = async () => (await sql<{ epoch: string; holder: string | null }>`select epoch, holder from leader_lease`.execute(db)).rows[0]!;

  before(async () => {
    // The migrated database (loaded from its dump: cheaper than a new PGlite's initdb) has the lease row.
    pglite = await migratedPGlite();
    db = new Kysely({ dialect: new PGliteDialect(pglite) });
  });
  after(async () => db.destroy());
  beforeEach(async () => {
    await sql`update leader_lease set holder = null, address = null, renewals = 0, epoch = 0`.execute(db);
    clocks.a = 1000;
    clocks.b = 5000;
  });

  it('the first takes a free lease at once; the other stands by while it is renewed, and takes it only after seeing it unchanged for the lease time', async () => {
    const a = lease('a');
    const b = lease('b');
    let becameLeader = 0;
    b.onLeader(() => { becameLeader += 1; });
    await a.tick();
    assert.deepEqual([a.role, a.epoch, a.held()], ['leader', 1, true]);
    assert.equal(await b.leaderAddress(), 'http://a:3000');
    // Ten seconds of renewals: b sees the row change each time and never takes it.
    for (let i = 0; i < 20; i += 1) {
      clocks.a += RENEW;
      clocks.b += RENEW;
      await a.tick();
      await b.tick();
      assert.equal(b.role, 'standby');
    }
    assert.equal(a.held(), true);
    // a stops (dead): b takes over once it has seen no change for TTL on its own clock.
    await b.tick();
    clocks.b += TTL - 1;
    await b.tick();
    assert.equal(b.role, 'standby', 'not before the lease time');
    clocks.b += 1;
    await b.tick();
    assert.deepEqual([b.role, b.epoch, becameLeader, (await row()).holder], ['leader', 2, 1, 'b']);
    // a's own clock says its lease ran out; its next renewal is refused: fenced for good.
    let fenced = '';
    a.onFenced((why) => { fenced = why; });
    clocks.a += TTL;
    assert.equal(a.held(), false, 'its time is up before it even asks');
    await a.tick();
    assert.deepEqual([a.role, a.fenced, a.held()], ['standby', true, false]);
    assert.match(fenced, /epoch moved on from 1/);
  });

  it('time the standby could not read the database does not count towards a takeover (no flapping after an outage)', async () => {
    const a = lease('a');
    const b = lease('b');
    await a.tick();
    await b.tick();
    // The database goes away for both: b's looks fail, a's renewals fail but it keeps trying (held).
    const real = db;
    const broken = new Kysely<any>({ dialect: new PGliteDialect(pglite), plugins: [{
      transformQuery: () => { throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }); },
      transformResult: async (args) => args.result,
    }] });
    db = broken;
    const a2 = a as unknown as { db: Kysely<any> };
    const b2 = b as unknown as { db: Kysely<any> };
    a2.db = broken;
    b2.db = broken;
    for (let i = 0; i < 60; i += 1) {
      clocks.a += RENEW;
      clocks.b += RENEW;
      await a.tick();
      await b.tick();
    }
    assert.equal(a.held(), true, 'a leader that keeps trying keeps acting: the standby cannot take over either');
    assert.equal(b.role, 'standby');
    // Back: b's first look starts its clock; a renews within RENEW: b never takes it.
    db = real;
    a2.db = real;
    b2.db = real;
    await b.tick();
    clocks.b += RENEW;
    clocks.a += RENEW;
    await a.tick();
    for (let i = 0; i < 10; i += 1) {
      clocks.a += RENEW;
      clocks.b += RENEW;
      await b.tick();
      await a.tick();
    }
    assert.deepEqual([a.role, b.role, Number((await row()).epoch)], ['leader', 'standby', 1]);
  });

  it('a leader frozen (SIGSTOP) past its lease is not held on resuming, even before it learns it was replaced', async () => {
    const a = lease('a');
    await a.tick();
    clocks.a += 30_000;
    assert.equal(a.held(), false);
    // Nobody took it meanwhile: its renewal answers and it holds it again.
    await a.tick();
    assert.deepEqual([a.role, a.held(), a.epoch], ['leader', true, 1]);
  });

  it('released at a clean stop, the lease is taken by a standby at once', async () => {
    const a = lease('a');
    const b = lease('b');
    await a.tick();
    await b.tick();
    await a.release();
    await b.tick();
    assert.deepEqual([b.role, b.epoch], ['leader', 2]);
  });

  it('two standbys racing for an expired lease: exactly one wins', async () => {
    const a = lease('a');
    await a.tick();
    const b = lease('b');
    const c = new Lease(db, logger, { holder: 'c', address: 'http://c:3000', ttlMs: TTL, renewMs: RENEW, now: () => clocks.b });
    await Promise.all([b.tick(), c.tick()]);
    clocks.b += TTL;
    await Promise.all([b.tick(), c.tick()]);
    assert.deepEqual([b.role, c.role].sort(), ['leader', 'standby']);
    assert.equal(Number((await row()).epoch), 2);
  });
});

describe('write queue fenced by the lease epoch', () => {
  let db: Kysely<any>;
  const fence = (epoch: number, held = true): WriteFence => ({ epoch, held: () => held });

  before(async () => {
    const pglite = await migratedPGlite();
    // This test's own small tables in a schema of their own, beside the migrated leader_lease.
    await pglite.exec('create schema lease_fence_test; set search_path to lease_fence_test, public');
    db = new Kysely({ dialect: new PGliteDialect(pglite) });
    await sql`create table states (agent text primary key, status text not null)`.execute(db);
    await sql`create table history (id serial primary key, agent text not null, status text not null)`.execute(db);
    await sql`update leader_lease set epoch = 7`.execute(db);
  });
  after(async () => db.destroy());

  it('writes of the current epoch are applied; an older epoch adds its history rows once and changes no state; none is made while the lease is not held', async () => {
    await sql`insert into states values ('ana', 'available')`.execute(db);
    const current = new WriteQueue(db, logger, { fence: fence(7) });
    await current.enqueue('ana on a call', [
      { insert: 'history', values: { agent: 'ana', status: 'on_call' } },
      { update: 'states', set: { status: 'on_call' }, where: { agent: 'ana' } },
    ]);
    const stale = new WriteQueue(db, logger, { fence: fence(6) });
    await stale.enqueue('ana paused (a fenced leader)', [
      { insert: 'history', values: { agent: 'ana', status: 'paused' } },
      { update: 'states', set: { status: 'paused' }, where: { agent: 'ana' } },
    ]);
    await stale.enqueue('the same record again (its journal, replayed)', [
      { insert: 'history', values: { agent: 'ana', status: 'paused' } },
    ]);
    assert.equal(stale.staleSkipped, 1);
    assert.deepEqual((await sql`select status from states`.execute(db)).rows, [{ status: 'on_call' }], 'the state is the current leader\'s');
    assert.deepEqual((await sql`select status from history order by id`.execute(db)).rows.map((r: any) => r.status), ['on_call', 'paused'], 'history once');
    const notHeld = new WriteQueue(db, logger, { fence: fence(7, false) });
    await notHeld.enqueue('made while not held', [{ insert: 'history', values: { agent: 'ana', status: 'wrap_up' } }]);
    assert.equal(notHeld.notMade, 1);
    assert.equal((await sql<{ n: number }>`select count(*)::int as n from history`.execute(db)).rows[0]!.n, 2);
  });
});
