import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, statementKind, type DatabaseHandle, type StatementKind } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';

/**
 * The statement hook of a database handle (what centralita_db_statements_total
 * and the load benchmark count): every statement sent through Kysely, with a
 * transaction's begin and commit, on the embedded database (the same hook
 * serves the Postgres pool).
 */
describe('database statements counted at the handle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'centralita-db-statements-'));
  let database: DatabaseHandle<{ t: { id: number } }>;
  const seen: StatementKind[] = [];
  before(async () => {
    database = await openDatabase<{ t: { id: number } }>({ databaseUrl: undefined, dataDir: dir }, createLogger('silent'));
  });
  after(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports each statement by kind, transactions included, and nothing once unsubscribed', async () => {
    const off = database.onStatement!((kind) => seen.push(kind));
    const { db } = database;
    await sql`create table t (id integer)`.execute(db);
    await db.transaction().execute(async (tx) => {
      await tx.insertInto('t').values({ id: 1 }).execute();
      await tx.updateTable('t').set({ id: 2 }).execute();
    });
    await db.selectFrom('t').selectAll().execute();
    await db.deleteFrom('t').execute();
    await assert.rejects(sql`select * from no_such_table`.execute(db));
    assert.deepEqual(seen, ['other', 'transaction', 'insert', 'update', 'transaction', 'select', 'delete', 'select']);
    off();
    await db.selectFrom('t').selectAll().execute();
    assert.equal(seen.length, 8);
  });

  it('names a statement by its first word', () => {
    assert.deepEqual(['  SELECT 1', 'insert into t', 'Update t', 'delete from t', 'begin', 'COMMIT', 'rollback', 'with x as (select 1) select 1', ''].map(statementKind),
      ['select', 'insert', 'update', 'delete', 'transaction', 'transaction', 'transaction', 'other', 'other']);
  });
});
