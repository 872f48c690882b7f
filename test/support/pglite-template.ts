import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { createLogger } from '../../src/core/logger.js';
import { migrate, migrationsDir } from '../../src/core/migrate.js';
import { PGliteDialect } from '../../src/core/pglite-dialect.js';
import { projectRoot } from '../../src/core/paths.js';

/**
 * An in-memory PGlite database with every migration applied, for the fast
 * tier. A new PGlite runs initdb first (about 10 s of one core, measured on
 * this 2-core machine); one loaded from a dump of its data folder skips it
 * (about 1.5 s). So the first test process makes a migrated database, dumps
 * it to the system's temp folder under a name that changes with the
 * migrations and PGlite's version, and every later one starts from that dump.
 */
export async function migratedPGlite(): Promise<PGlite> {
  const file = join(tmpdir(), `centralita-pglite-${templateKey()}.tar`);
  if (existsSync(file)) return PGlite.create({ loadDataDir: new Blob([readFileSync(file)]) });
  const pglite = await PGlite.create();
  await migrate(new Kysely<unknown>({ dialect: new PGliteDialect(pglite) }), createLogger('silent'));
  const dump = await pglite.dumpDataDir('none');
  // Written aside and renamed: a process reading it never sees half a file.
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, file);
  return pglite;
}

function templateKey(): string {
  const hash = createHash('sha256');
  hash.update(JSON.parse(readFileSync(join(projectRoot, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')).version as string);
  for (const name of readdirSync(migrationsDir).sort()) hash.update(name).update(readFileSync(join(migrationsDir, name)));
  return hash.digest('hex').slice(0, 16);
}
