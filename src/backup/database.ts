import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { sql, type Kysely } from 'kysely';

const run = promisify(execFile);

/**
 * Tables that hold rows in a database centralita has only started on:
 * the migrations' bookkeeping, the pause reasons migration 002 seeds (a
 * restore replaces them with the backup's), and the rollups' state (the
 * retention's watermark: a row migration 017 makes).
 */
const bookkeeping = new Set(['schema_migrations', 'pause_reasons', 'report_rollup_state', 'report_dirty', 'report_events_purged', 'leader_lease']);

/** The centralita tables (schema public) that hold rows, bookkeeping left out. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- every table, whatever the schema version
export async function tablesWithRows(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public' order by tablename`.execute(db);
  const full: string[] = [];
  for (const { tablename } of rows) {
    if (bookkeeping.has(tablename)) continue;
    const found = await sql<{ found: boolean }>`select exists (select 1 from ${sql.table(tablename)}) as found`.execute(db);
    if (found.rows[0]?.found) full.push(tablename);
  }
  return full;
}

/** A connection string without its password, and the password (given to the tools as PGPASSWORD, never on their command line). */
function splitPassword(databaseUrl: string): { url: string; password: string | undefined } {
  const url = new URL(databaseUrl);
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  url.password = '';
  return { url: url.toString(), password };
}

export class ToolVersionMismatch extends Error {
  constructor(tool: string, path: string, toolMajor: number, serverMajor: number) {
    super(`${path} is PostgreSQL ${toolMajor}'s ${tool} but the server is PostgreSQL ${serverMajor}: install postgresql-client-${serverMajor} `
      + `(Debian 12 ships 15; other versions come from apt.postgresql.org), which puts it in /usr/lib/postgresql/${serverMajor}/bin. `
      + 'An older pg_dump refuses to dump a newer server, an older pg_restore cannot read the archives of a newer pg_dump, '
      + 'and a newer one writes archives an older pg_restore cannot read, so centralita uses only the server\'s own version');
    this.name = 'ToolVersionMismatch';
  }
}

/** The server's major version (15 for 15.20). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a setting, whatever the schema
export async function serverMajor(db: Kysely<any>): Promise<{ major: number; version: string }> {
  const { rows } = await sql<{ server_version: string }>`show server_version`.execute(db);
  const version = rows[0]!.server_version;
  return { major: Number(/^(\d+)/.exec(version)![1]), version };
}

/**
 * The pg_dump or pg_restore of the server's major version: Debian's
 * /usr/lib/postgresql/<major>/bin when installed (several versions side by
 * side), else the one on the PATH, whose version must then be the server's.
 */
export async function postgresTool(tool: 'pg_dump' | 'pg_restore' | 'psql', major: number): Promise<{ path: string; version: string }> {
  const debian = `/usr/lib/postgresql/${major}/bin/${tool}`;
  const path = existsSync(debian) ? debian : tool;
  let stdout: string;
  try {
    ({ stdout } = await run(path, ['--version']));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${tool} not found: install postgresql-client-${major} (apt install postgresql-client on Debian 12 for PostgreSQL 15)`, { cause: err });
    throw err;
  }
  const version = /(\d+)(?:\.(\d+))?/.exec(stdout)?.[0] ?? stdout.trim();
  const toolMajor = Number(/^(\d+)/.exec(version)?.[1]);
  if (toolMajor !== major) throw new ToolVersionMismatch(tool, path, toolMajor, major);
  return { path, version };
}

async function runTool(path: string, args: string[], databaseUrl: string): Promise<void> {
  const { url, password } = splitPassword(databaseUrl);
  const env = { ...process.env, ...(password !== undefined ? { PGPASSWORD: password } : {}) };
  try {
    await run(path, [...args, `--dbname=${url}`], { env, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`${path} failed${stderr ? `: ${stderr}` : `: ${(err as Error).message}`}`, { cause: err });
  }
}

/**
 * pg_dump in custom format (compressed, restorable table by table), without
 * owners (the restoring user owns what it restores), of the snapshot another
 * transaction exported, so the dump and what that transaction reads (the
 * manifest's rows) are the same moment of the database.
 */
export async function pgDump(tool: string, databaseUrl: string, file: string, snapshot: string): Promise<void> {
  await runTool(tool, ['--format=custom', '--no-owner', `--snapshot=${snapshot}`, `--file=${file}`], databaseUrl);
}

/** The schema centralita's migrations create everything in (none of its own: the database's `public`). */
export const centralitaSchema = 'public';

/**
 * Restores a pg_dump archive over whatever the database holds, in one
 * transaction: centralita's schema is dropped and created again, then the
 * archive's script (pg_restore to stdout, read by psql) fills it. `pg_restore
 * --clean` alone would drop only the archive's objects, leaving a table or a
 * migration row of a later version behind. psql is given BEGIN, the script,
 * and COMMIT only once pg_restore has finished well: an error in the script
 * (ON_ERROR_STOP) or a pg_restore that fails ends psql without a commit, and
 * the server rolls the whole transaction back, the database as it was.
 */
export async function pgRestoreReplacing(tools: { pgRestore: string; psql: string }, databaseUrl: string, file: string): Promise<void> {
  const { url, password } = splitPassword(databaseUrl);
  const env = { ...process.env, ...(password !== undefined ? { PGPASSWORD: password } : {}) };
  const psql = spawn(tools.psql, ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--dbname=${url}`], { env, stdio: ['pipe', 'ignore', 'pipe'] });
  const restore = spawn(tools.pgRestore, ['--no-owner', '--file=-', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = { psql: '', restore: '' };
  psql.stderr.on('data', (chunk: Buffer) => { stderr.psql += chunk.toString(); });
  restore.stderr.on('data', (chunk: Buffer) => { stderr.restore += chunk.toString(); });
  const exited = (child: typeof psql | typeof restore) => new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  });
  const restoreExit = exited(restore);
  // A psql that stopped on an error reads no more: pg_restore, blocked on a full pipe, is ended.
  const psqlExit = exited(psql).finally(() => { if (restore.exitCode === null) restore.kill(); });
  psqlExit.catch(() => undefined); // awaited below, after pg_restore
  psql.stdin.on('error', () => undefined);
  psql.stdin.write(`begin;\ndrop schema if exists ${centralitaSchema} cascade;\ncreate schema ${centralitaSchema};\n`);
  restore.stdout.pipe(psql.stdin, { end: false });
  const restoreCode = await restoreExit;
  if (restoreCode === 0) psql.stdin.end('commit;\n');
  else psql.stdin.end();
  const psqlCode = await psqlExit;
  if (psqlCode === 0 && restoreCode !== 0) throw new Error(`${tools.pgRestore} failed (nothing was changed)${stderr.restore.trim() ? `: ${stderr.restore.trim()}` : ''}`);
  if (psqlCode !== 0) throw new Error(`${tools.psql} failed restoring ${file} (nothing was changed)${stderr.psql.trim() ? `: ${stderr.psql.trim()}` : ''}`);
}
