import { sql, type Insertable, type Kysely, type Selectable, type Updateable } from 'kysely';
import type { WriteOp } from '../core/write-queue.js';
import type { AuthTables, UserSessionsTable, UsersTable } from './store.js';

export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<UserSessionsTable>;
export type SessionWithUser = SessionRow & Pick<UserRow, 'username' | 'role' | 'agent_id' | 'active'>;

/** Users who sign in to the pages, and their sessions. */
export class UsersStore {
  constructor(private readonly db: Kysely<AuthTables>) {}

  insertUser(row: Insertable<UsersTable>): Promise<UserRow> {
    return this.db.insertInto('users').values(row).returningAll().executeTakeFirstOrThrow();
  }

  listUsers(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('username').execute();
  }

  getUser(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** A user by name (any case). */
  byName(name: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where(sql`lower(username)`, '=', name.toLowerCase()).executeTakeFirst();
  }

  byAgent(agentId: string): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().where('agent_id', '=', agentId).execute();
  }

  async hasAdmin(): Promise<boolean> {
    return (await this.db.selectFrom('users').select('id').where('role', '=', 'admin').limit(1).executeTakeFirst()) !== undefined;
  }

  updateUser(id: string, change: Updateable<UsersTable>): Promise<UserRow | undefined> {
    return this.db.updateTable('users').set(change).where('id', '=', id).returningAll().executeTakeFirst();
  }

  async deleteUser(id: string): Promise<boolean> {
    return (await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst()).numDeletedRows > 0n;
  }

  insertSession(row: Insertable<UserSessionsTable>): Promise<SessionRow> {
    return this.db.insertInto('user_sessions').values(row).returningAll().executeTakeFirstOrThrow();
  }

  /** An open session by its secret's hash, with its user. */
  openSession(secretHash: string): Promise<SessionWithUser | undefined> {
    return this.db.selectFrom('user_sessions').innerJoin('users', 'users.id', 'user_sessions.user_id')
      .selectAll('user_sessions').select(['users.username', 'users.role', 'users.agent_id', 'users.active'])
      .where('user_sessions.secret_hash', '=', secretHash).where('user_sessions.ended_at', 'is', null)
      .executeTakeFirst();
  }

  /** Open sessions (all, or one user's), newest first, with their users. */
  openSessions(userId?: string): Promise<SessionWithUser[]> {
    let query = this.db.selectFrom('user_sessions').innerJoin('users', 'users.id', 'user_sessions.user_id')
      .selectAll('user_sessions').select(['users.username', 'users.role', 'users.agent_id', 'users.active'])
      .where('user_sessions.ended_at', 'is', null);
    if (userId) query = query.where('user_sessions.user_id', '=', userId);
    return query.orderBy('user_sessions.created_at', 'desc').execute();
  }

  /** Ends open sessions (one, or all of some users); returns the ids ended. */
  async endSessions(where: { id: string } | { userIds: string[] }, at: Date, reason: string): Promise<string[]> {
    if ('userIds' in where && where.userIds.length === 0) return [];
    const rows = await this.db.updateTable('user_sessions').set({ ended_at: at, end_reason: reason })
      .where('ended_at', 'is', null)
      .where((eb) => ('id' in where ? eb('id', '=', where.id) : eb('user_id', 'in', where.userIds)))
      .returning('id').execute();
    return rows.map((r) => r.id);
  }

  /** A session was used: kept open for another idle period (through the write queue: no request waits for it). */
  touch(id: string, at: Date): WriteOp {
    return { update: 'user_sessions', set: { last_seen_at: at }, where: { id, ended_at: null } };
  }
}
