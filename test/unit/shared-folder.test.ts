import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, chmodSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureSharedFolder } from '../../src/core/files.js';

// The recordings' in-progress folder, made by the service under the unit's
// umask (0027) and RestrictSUIDSGID= (no chmod setting setgid): it must come
// out group-writable, setgid from its parent, without any chmod.
test('makes a folder group-writable whatever the umask, setgid from its parent', () => {
  const root = mkdtempSync(join(tmpdir(), 'centralita-shared-'));
  const umask = process.umask(0o027);
  try {
    chmodSync(root, 0o2770);
    const mode = ensureSharedFolder(join(root, 'in-progress'));
    assert.equal(mode.toString(8), '2770');
    assert.equal((statSync(join(root, 'in-progress')).mode & 0o7777).toString(8), '2770');
    assert.equal(process.umask(0o027), 0o027, 'the umask is put back');
  } finally {
    process.umask(umask);
    rmSync(root, { recursive: true, force: true });
  }
});

test('leaves an existing folder as it is and reports its mode', () => {
  const root = mkdtempSync(join(tmpdir(), 'centralita-shared-'));
  try {
    const dir = join(root, 'in-progress');
    ensureSharedFolder(dir);
    chmodSync(dir, 0o750);
    assert.equal(ensureSharedFolder(dir).toString(8), '750');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
