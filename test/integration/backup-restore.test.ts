import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Manifest } from '../../src/backup/manifest.js';
import { openDatabase } from '../../src/core/db.js';
import { listFiles } from '../../src/core/files.js';
import { createLogger } from '../../src/core/logger.js';
import { projectRoot } from '../../src/core/paths.js';
import { TestPhone } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, testConfig, testDatabaseUrl, waitFor, type TestApp } from '../support/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `1 file`, `2 files`: as the summary line counts. */
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Runs `centralita <args>` (src/cli.ts through tsx) as an operator would, on the test's database and folders. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CENTRALITA_') && key !== 'DATABASE_URL'));
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: projectRoot, env: { ...clean, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * Recorded calls on the lab, backed up, the database and the recording
 * files wiped, restored, and verified: every row and file back with the
 * same sha256. The lab's Asterisk writes into the checkout's recordings/
 * folder, so that is where the restore goes; the test deletes only the files
 * its own calls made, and expects verify-recordings to name the files it
 * found there at the start (left by other tests, whose rows are gone) as
 * files with no row.
 */
describe('backup, wipe, restore, verify', () => {
  let t: TestApp | undefined;
  const phones: TestPhone[] = [];
  const backupDir = join(mkdtempSync(join(tmpdir(), 'centralita-backup-')), 'backup');
  const dataDir = mkdtempSync(join(tmpdir(), 'centralita-backup-data-'));
  const recordingsDir = testConfig().recordingsDir;
  const env = {
    DATABASE_URL: testDatabaseUrl, CENTRALITA_DATA_DIR: dataDir, CENTRALITA_RECORDINGS_DIR: recordingsDir, CENTRALITA_LOG_LEVEL: 'warn',
  };
  let foreign: string[] = [];
  const ours: { id: string; path: string; sha256: string; bytes: number }[] = [];

  /** What the restore must give back, table by table, in a stable order. */
  const snapshot = async () => {
    const database = await openDatabase(testConfig(), createLogger('silent'));
    try {
      const out: Record<string, unknown[]> = {};
      for (const table of ['recordings', 'calls', 'queue_entries', 'queue_offers', 'agents', 'queues', 'agent_state_events', 'ivr_traces', 'schema_migrations']) {
        out[table] = (await sql`select * from ${sql.table(table)} order by 1`.execute(database.db)).rows;
      }
      return out;
    } finally {
      await database.close();
    }
  };

  before(async () => {
    t = await startTestApp({ dataDir });
    await resetDatabase(t.app);
    await t.app.agents.load();
    foreign = await listFiles(recordingsDir);
    const desk = await TestPhone.start({ user: '1005', password: 'lab-1005' });
    phones.push(desk);
    await desk.register();
    const agentId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1005', name: 'Rita', pin: '1234', extension: '1005' } })).body.id;
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'copia', strategy: 'longest_idle', wrapUpSeconds: 0, recordingPolicy: 'always', recordingRetentionDays: 30 } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId }] } });
    await routeDid(t, '5558401', { start: 'q', nodes: { q: { type: 'queue', queue: 'copia' } } });
    await t.api(`/api/v1/agents/${agentId}/login`, { method: 'POST' });
    // Two recorded calls of about 1.5 s each.
    for (const number of ['600840001', '600840002']) {
      const ringing = desk.waitForIncoming(10_000);
      const phone = await TestPhone.start({ user: number });
      phones.push(phone);
      const caller = await phone.call('5558401');
      const agent = await (await ringing).answer();
      caller.playTone(440);
      agent.playTone(1000);
      const callId = await waitFor(async () => ((await t!.api('/api/v1/calls/live')).body as { id: string; callerNumber: string }[]).find((c) => c.callerNumber === number)?.id, 5000, 'call not live');
      await waitFor(async () => (await t!.app.recordings.rowsOf(callId)).some((r) => r.status === 'recording'), 5000, 'the recording did not start');
      await sleep(1500);
      await caller.hangup();
      await agent.ended;
      const row = await waitFor(async () => (await t!.app.recordings.rowsOf(callId)).find((r) => r.status === 'complete'), 10_000, 'the recording was not completed');
      ours.push({ id: row.id, path: row.path!, sha256: row.sha256!, bytes: row.bytes! });
    }
    await t.app.writes.drain();
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
    for (const file of ours) rmSync(join(recordingsDir, file.path), { force: true });
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(join(backupDir, '..'), { recursive: true, force: true });
  });

  it('gives back every row and every recording with its sha256, and verify-recordings finds nothing wrong', async () => {
    // Backed up while the service runs (PostgreSQL: pg_dump's snapshot).
    const made = await cli(['backup', backupDir], env);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /pg_dump of PostgreSQL 15\./);
    const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')) as Manifest;
    assert.equal(manifest.database.kind, 'postgres');
    assert.equal(manifest.recordings.copied, true);
    assert.deepEqual(manifest.migrations, (await snapshot()).schema_migrations!.map((row) => (row as { name: string }).name));
    for (const file of ours) {
      const listed = manifest.recordings.files.find((f) => f.path === file.path);
      assert.deepEqual(listed, { path: file.path, bytes: file.bytes, sha256: file.sha256, recordingId: file.id }, 'the manifest names the row, with its size and sha256');
      assert.equal(sha256(join(backupDir, 'recordings', file.path)), file.sha256, 'the copy is the file');
    }
    assert.equal(manifest.recordings.files.length, foreign.length + ours.length);
    assert.equal(manifest.journal?.pendingRecords, 0, 'the service\'s journal, with nothing pending (every write drained)');

    const running = await cli(['restore', backupDir], env);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /centralita is running on .* \(pid \d+\): stop it to restore/);
    const before = await snapshot();
    await t!.stop();
    t = undefined;
    const notEmpty = await cli(['restore', backupDir], env);
    assert.equal(notEmpty.code, 1);
    assert.match(notEmpty.stderr, /the database is not empty \(rows in .*calls.*\)/);

    // The wipe: the whole schema, our recording files and the journal.
    const database = await openDatabase(testConfig(), createLogger('silent'));
    await sql`drop schema public cascade`.execute(database.db);
    await sql`create schema public`.execute(database.db);
    await database.close();
    for (const file of ours) unlinkSync(join(recordingsDir, file.path));
    rmSync(join(dataDir, 'write-journal.jsonl'));

    const restored = await cli(['restore', backupDir], env);
    assert.equal(restored.code, 0, restored.stderr);
    // The foreign files were not touched, so they are "already there".
    assert.match(restored.stdout, new RegExp(`recordings: ${ours.length} files restored \\(sha256 verified\\), ${foreign.length} already there`));
    assert.deepEqual(await snapshot(), before, 'every row back');
    for (const file of ours) assert.equal(sha256(join(recordingsDir, file.path)), file.sha256, `${file.path} back, same sha256`);
    assert.ok(existsSync(join(dataDir, 'write-journal.jsonl')), 'the journal back');

    // Clean, but for the files other tests left without rows (the restored database has none of theirs).
    const clean = await cli(['verify-recordings'], env);
    const noRow = foreign.map((path) => `no-row  ${path}: no recording nor message names this file`);
    assert.deepEqual(clean.stdout.trim().split('\n'), [...noRow, `checked 2 complete recordings and ${plural(foreign.length + 2, 'file')}: ${foreign.length === 0 ? 'no problems' : `${plural(foreign.length, 'problem')} (missing 0, size 0, sha256 0, no hash 0, no row ${foreign.length})`}`]);
    assert.equal(clean.code, foreign.length === 0 ? 0 : 1);
  });

  it('verify-recordings names a truncated file and a missing one', async () => {
    const [cut, gone] = ours as [typeof ours[0], typeof ours[0]];
    truncateSync(join(recordingsDir, cut.path), 1000);
    unlinkSync(join(recordingsDir, gone.path));
    const result = await cli(['verify-recordings'], env);
    assert.equal(result.code, 1);
    const lines = result.stdout.trim().split('\n');
    assert.ok(lines.includes(`size    ${cut.path} (recording ${cut.id}): 1000 bytes, the row says ${cut.bytes}`), result.stdout);
    assert.ok(lines.includes(`missing ${gone.path} (recording ${gone.id}): no such file`), result.stdout);
    // 2 rows checked; files: the foreign ones and the truncated one (the other is gone); problems: the foreign ones + 2.
    assert.equal(lines.at(-1), `checked 2 complete recordings and ${plural(foreign.length + 1, 'file')}: ${foreign.length + 2} problems (missing 1, size 1, sha256 0, no hash 0, no row ${foreign.length})`);
  });
});
