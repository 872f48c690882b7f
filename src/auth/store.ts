import type { Generated, Kysely, Selectable } from 'kysely';
import type { Role } from './service.js';

export interface ApiTokensTable {
  id: string;
  name: string;
  role: Role;
  agent_id: string | null;
  token_hash: string;
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface UsersTable {
  id: string;
  username: string;
  role: Role;
  agent_id: string | null;
  password_hash: string;
  active: boolean;
  created_at: Date;
  password_changed_at: Date;
}

export interface UserSessionsTable {
  id: string;
  user_id: string;
  secret_hash: string;
  csrf_token: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  end_reason: string | null;
  address: string | null;
  user_agent: string | null;
}

export interface AuthTables { api_tokens: ApiTokensTable; users: UsersTable; user_sessions: UserSessionsTable }
export type ApiTokenRow = Selectable<ApiTokensTable>;

export class TokenStore {
  constructor(private readonly db: Kysely<AuthTables>) {}

  findActiveByHash(tokenHash: string): Promise<ApiTokenRow | undefined> {
    return this.db.selectFrom('api_tokens').selectAll()
      .where('token_hash', '=', tokenHash).where('revoked_at', 'is', null)
      .executeTakeFirst();
  }

  /** Whether any token, revoked or not, has this hash (an index lookup on the unique token_hash). */
  async knownHash(tokenHash: string): Promise<boolean> {
    const row = await this.db.selectFrom('api_tokens').select('id').where('token_hash', '=', tokenHash).executeTakeFirst();
    return row !== undefined;
  }

  async insert(row: Omit<ApiTokensTable, 'created_at' | 'revoked_at'>): Promise<ApiTokenRow> {
    return this.db.insertInto('api_tokens').values(row).returningAll().executeTakeFirstOrThrow();
  }

  list(): Promise<ApiTokenRow[]> {
    return this.db.selectFrom('api_tokens').selectAll().orderBy('created_at').execute();
  }

  async revoke(id: string): Promise<ApiTokenRow | undefined> {
    return this.db.updateTable('api_tokens').set({ revoked_at: new Date() })
      .where('id', '=', id).where('revoked_at', 'is', null)
      .returningAll().executeTakeFirst();
  }

  /** Revokes the live tokens of these roles bound to an agent; returns them. */
  revokeBoundTo(agentId: string, ofRoles: Role[]): Promise<ApiTokenRow[]> {
    return this.db.updateTable('api_tokens').set({ revoked_at: new Date() })
      .where('agent_id', '=', agentId).where('role', 'in', ofRoles).where('revoked_at', 'is', null)
      .returningAll().execute();
  }

  get(id: string): Promise<ApiTokenRow | undefined> {
    return this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  }
}
