import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely, sql, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import { createLogger } from '../../src/core/logger.js';
import { PGliteDialect } from '../../src/core/pglite-dialect.js';
import { migratedPGlite } from '../support/pglite-template.js';
import { isTransientDbError, WriteQueue, type WriteOp } from '../../src/core/write-queue.js';

/**
 * The database side of the queue, on an embedded Postgres (PGlite): real SQL
 * and constraints. `failWith` makes every statement fail as a lost server
 * would; `statements` counts the data statements that reached the database.
 */
class Gate implements KyselyPlugin {
  failWith: Error | undefined;
  statements = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.failWith) throw this.failWith;
    // begin and commit are raw statements: only the data's are counted
    if (args.node.kind !== 'RawNode') this.statements += 1;
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> { return args.result; }
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const logger = createLogger('silent');

const event = (n: number, tag = 'x'): WriteOp => ({ insert: 'events', values: { n, tag, at: new Date(1_700_000_000_000 + n), detail: JSON.stringify({ n }) } });
const call = (id: string): WriteOp => ({ insert: 'calls', values: { id, channel: `ch-${id}` }, onConflictDoNothing: ['channel'] });
const endCall = (id: string): WriteOp => ({ update: 'calls', set: { ended: true }, where: { id, ended: null } });

describe('write queue', () => {
  let pglite: PGlite;
  let gate: Gate;
  let db: Kysely<any>;
  let dir: string;
  const rows = async () => (await sql<{ n: number; tag: string }>`select n, tag from events order by id`.execute(db)).rows;

  before(async () => {
    // The migrated database (loaded from its dump: cheaper than a new PGlite's initdb),
    // with this test's own small tables in a schema of their own.
    pglite = await migratedPGlite();
    await pglite.exec('create schema write_queue_test; set search_path to write_queue_test');
    gate = new Gate();
    db = new Kysely({ dialect: new PGliteDialect(pglite), plugins: [gate] });
    await sql`create table events (id serial primary key, n int not null check (n >= 0), tag text not null, at timestamptz not null, detail jsonb not null)`.execute(db);
    await sql`create table calls (id text primary key, channel text unique not null, ended boolean)`.execute(db);
  });
  after(async () => { await db.destroy(); });
  beforeEach(async () => {
    gate.failWith = undefined;
    await sql`truncate events, calls`.execute(db);
    dir = mkdtempSync(join(tmpdir(), 'centralita-wq-'));
    gate.statements = 0;
  });

  it('keeps order and retries every write while the database is unreachable, however long', async () => {
    const queue = new WriteQueue(db, logger, { backoff: { firstMs: 1, maxMs: 2 } });
    const done: Promise<void>[] = [];
    // Each of the errors node-postgres gives for a server going away and coming back.
    for (const error of [
      refused(),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is shutting down'), { code: '57P03' }),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      gate.failWith = error;
      done.push(queue.enqueue(`event ${done.length}`, event(done.length)));
      await sleep(20);
      assert.equal(queue.holding, true, error.message);
    }
    assert.equal(queue.pending, 6);
    gate.failWith = undefined;
    await Promise.all(done);
    assert.deepEqual((await rows()).map((r) => r.n), [0, 1, 2, 3, 4, 5], 'every write, once, in order');
    assert.equal(queue.holding, false);
    assert.equal(queue.pending, 0);
  });

  it('writes a backlog in a few statements: one transaction, consecutive inserts of a table together', async () => {
    const queue = new WriteQueue(db, logger, { backoff: { firstMs: 1, maxMs: 2 } });
    gate.failWith = refused();
    const done: Promise<void>[] = [];
    for (let n = 0; n < 100; n += 1) {
      if (n % 25 === 0) done.push(queue.enqueue(`call ${n}`, call(`c${n}`)));
      done.push(queue.enqueue(`event ${n}`, event(n)));
      if (n % 25 === 24) done.push(queue.enqueue(`end ${n}`, endCall(`c${n - 24}`)));
    }
    await sleep(10);
    gate.failWith = undefined;
    gate.statements = 0;
    await Promise.all(done);
    assert.deepEqual((await rows()).map((r) => r.n), Array.from({ length: 100 }, (_, n) => n), 'in the order made');
    const calls = (await sql<{ id: string; ended: boolean | null }>`select id, ended from calls order by id`.execute(db)).rows;
    assert.deepEqual(calls, ['c0', 'c25', 'c50', 'c75'].map((id) => ({ id, ended: true })));
    // 112 writes: 4 call inserts, 4 runs of 25 event inserts, 4 updates → 12 statements.
    assert.ok(gate.statements <= 12, `${gate.statements} statements for 112 writes`);
  });

  it('drops only the write the database refuses for its data, and goes on', async () => {
    const queue = new WriteQueue(db, logger);
    gate.failWith = refused();
    const batch = [queue.enqueue('good 1', event(1)), queue.enqueue('bad', event(-1)), queue.enqueue('good 2', event(2))];
    const tidied: string[] = [];
    batch.push(queue.enqueue('bad with tidying', event(-2), async () => { tidied.push('bad'); }));
    batch.push(queue.enqueue('good with tidying', event(3), async () => { tidied.push('good'); }));
    await sleep(10);
    gate.failWith = undefined;
    await Promise.all(batch);
    assert.deepEqual((await rows()).map((r) => r.n), [1, 2, 3]);
    assert.deepEqual(tidied, ['good'], 'the tidying-up of a dropped write is not run');
  });

  it('waits a bounded time for the backlog, and leaves no timer behind', async () => {
    const queue = new WriteQueue(db, logger, { backoff: { firstMs: 1, maxMs: 2 } });
    gate.failWith = refused();
    const stored = queue.enqueue('held', event(1));
    assert.equal(await queue.drainWithin(30), false);
    gate.failWith = undefined;
    await stored;
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    assert.equal(await queue.drainWithin(60_000), true);
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, timers, 'a stopped app must not be kept alive by the wait');
  });

  it('tells connection errors from data errors', () => {
    assert.equal(isTransientDbError(Object.assign(new Error(), { code: '08006' })), true);
    assert.equal(isTransientDbError(Object.assign(new Error(), { code: '57P01' })), true);
    assert.equal(isTransientDbError(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isTransientDbError(Object.assign(new Error(), { code: '23505' })), false);
    assert.equal(isTransientDbError(Object.assign(new Error(), { code: '22P02' })), false);
  });

  it('loses no write when the process dies with writes queued: the next start applies the journal', async () => {
    const journalPath = join(dir, 'write-journal.jsonl');
    const first = new WriteQueue(db, logger, { journalPath, backoff: { firstMs: 1, maxMs: 2 } });
    first.open('postgres://centralita:old-secret@127.0.0.1:5432/cc');
    await first.enqueue('stored before', event(0));
    const headerBytes = readFileSync(journalPath, 'utf8').split('\n')[0]!.length + 1;
    assert.equal(statSync(journalPath).size, headerBytes, 'an empty queue leaves only the header');
    assert.equal(first.journalBytes, headerBytes, 'journalBytes (the metrics\' gauge) reads the file');
    gate.failWith = refused();
    void first.enqueue('call', call('c1'));
    for (let n = 1; n <= 3; n += 1) void first.enqueue(`event ${n}`, event(n, 'é ñ "quoted"'));
    void first.enqueue('end', endCall('c1'));
    await sleep(20);
    assert.ok(first.journalBytes > headerBytes);
    assert.equal(first.journalBytes, statSync(journalPath).size);
    first.close(); // as a SIGKILL leaves it: the journal holds the queued writes
    assert.equal(first.journalBytes, 0, 'no journal open');
    gate.failWith = undefined;
    await sleep(20);
    assert.deepEqual((await rows()).map((r) => r.n), [0], 'the dead queue wrote nothing more');

    const second = new WriteQueue(db, logger, { journalPath });
    assert.equal(second.open('postgres://centralita:new-secret@127.0.0.1:5432/cc'), 5, 'the same database, whatever password reaches it');
    await second.drain();
    const stored = await sql<{ n: number; tag: string; at: Date; detail: unknown }>`select n, tag, at, detail from events order by id`.execute(db);
    assert.deepEqual(stored.rows.map((r) => [r.n, r.tag]), [[0, 'x'], [1, 'é ñ "quoted"'], [2, 'é ñ "quoted"'], [3, 'é ñ "quoted"']]);
    assert.deepEqual(stored.rows[3]!.at, new Date(1_700_000_000_003), 'dates survive the journal');
    assert.deepEqual(stored.rows[3]!.detail, { n: 3 });
    assert.deepEqual((await sql`select id, ended from calls`.execute(db)).rows, [{ id: 'c1', ended: true }]);
    second.close();
  });

  it('does not write twice what was stored just before the crash', async () => {
    const journalPath = join(dir, 'write-journal.jsonl');
    const probe = new WriteQueue(db, logger, { journalPath });
    probe.open('db-a');
    probe.close();
    const header = readFileSync(journalPath, 'utf8');
    // Stored, but the process died before the journal noted it.
    await new WriteQueue(db, logger).enqueue('already stored', [call('c1'), event(1)]);
    const line = (seq: number, what: string, ops: WriteOp[]) => `${JSON.stringify({ seq, what, ops })}\n`;
    writeFileSync(journalPath, header
      + line(1, 'noted as stored', [event(0)]) + `${JSON.stringify({ done: 1 })}\n`
      + line(2, 'already stored', [call('c1'), event(1)])
      + line(3, 'not stored', [event(2)])
      + '{"seq":4,"what":"torn by the crash","ops":[{"ins');
    const queue = new WriteQueue(db, logger, { journalPath });
    assert.equal(queue.open('db-a'), 2);
    await queue.drain();
    assert.deepEqual((await rows()).map((r) => r.n), [1, 2]);
    assert.equal((await sql`select * from calls`.execute(db)).rows.length, 1);
    queue.close();
  });

  it('applies a journal made for the database\'s schema, and sets aside one made for another (docs/upgrade.md)', async () => {
    const journalPath = join(dir, 'write-journal.jsonl');
    const crash = (schema: string, n: number) => {
      const first = new WriteQueue(db, logger, { journalPath });
      first.open('db-a', schema);
      gate.failWith = refused();
      void first.enqueue('event', event(n));
      first.close();
      gate.failWith = undefined;
    };
    // Written under 015, the database still at 015 (the new version has not migrated yet): applied.
    crash('015_x.sql', 1);
    const same = new WriteQueue(db, logger, { journalPath });
    assert.equal(same.open('db-a', '015_x.sql'), 1);
    await same.drain();
    assert.deepEqual((await rows()).map((r) => r.n), [1]);
    // After the migrations the journal's label follows the schema.
    assert.ok(same.markSchema('016_y.sql'));
    assert.equal(JSON.parse(readFileSync(journalPath, 'utf8').split('\n')[0]!).schema, '016_y.sql');
    same.close();
    // Written under 015, but another version migrated the database to 016 meanwhile: not applied.
    crash('015_x.sql', 2);
    const other = new WriteQueue(db, logger, { journalPath });
    assert.equal(other.open('db-a', '016_y.sql'), 0);
    await other.drain();
    assert.deepEqual((await rows()).map((r) => r.n), [1], 'nothing applied');
    assert.ok(readdirSync(dir).some((f) => f.startsWith('write-journal.jsonl.other-schema-')), 'set aside beside the journal');
    other.close();
  });

  it('sets aside a journal of another database instead of applying it', async () => {
    const journalPath = join(dir, 'write-journal.jsonl');
    const first = new WriteQueue(db, logger, { journalPath });
    first.open('db-a');
    gate.failWith = refused();
    void first.enqueue('event', event(7));
    first.close();
    gate.failWith = undefined;
    const other = new WriteQueue(db, logger, { journalPath });
    assert.equal(other.open('db-b'), 0);
    await other.drain();
    assert.deepEqual(await rows(), []);
    assert.ok(readdirSync(dir).some((f) => f.startsWith('write-journal.jsonl.other-database-')), 'kept beside it');
    other.close();
  });

  it('takes over a lock left by a crashed process, not one held by a running centralita', async () => {
    const journalPath = join(dir, 'write-journal.jsonl');
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const seed = new WriteQueue(db, logger, { journalPath });
    seed.open('db-a');
    gate.failWith = refused();
    void seed.enqueue('left by the crash', event(5));
    seed.close();
    gate.failWith = undefined;
    const running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      writeFileSync(`${journalPath}.lock`, `${running.pid} ${boot}`);
      const beside = new WriteQueue(db, logger, { journalPath });
      assert.equal(beside.open('db-a'), 0, 'a live holder keeps its journal');
      beside.close();
      for (const stale of [`999999999 ${boot}`, `${running.pid} another-boot`]) {
        writeFileSync(`${journalPath}.lock`, stale);
        const next = new WriteQueue(db, logger, { journalPath });
        assert.equal(next.open('db-a'), 1, stale);
        gate.failWith = refused(); // kept in the journal for the next round
        await sleep(10);
        next.close();
        gate.failWith = undefined;
      }
      const last = new WriteQueue(db, logger, { journalPath });
      assert.equal(last.open('db-a'), 1);
      await last.drain();
      last.close();
      assert.deepEqual((await rows()).map((r) => r.n), [5]);
    } finally {
      running.kill();
    }
  });

  it('a second queue on a journal already open keeps its writes in memory and leaves the journal alone', async () => {
    const journalPath = join(dir, 'write-journal.jsonl');
    const first = new WriteQueue(db, logger, { journalPath });
    first.open('db-a');
    const second = new WriteQueue(db, logger, { journalPath });
    assert.equal(second.open('db-a'), 0);
    await second.enqueue('in memory', event(1));
    assert.deepEqual((await rows()).map((r) => r.n), [1]);
    first.close();
    second.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
