import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { backup, snapshotWithJournal } from '../../src/backup/backup.js';
import { restore } from '../../src/backup/restore.js';
import { openDatabase } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';
import { migrate } from '../../src/core/migrate.js';
import { journalPathIn, parseJournal } from '../../src/core/journal.js';
import { WriteQueue } from '../../src/core/write-queue.js';
import { testConfig } from '../support/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * PostgreSQL backups without the lab (the lab test, backup-restore, covers
 * recorded calls): a restore over a database migrated further, a damaged
 * dump, and the moment of the backup against a write queue that stores a
 * record while the backup runs.
 */
describe('backup and restore of a PostgreSQL database', () => {
  const root = mkdtempSync(join(tmpdir(), 'centralita-pg-backup-'));
  const config = testConfig({ dataDir: join(root, 'data'), recordingsDir: join(root, 'recordings') });
  const logger = createLogger('silent');
  const say = () => undefined;
  const withDb = async <T>(fn: (db: Kysely<any>) => Promise<T>): Promise<T> => {
    const database = await openDatabase(config, logger);
    try {
      return await fn(database.db);
    } finally {
      await database.close();
    }
  };
  const rows = async (db: Kysely<any>, query: string) => (await sql.raw<Record<string, unknown>>(query).execute(db)).rows;

  before(async () => {
    await withDb(async (db) => {
      await sql`drop schema public cascade`.execute(db);
      await sql`create schema public`.execute(db);
      await migrate(db, logger);
      await sql`insert into calls (id, channel_id, direction, started_at) values (${randomUUID()}, 'c1', 'inbound', now())`.execute(db);
    });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('restore --force over a database migrated further leaves it as the dump; a damaged dump is refused first', async () => {
    const dir = join(root, 'backup');
    const manifest = await backup(config, dir, { recordings: false }, logger, say);
    const dump = join(dir, 'database.dump');
    const bytes = readFileSync(dump);
    assert.equal(manifest.database.bytes, bytes.length);
    assert.equal(manifest.database.sha256, createHash('sha256').update(bytes).digest('hex'));
    const before = await withDb(async (db) => ({ calls: await rows(db, 'select * from calls order by id'), migrations: await rows(db, 'select name from schema_migrations order by name') }));

    // What a later version would have added: a table, its migration row, and a row of ours.
    await withDb(async (db) => {
      await sql`create table later_feature (id int primary key)`.execute(db);
      await sql`insert into schema_migrations (name) values ('099_later_feature.sql')`.execute(db);
      await sql`insert into calls (id, channel_id, direction, started_at) values (${randomUUID()}, 'c2', 'inbound', now())`.execute(db);
    });

    // One byte changed, the size the same: refused before anything is changed.
    const damaged = Buffer.from(bytes);
    damaged[damaged.length >> 1]! ^= 0xff;
    writeFileSync(dump, damaged);
    await assert.rejects(restore(config, dir, { force: true }, logger, say), (err: Error) => {
      assert.match(err.message, new RegExp(`the backup is damaged: ${dump} has sha256 [0-9a-f]{64}, the manifest says ${manifest.database.sha256}; nothing was restored`));
      return true;
    });
    assert.equal((await withDb((db) => rows(db, "select to_regclass('later_feature')::text as t")))[0]!.t, 'later_feature', 'nothing changed');
    writeFileSync(dump, bytes);

    await restore(config, dir, { force: true }, logger, say);
    await withDb(async (db) => {
      assert.equal((await rows(db, "select to_regclass('later_feature')::text as t"))[0]!.t, null, 'the later table is gone');
      assert.deepEqual({ calls: await rows(db, 'select * from calls order by id'), migrations: await rows(db, 'select name from schema_migrations order by name') }, before);
    });
  });

  it('every record noted before the snapshot is in the dump or in the journal copy, though one is stored in between', async () => {
    // A write that takes 150 ms, so one is under way when the backup starts.
    await withDb(async (db) => {
      await sql`create table backup_probe (n int)`.execute(db);
      await sql.raw(`create function backup_probe_slow() returns trigger language plpgsql as $$ begin perform pg_sleep(0.15); return new; end $$;
        create trigger slow before insert on backup_probe for each row execute function backup_probe_slow()`).execute(db);
    });
    const service = await openDatabase(config, logger);
    const writes = new WriteQueue(service.db, logger, { journalPath: journalPathIn(config.dataDir) });
    writes.open(config.databaseUrl!);
    const dir = join(root, 'moment');
    mkdirSync(dir);
    try {
      void writes.enqueue('probe 1', { insert: 'backup_probe', values: { n: 1 } });
      await sleep(30);
      const inSnapshot = await withDb((db) => db.connection().execute(async (conn) => {
        // Record 2 is noted while the backup runs and 1 is stored meanwhile: unheld, 1 would be
        // in neither (not in the snapshot, and gone from the journal when it is copied).
        await snapshotWithJournal(db, conn, config, dir, async () => {
          void writes.enqueue('probe 2', { insert: 'backup_probe', values: { n: 2 } });
          await sleep(400);
        });
        try {
          return (await rows(conn, 'select n from backup_probe order by n')).map((r) => r.n as number);
        } finally {
          await sql`commit`.execute(conn);
        }
      }));
      const journal = parseJournal(readFileSync(join(dir, 'write-journal.jsonl'), 'utf8'));
      const inJournal = journal.pending.flatMap((w) => w.ops.map((op) => ('insert' in op ? op.values.n as number : 0)));
      assert.deepEqual([...new Set([...inSnapshot, ...inJournal])].sort(), [1, 2], `snapshot ${JSON.stringify(inSnapshot)}, journal ${JSON.stringify(inJournal)}`);
      assert.deepEqual(inSnapshot, [1], 'the hold waited for the write under way');
      await writes.drain();
    } finally {
      writes.close();
      await sql`drop table backup_probe; drop function backup_probe_slow`.execute(service.db);
      await service.close();
    }
  });
});
