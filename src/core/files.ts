import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface FileDigest { bytes: number; sha256: string }

/**
 * Makes `dir` (and its parents) a folder that another user of its group
 * writes into, and returns its mode. Made 0770 whatever the umask (the
 * unit's is 0027), lifted for this synchronous mkdir only; setgid comes from
 * the parent (a new folder inherits it), because a unit with
 * RestrictSUIDSGID= refuses a chmod that sets it. A folder that already
 * exists is left as it is: the caller checks the mode returned.
 */
export function ensureSharedFolder(dir: string): number {
  const umask = process.umask(0o007);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o770 });
  } finally {
    process.umask(umask);
  }
  return statSync(dir).mode & 0o7777;
}

/**
 * The regular files under `root`, as paths relative to it with `/`, sorted.
 * Names starting with a dot (`.gitkeep`, a copy's temporary file) and
 * anything that is not a regular file (symbolic links included) are left out.
 */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && prefix === '') return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) await walk(join(dir, entry.name), rel);
      else if (entry.isFile()) out.push(rel);
    }
  };
  await walk(root, '');
  return out.sort();
}

/** Size and sha256 of a file, read as a stream (recordings can be large). */
export async function digestFile(file: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

export class CopyMismatch extends Error {
  constructor(readonly file: string, readonly expected: FileDigest, readonly got: FileDigest) {
    super(`${file}: the copy has ${got.bytes} bytes, sha256 ${got.sha256}; expected ${expected.bytes} bytes, sha256 ${expected.sha256}`);
    this.name = 'CopyMismatch';
  }
}

/**
 * Copies `from` to `to` (folders made as needed) and checks the copy: the
 * source is hashed as it is read, the copy is read back and hashed again,
 * and only a copy equal to what was read (and to `expected`, when given)
 * takes the final name (written beside it under a dot name, then renamed,
 * so a copy cut short never looks finished). A plain copy, not a hard link:
 * the two folders may be on different file systems.
 * Returns the digest of what was copied.
 */
export async function copyVerified(from: string, to: string, expected?: FileDigest): Promise<FileDigest> {
  await mkdir(dirname(to), { recursive: true });
  const temporary = join(dirname(to), `.${Math.random().toString(36).slice(2)}.copying`);
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(from), tap, createWriteStream(temporary, { flags: 'wx' }));
    const read: FileDigest = { bytes, sha256: hash.digest('hex') };
    const handle = await open(temporary, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const written = await digestFile(temporary);
    if (written.bytes !== read.bytes || written.sha256 !== read.sha256) throw new CopyMismatch(to, read, written);
    if (expected && (expected.bytes !== read.bytes || expected.sha256 !== read.sha256)) throw new CopyMismatch(from, expected, read);
    await rename(temporary, to);
    return read;
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}
