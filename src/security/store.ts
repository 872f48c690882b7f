import type { Insertable, Kysely, Selectable } from 'kysely';
import type { WriteOp } from '../core/write-queue.js';
import type { LockKind } from './lockouts.js';

export interface SecurityLoginFailuresTable {
  id: string;
  at: Date;
  /** null: a sign-in at the pages (username says which name was tried) */
  extension: string | null;
  number: string | null;
  number_spent_at: Date | null;
  phone_spent_at: Date | null;
  username: string | null;
  username_spent_at: Date | null;
}

export interface SecurityLockoutsTable {
  id: string;
  kind: LockKind;
  subject: string;
  failures: number;
  locked_at: Date;
  until: Date;
  cleared_at: Date | null;
  cleared_by_token: string | null;
  cleared_by_role: string | null;
}

export interface SecurityTables { security_login_failures: SecurityLoginFailuresTable; security_lockouts: SecurityLockoutsTable }
export type LoginFailureRow = Selectable<SecurityLoginFailuresTable>;
export type LockoutRow = Selectable<SecurityLockoutsTable>;

/** The lockout's rows: writes as `WriteOp`s for the write queue, reads for the start-up rebuild. */
export class SecurityStore {
  constructor(private readonly db: Kysely<SecurityTables>) {}

  insertFailure(row: Insertable<SecurityLoginFailuresTable>): WriteOp {
    return { insert: 'security_login_failures', values: { ...row } };
  }

  /** The failures still counted for a number, a phone or a name stop counting (a lock, a right PIN or password, a lock cleared). */
  spendFailures(kind: LockKind, subject: string, at: Date): WriteOp {
    switch (kind) {
      case 'number': return { update: 'security_login_failures', set: { number_spent_at: at }, where: { number: subject, number_spent_at: null } };
      case 'phone': return { update: 'security_login_failures', set: { phone_spent_at: at }, where: { extension: subject, phone_spent_at: null } };
      case 'user': return { update: 'security_login_failures', set: { username_spent_at: at }, where: { username: subject, username_spent_at: null } };
    }
  }

  insertLock(row: Omit<Insertable<SecurityLockoutsTable>, 'cleared_at' | 'cleared_by_token' | 'cleared_by_role'>): WriteOp {
    return { insert: 'security_lockouts', values: { ...row, cleared_at: null, cleared_by_token: null, cleared_by_role: null } };
  }

  clearLock(id: string, at: Date, by: { tokenId: string | null; role: string }): WriteOp {
    return { update: 'security_lockouts', set: { cleared_at: at, cleared_by_token: by.tokenId, cleared_by_role: by.role }, where: { id, cleared_at: null } };
  }

  /** Failures at or after `since` that still count for their number, their phone or their name. */
  async failuresSince(since: Date): Promise<LoginFailureRow[]> {
    return this.db.selectFrom('security_login_failures').selectAll()
      .where('at', '>=', since)
      .where((eb) => eb.or([eb('number_spent_at', 'is', null), eb('phone_spent_at', 'is', null), eb('username_spent_at', 'is', null)]))
      .orderBy('at').execute();
  }

  /** Locks not cleared that last beyond `now`. */
  async locksInForce(now: Date): Promise<LockoutRow[]> {
    return this.db.selectFrom('security_lockouts').selectAll()
      .where('cleared_at', 'is', null).where('until', '>', now)
      .orderBy('locked_at').execute();
  }
}
