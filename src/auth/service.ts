import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { HttpError, notFound } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { AuthFailures } from './failures.js';
import type { ApiTokenRow, TokenStore } from './store.js';

declare module '../core/events.js' {
  interface DomainEvents {
    'token.revoked': { tokenId: string };
  }
}

export const roles = ['admin', 'supervisor', 'agent'] as const;
export type Role = (typeof roles)[number];

/** Who is calling: from the bearer token. */
export interface Principal {
  role: Role;
  /** The agent an agent token belongs to; for a supervisor token, the supervisor it is bound to (if any). */
  agentId: string | null;
  /** null for the bootstrap admin token from the config; a session's id for a person signed in to the pages. */
  tokenId: string | null;
  /** Set when the principal comes from the pages' sign-in cookie, not a bearer token. */
  session?: { userId: string; username: string; csrfToken: string; expiresAt: string };
}

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Tokens look like `ctl_<43 url-safe characters>`: easy to spot in a leak scan. */
export const generateToken = (): string => `ctl_${randomBytes(32).toString('base64url')}`;

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

export interface TokenView { id: string; name: string; role: Role; agentId: string | null; createdAt: string; revokedAt: string | null }

const view = (row: ApiTokenRow): TokenView => ({
  id: row.id, name: row.name, role: row.role, agentId: row.agent_id,
  createdAt: row.created_at.toISOString(), revokedAt: row.revoked_at ? row.revoked_at.toISOString() : null,
});

export class AuthService {
  private readonly adminTokenHash: Buffer;
  /** Failed bearer-token authentications per client address (REST and the events socket). */
  readonly failures: AuthFailures;

  constructor(
    private readonly store: TokenStore,
    adminToken: string,
    private readonly bus: EventBus,
    /** The active agent an id names, if any (agent tokens must name one; supervisor tokens may name a supervisor). */
    private readonly activeAgent: (agentId: string) => Promise<{ isSupervisor: boolean } | undefined>,
    private readonly logger: Logger,
    failuresPerMinute = 10,
  ) {
    this.adminTokenHash = Buffer.from(hashToken(adminToken), 'hex');
    this.failures = new AuthFailures(logger, { limit: failuresPerMinute });
  }

  /**
   * The principal a token stands for, or undefined when it is unknown,
   * revoked, or bound to an agent who may no longer use it.
   */
  async authenticate(token: string): Promise<Principal | undefined> {
    const hash = hashToken(token);
    if (timingSafeEqual(Buffer.from(hash, 'hex'), this.adminTokenHash)) {
      return { role: 'admin', agentId: null, tokenId: null };
    }
    const row = await this.store.findActiveByHash(hash);
    return row && (await this.bindingHolds(row)) ? { role: row.role, agentId: row.agent_id, tokenId: row.id } : undefined;
  }

  /**
   * Counts a refused bearer token against its client's failure budget if it
   * is a guess: a token that exists but was revoked (or whose agent lost
   * access) is not one — it is an offboarded user's open page retrying, and
   * counting it would lock everyone on that address out. It still gets its
   * 401. Called only on the failure path, so a success costs no extra read;
   * if the lookup fails the token counts (fail closed against guessing).
   */
  async countFailure(token: string, address: string): Promise<void> {
    let known = false;
    try {
      known = await this.store.knownHash(hashToken(token));
    } catch (err) {
      this.logger.warn({ err }, 'looking up a refused token failed; counted as a failed authentication');
    }
    if (!known) this.failures.fail(address);
  }

  /**
   * The same principal if its token still holds (not revoked, its agent still
   * allowed), for principals kept past their request (playback tickets).
   */
  async stillValid(principal: Principal): Promise<Principal | undefined> {
    if (principal.tokenId === null) return principal;
    const row = await this.store.get(principal.tokenId);
    return row && !row.revoked_at && (await this.bindingHolds(row)) ? principal : undefined;
  }

  /**
   * Whether the agent a token is bound to is still active (and still a
   * supervisor, for a supervisor token). Offboarding revokes such tokens at
   * once (revokeBoundTo); this check on every request is the second line,
   * for a change that reached the database some other way. Its cost is one
   * primary-key read of the agent, and only for tokens bound to an agent.
   */
  private async bindingHolds(row: ApiTokenRow): Promise<boolean> {
    if (row.agent_id === null) return true;
    const agent = await this.activeAgent(row.agent_id);
    if (agent && (row.role !== 'supervisor' || agent.isSupervisor)) return true;
    this.logger.warn({ tokenId: row.id, agentId: row.agent_id, role: row.role }, 'token refused: its agent is no longer active or no longer a supervisor; revoking it');
    void this.revokeBoundTo(row.agent_id, row.role === 'supervisor' && agent ? 'supervisor_removed' : 'deactivated');
    return false;
  }

  /**
   * Offboarding: revokes the tokens bound to an agent who was deleted or
   * deactivated (every role), or who is no longer a supervisor (supervisor
   * tokens), and announces each revocation (open WebSockets close, playback
   * tickets die). Never throws: a failure is logged, and authenticate()
   * refuses those tokens anyway.
   */
  async revokeBoundTo(agentId: string, change: 'deleted' | 'deactivated' | 'supervisor_removed'): Promise<void> {
    try {
      const rows = await this.store.revokeBoundTo(agentId, change === 'supervisor_removed' ? ['supervisor'] : [...roles]);
      for (const row of rows) this.bus.emit('token.revoked', { tokenId: row.id });
      if (rows.length > 0) this.logger.info({ agentId, change, tokenIds: rows.map((r) => r.id) }, 'tokens revoked: their agent lost access');
    } catch (err) {
      this.logger.error({ err, agentId, change }, 'revoking the tokens of an agent who lost access failed; they are refused on use');
    }
  }

  /** Creates a token; the secret is returned once and only its hash is kept. */
  async createToken(input: { name: string; role: Role; agentId?: string }): Promise<TokenView & { token: string }> {
    if (input.role === 'agent' && !input.agentId) {
      throw new HttpError(400, 'bad_request', 'body/agentId is required for an agent token');
    }
    if (input.role === 'admin' && input.agentId) {
      throw new HttpError(400, 'bad_request', 'body/agentId is only for agent and supervisor tokens');
    }
    const agent = input.agentId ? await this.activeAgent(input.agentId) : undefined;
    if (input.agentId && !agent) throw new HttpError(400, 'bad_request', `body/agentId: no active agent ${input.agentId}`);
    if (input.role === 'supervisor' && agent && !agent.isSupervisor) {
      throw new HttpError(400, 'bad_request', `body/agentId: agent ${input.agentId} is not a supervisor`);
    }
    const token = generateToken();
    const row = await this.store.insert({
      id: randomUUID(), name: input.name, role: input.role, agent_id: input.agentId ?? null, token_hash: hashToken(token),
    });
    return { ...view(row), token };
  }

  async listTokens(): Promise<TokenView[]> {
    return (await this.store.list()).map(view);
  }

  async revokeToken(id: string): Promise<TokenView> {
    const revoked = await this.store.revoke(id);
    if (revoked) {
      this.logger.info({ tokenId: id }, 'token revoked');
      this.bus.emit('token.revoked', { tokenId: id });
    }
    const row = revoked ?? (await this.store.get(id));
    if (!row) throw notFound('token');
    return view(row);
  }
}
