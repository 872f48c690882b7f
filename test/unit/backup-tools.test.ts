import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { postgresTool, ToolVersionMismatch } from '../../src/backup/database.js';
import { copyVerified, CopyMismatch, listFiles } from '../../src/core/files.js';
import { formatSummary, verifyRecordings, type FileOwner } from '../../src/recording/verify.js';

describe('backup tools', () => {
  const dir = mkdtempSync(join(tmpdir(), 'centralita-backup-tools-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes pg_dump of the server\'s major version, and refuses another one naming both', async () => {
    // This machine has Debian 12's postgresql-client 15 (scripts/postgres.sh installs it).
    const tool = await postgresTool('pg_dump', 15);
    assert.equal(tool.path, '/usr/lib/postgresql/15/bin/pg_dump');
    assert.match(tool.version, /^15\.\d+$/);
    // No /usr/lib/postgresql/14: the pg_dump on the PATH is 15's.
    await assert.rejects(postgresTool('pg_dump', 14), (err: Error) => {
      assert.ok(err instanceof ToolVersionMismatch);
      assert.match(err.message, /is PostgreSQL 15's pg_dump but the server is PostgreSQL 14: install postgresql-client-14/);
      return true;
    });
  });

  it('copies a file and refuses a copy that is not what was expected, leaving nothing behind', async () => {
    writeFileSync(join(dir, 'a.wav'), 'abc');
    // sha256("abc") = ba7816bf…15ad, 3 bytes
    const abc = { bytes: 3, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' };
    assert.deepEqual(await copyVerified(join(dir, 'a.wav'), join(dir, 'out/1/a.wav'), abc), abc);
    await assert.rejects(copyVerified(join(dir, 'a.wav'), join(dir, 'out/2/a.wav'), { ...abc, sha256: '0'.repeat(64) }), CopyMismatch);
    assert.equal(existsSync(join(dir, 'out/2/a.wav')), false);
    assert.deepEqual(readdirSync(join(dir, 'out/2')), [], 'no temporary file left');
    // Dot names (the temporary files, .gitkeep) are not listed.
    writeFileSync(join(dir, 'out/.gitkeep'), '');
    assert.deepEqual(await listFiles(join(dir, 'out')), ['1/a.wav']);
    assert.deepEqual(await listFiles(join(dir, 'nowhere')), []);
  });

  it('verify-recordings names a complete row without its size or sha256', async () => {
    const folder = join(dir, 'verify');
    mkdirSync(folder);
    for (const name of ['whole.wav', 'no-sha.wav', 'bare.wav']) writeFileSync(join(folder, name), 'abc');
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    const owners = new Map<string, FileOwner>([
      ['whole.wav', { recordingId: 'r1', status: 'complete', bytes: 3, sha256: abc }],
      ['no-sha.wav', { recordingId: 'r2', status: 'complete', bytes: 3, sha256: null }],
      ['bare.wav', { recordingId: 'r3', status: 'complete', bytes: null, sha256: null }],
    ]);
    const report = await verifyRecordings(folder, async () => owners);
    assert.deepEqual(report.problems, [
      { kind: 'no-hash', path: 'no-sha.wav', recordingId: 'r2', detail: 'the row is complete but has no sha256: its file cannot be checked' },
      { kind: 'no-hash', path: 'bare.wav', recordingId: 'r3', detail: 'the row is complete but has no size nor sha256: its file cannot be checked' },
    ]);
    assert.equal(formatSummary(report), 'checked 3 complete recordings and 3 files: 2 problems (missing 0, size 0, sha256 0, no hash 2, no row 0)');
  });
});
