import type { WriteOp } from '../../src/core/write-queue.js';
import { SecurityStore, type LockoutRow, type LoginFailureRow } from '../../src/security/store.js';

/** A store over two arrays that applies the service's WriteOps as Postgres would (equality matches). */
export function memoryStore() {
  const tables: Record<string, Record<string, unknown>[]> = { security_login_failures: [], security_lockouts: [] };
  const matches = (row: Record<string, unknown>, where: Record<string, unknown>) =>
    Object.entries(where).every(([k, v]) => (v === null ? row[k] === null : row[k] === v));
  const apply = (op: WriteOp) => {
    if ('insert' in op) tables[op.insert]!.push({ ...op.values });
    else for (const row of tables[op.update]!.filter((r) => matches(r, op.where))) Object.assign(row, op.set);
  };
  const store = new SecurityStore(undefined as never);
  Object.assign(store, {
    failuresSince: async (since: Date) => (tables.security_login_failures as unknown as LoginFailureRow[])
      .filter((r) => r.at >= since && (r.number_spent_at === null || r.phone_spent_at === null)),
    locksInForce: async (now: Date) => (tables.security_lockouts as unknown as LockoutRow[]).filter((r) => r.cleared_at === null && r.until > now),
  });
  const writes = { enqueue: async (_what: string, ops: WriteOp | WriteOp[]) => { for (const op of [ops].flat()) apply(op); } };
  return { store, writes, tables };
}

