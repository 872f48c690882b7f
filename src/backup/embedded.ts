import { existsSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import type { Config } from '../core/config.js';
import { pgliteDir } from '../core/db.js';
import { PGliteDialect } from '../core/pglite-dialect.js';
import { journalHolder, journalPathIn } from '../core/journal.js';

/**
 * Refuses while a centralita runs on this data directory (it holds the
 * write journal's lock): the embedded database has one writer, and a
 * restore must not change the database or the journal under a running service.
 */
export function refuseWhileRunning(config: Pick<Config, 'dataDir'>, what: string): void {
  const pid = journalHolder(journalPathIn(config.dataDir));
  if (pid !== undefined) throw new Error(`centralita is running on ${config.dataDir} (pid ${pid}): stop it to ${what}`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- every table
export interface Embedded { pglite: PGlite; db: Kysely<any>; close(): Promise<void> }

/** Opens the embedded database of a data directory (or loads one from a PGlite dump into a folder that does not exist yet). */
export async function openEmbedded(dataDir: string, options: { mustExist?: boolean; load?: Blob } = {}): Promise<Embedded> {
  const dir = pgliteDir(dataDir);
  if (options.mustExist && !existsSync(dir)) throw new Error(`there is no embedded database in ${dir}: centralita has not run with CENTRALITA_DATA_DIR=${dataDir}`);
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = new PGlite(dir, options.load ? { loadDataDir: options.load } : {});
  await pglite.waitReady;
  const db = new Kysely({ dialect: new PGliteDialect(pglite) });
  return {
    pglite, db,
    // Kysely closes PGlite only when it has run a query.
    async close() {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}
