import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { backup } from '../../src/backup/backup.js';
import { restore } from '../../src/backup/restore.js';
import { openDatabase } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';
import { migrate } from '../../src/core/migrate.js';
import { QueuesStore } from '../../src/queues/store.js';
import { RecordingsStore } from '../../src/recording/store.js';
import { recordingOwners, verifyRecordings } from '../../src/recording/verify.js';
import { testConfig } from '../support/harness.js';

/**
 * The embedded (PGlite) database: backup with PGlite's dump of its data
 * folder, wipe, restore, verify. No Asterisk: the recording is a file the
 * test writes, with its row.
 */
describe('backup and restore of the embedded database', () => {
  const root = mkdtempSync(join(tmpdir(), 'centralita-embedded-backup-'));
  const config = testConfig({ databaseUrl: undefined, dataDir: join(root, 'data'), recordingsDir: join(root, 'recordings') });
  const logger = createLogger('silent');
  const lines: string[] = [];
  const say = (line: string) => lines.push(line);
  const callId = randomUUID();
  const recordingId = randomUUID();
  const path = `2026/05/01/${callId}.wav`;
  const audio = Buffer.alloc(4000, 7);
  const sha256 = createHash('sha256').update(audio).digest('hex');
  const rowsOf = async (db: Kysely<any>) => (await sql`select id, call_id, path, status, bytes, sha256 from recordings order by id`.execute(db)).rows;
  let rowsBefore: unknown[];

  before(async () => {
    const database = await openDatabase(config, logger);
    await migrate(database.db, logger);
    await sql`insert into calls (id, channel_id, direction, started_at, ended_at) values (${callId}, 'c1', 'inbound', now(), now())`.execute(database.db);
    await sql`insert into recordings (id, call_id, asterisk_name, path, status, started_at, bytes, sha256, retention_days)
      values (${recordingId}, ${callId}, ${`in-progress/${recordingId}`}, ${path}, 'complete', now(), ${audio.length}, ${sha256}, 30)`.execute(database.db);
    rowsBefore = await rowsOf(database.db);
    await database.close();
    mkdirSync(join(config.recordingsDir, '2026/05/01'), { recursive: true });
    writeFileSync(join(config.recordingsDir, path), audio);
    writeFileSync(join(config.recordingsDir, 'stray.wav'), 'no row names me');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('dumps the data folder, loads it back into a new one, and every row and file comes back', async () => {
    const dir = join(root, 'backup');
    const manifest = await backup(config, dir, { recordings: true }, logger, say);
    const dump = readFileSync(join(dir, 'pglite-datadir.tar.gz'));
    assert.deepEqual(manifest.database, { kind: 'pglite', file: 'pglite-datadir.tar.gz', bytes: dump.length, sha256: createHash('sha256').update(dump).digest('hex') });
    assert.deepEqual(manifest.recordings.files, [
      { path, bytes: 4000, sha256, recordingId },
      // 'stray.wav' sorts after '2026/…': no row names it.
      { path: 'stray.wav', bytes: 15, sha256: createHash('sha256').update('no row names me').digest('hex'), recordingId: null },
    ]);
    assert.equal(manifest.journal, null, 'no service ever ran here: no journal');

    rmSync(join(config.dataDir, 'pglite'), { recursive: true });
    rmSync(join(config.recordingsDir, path));
    const summary = await restore(config, dir, { force: false }, logger, say);
    // One copied back; stray.wav was never removed, and is equal to the backup's.
    assert.deepEqual(summary.recordings, { restored: 1, alreadyThere: 1, failed: [] });
    assert.equal(createHash('sha256').update(readFileSync(join(config.recordingsDir, path))).digest('hex'), sha256);

    const database = await openDatabase(config, logger);
    try {
      assert.deepEqual(await rowsOf(database.db), rowsBefore, 'every row back');
      const store = new RecordingsStore(database.db);
      const report = await verifyRecordings(config.recordingsDir, async () => recordingOwners(store, await new QueuesStore(database.db as never).messageRecordings()));
      assert.deepEqual(report, {
        recordings: 1, files: 2,
        problems: [{ kind: 'no-row', path: 'stray.wav', recordingId: null, detail: 'no recording nor message names this file' }],
      });
    } finally {
      await database.close();
    }

    await assert.rejects(restore(config, dir, { force: false }, logger, say), /the database is not empty \(rows in calls, recordings\)/);
    const forced = await restore(config, dir, { force: true }, logger, say);
    assert.equal(forced.setAside.length, 1);
    assert.match(forced.setAside[0]!, /pglite\.before-restore-/);
    assert.ok(existsSync(forced.setAside[0]!));
    assert.deepEqual(readdirSync(config.dataDir).filter((name) => name.startsWith('pglite')).length, 2);
  });
});
