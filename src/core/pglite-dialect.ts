import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult, type TransactionSettings,
} from 'kysely';

/**
 * Kysely over the embedded PGlite database, used when no DATABASE_URL is set.
 * PGlite is one connection, so the driver hands it out to one user at a time.
 */
export class PGliteDialect implements Dialect {
  constructor(private readonly pglite: PGlite) {}
  createAdapter() { return new PostgresAdapter(); }
  createDriver(): Driver { return new PGliteDriver(this.pglite); }
  createIntrospector(db: Kysely<unknown>) { return new PostgresIntrospector(db); }
  createQueryCompiler() { return new PostgresQueryCompiler(); }
}

class PGliteDriver implements Driver {
  private queue: Promise<void> = Promise.resolve();
  private readonly connection: DatabaseConnection;

  constructor(private readonly pglite: PGlite) {
    this.connection = {
      executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
        // Migrations are several statements in one text, which only the
        // simple protocol (exec) accepts; queries with parameters need query().
        const result = query.parameters.length === 0
          ? ((await pglite.exec(query.sql)).at(-1) ?? { rows: [], affectedRows: 0 })
          : await pglite.query<R>(query.sql, query.parameters as unknown[]);
        return { rows: result.rows as R[], numAffectedRows: result.affectedRows !== undefined ? BigInt(result.affectedRows) : undefined };
      },
      // eslint-disable-next-line require-yield
      streamQuery: async function* () { throw new Error('streaming is not supported on PGlite'); },
    };
  }

  async init(): Promise<void> { await this.pglite.waitReady; }

  private release: (() => void) | undefined;

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.queue;
    let release!: () => void;
    this.queue = new Promise<void>((resolve) => { release = resolve; });
    await previous;
    this.release = release;
    return this.connection;
  }

  async beginTransaction(conn: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('begin'));
  }
  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }
  async releaseConnection(): Promise<void> {
    const release = this.release;
    this.release = undefined;
    release?.();
  }
  async destroy(): Promise<void> { await this.pglite.close(); }
}
