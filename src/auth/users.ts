import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { conflict, HttpError, notFound } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { WriteQueue } from '../core/write-queue.js';
import type { SecurityService } from '../security/service.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import type { Principal, Role } from './service.js';
import type { SessionRow, SessionWithUser, UserRow, UsersStore } from './users-store.js';

export interface UserView { id: string; username: string; role: Role; agentId: string | null; active: boolean; createdAt: string; passwordChangedAt: string }
export interface SessionView {
  id: string; userId: string; username: string; role: Role; createdAt: string; lastSeenAt: string; expiresAt: string;
  address: string | null; userAgent: string | null;
}

/** What the users need of the agents: an agent's access, and an agent by number. */
export interface AgentLookup {
  access(agentId: string): Promise<{ isSupervisor: boolean } | undefined>;
  findByNumber(number: string): Promise<{ id: string } | undefined>;
}

export interface SessionOptions {
  /** A session unused this long ends. */
  idleMs: number;
  /** A session ends this long after sign-in, used or not. */
  maxMs: number;
}

/** Who ended a session, for the log and the row. */
export type EndReason = 'signed_out' | 'idle' | 'expired' | 'ended_by_admin' | 'password_changed' | 'user_disabled' | 'user_deleted'
  | 'agent_deleted' | 'agent_deactivated' | 'supervisor_removed' | 'role_changed';

const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');
/** How often a session's last use is written: within this, a request changes nothing stored. */
const touchEveryMs = 60_000;

const userView = (row: UserRow): UserView => ({
  id: row.id, username: row.username, role: row.role, agentId: row.agent_id, active: row.active,
  createdAt: row.created_at.toISOString(), passwordChangedAt: row.password_changed_at.toISOString(),
});
const sessionView = (row: SessionWithUser): SessionView => ({
  id: row.id, userId: row.user_id, username: row.username, role: row.role, createdAt: row.created_at.toISOString(),
  lastSeenAt: row.last_seen_at.toISOString(), expiresAt: row.expires_at.toISOString(), address: row.address, userAgent: row.user_agent,
});

const badRequest = (field: string, message: string) => new HttpError(400, 'bad_request', `${field}: ${message}`);

/**
 * People who sign in to the pages with a name and a password, and their
 * sessions. A session is a random secret in an HttpOnly cookie (only its
 * hash is stored) and a CSRF token the pages send back on every change
 * (src/auth/http.ts checks both). It ends at sign-out, after `idleMs`
 * unused, `maxMs` after sign-in, when an admin ends it, when the password
 * is reset, and when the user or their agent loses access (offboarding).
 * Wrong passwords count against the name tried under the phone PIN's
 * lockout rules (SecurityService, kind `user`).
 */
export class UsersService {
  /** Each session's last use since this process started (the row's last_seen_at is written at most once a minute). */
  private readonly touched = new Map<string, number>();
  /** When each session's last use was last written. */
  private readonly written = new Map<string, number>();
  /** The sign-in in progress for each name (lower case): the next waits for it. */
  private readonly signingIn = new Map<string, Promise<void>>();

  constructor(
    private readonly store: UsersStore,
    private readonly agents: AgentLookup,
    private readonly security: Pick<SecurityService, 'userLock' | 'loginFailed' | 'loginSucceeded'>,
    private readonly writes: Pick<WriteQueue, 'enqueue'>,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly options: SessionOptions,
  ) {}

  async createUser(input: { username: string; password: string; role: Role; agentId?: string }): Promise<UserView> {
    await this.checkBinding(input.role, input.agentId ?? null, 'body');
    if (await this.store.byName(input.username)) throw conflict(`a user named ${input.username} exists`);
    if (input.agentId && (await this.store.byAgent(input.agentId)).length > 0) throw conflict(`agent ${input.agentId} has a user already`);
    const now = new Date();
    const row = await this.store.insertUser({
      id: randomUUID(), username: input.username, role: input.role, agent_id: input.agentId ?? null,
      password_hash: await hashPassword(input.password), active: true, created_at: now, password_changed_at: now,
    }).catch((err: unknown) => {
      // two creations of the same name or agent at once: the unique index decides
      if ((err as { code?: string }).code === '23505') throw conflict(`a user named ${input.username}, or one for agent ${input.agentId}, exists`);
      throw err;
    });
    this.logger.info({ userId: row.id, username: row.username, role: row.role, agentId: row.agent_id }, 'user created');
    return userView(row);
  }

  /**
   * The first admin, from `centralita create-admin` (no HTTP): refused once
   * any admin user exists.
   */
  async createFirstAdmin(username: string, password: string): Promise<UserView> {
    if (await this.store.hasAdmin()) throw conflict('an admin user exists already: sign in as that admin to add users');
    return this.createUser({ username, password, role: 'admin' });
  }

  async listUsers(): Promise<UserView[]> {
    return (await this.store.listUsers()).map(userView);
  }

  async getUser(id: string): Promise<UserView> {
    const row = await this.store.getUser(id);
    if (!row) throw notFound(`user ${id}`);
    return userView(row);
  }

  /** Changes a user's role, agent or active flag; a change of who they are (role, agent) or a disabling ends their sessions. */
  async updateUser(id: string, change: { role?: Role; agentId?: string | null; active?: boolean }): Promise<UserView> {
    const current = await this.store.getUser(id);
    if (!current) throw notFound(`user ${id}`);
    const role = change.role ?? current.role;
    const agentId = change.agentId !== undefined ? change.agentId : role === 'admin' ? null : current.agent_id;
    if (change.role !== undefined || change.agentId !== undefined) await this.checkBinding(role, agentId, 'body');
    if (agentId && agentId !== current.agent_id && (await this.store.byAgent(agentId)).length > 0) throw conflict(`agent ${agentId} has a user already`);
    const row = await this.store.updateUser(id, { role, agent_id: agentId, ...(change.active !== undefined ? { active: change.active } : {}) });
    if (!row) throw notFound(`user ${id}`);
    if (change.active === false && current.active) await this.endSessionsOf([id], 'user_disabled');
    else if (role !== current.role || agentId !== current.agent_id) await this.endSessionsOf([id], 'role_changed');
    this.logger.info({ userId: id, role, agentId, active: row.active }, 'user changed');
    return userView(row);
  }

  /** An admin sets a new password: every session of the user ends. */
  async resetPassword(id: string, password: string): Promise<UserView> {
    const row = await this.store.updateUser(id, { password_hash: await hashPassword(password), password_changed_at: new Date() });
    if (!row) throw notFound(`user ${id}`);
    await this.endSessionsOf([id], 'password_changed');
    this.logger.warn({ userId: id }, 'password reset by an admin');
    return userView(row);
  }

  /** A user changes their own password (the current one asked): their other sessions end. */
  async changeOwnPassword(principal: Principal, current: string, password: string): Promise<void> {
    const session = principal.session;
    if (!session) throw new HttpError(409, 'not_a_session', 'only a person signed in to the pages has a password (this is an API token)');
    const row = await this.store.getUser(session.userId);
    if (!row) throw notFound(`user ${session.userId}`);
    // A wrong current password counts like a wrong sign-in: an open session must not be a way to guess it.
    const subject = row.username.toLowerCase();
    if (this.security.userLock(subject)) throw new HttpError(429, 'locked_out', 'too many wrong passwords for this user; ask an admin to lift the lock');
    if (!(await verifyPassword(current, row.password_hash))) {
      this.security.loginFailed({ user: subject });
      throw badRequest('body/current', 'is not the current password');
    }
    this.security.loginSucceeded({ user: subject });
    await this.store.updateUser(row.id, { password_hash: await hashPassword(password), password_changed_at: new Date() });
    const others = (await this.store.openSessions(row.id)).filter((s) => s.id !== principal.tokenId).map((s) => s.id);
    for (const id of others) await this.endSession(id, 'password_changed');
    this.logger.info({ userId: row.id }, 'password changed by its user');
  }

  async deleteUser(id: string): Promise<void> {
    const sessions = (await this.store.openSessions(id)).map((s) => s.id);
    if (!(await this.store.deleteUser(id))) throw notFound(`user ${id}`);
    // the rows went with the user: the open pages are told
    for (const sessionId of sessions) this.bus.emit('token.revoked', { tokenId: sessionId });
    this.logger.info({ userId: id, sessionsEnded: sessions.length }, 'user deleted');
  }

  /**
   * Signs a person in by name (or, for an agent, the agent number) and
   * password. Refused alike for an unknown name, a wrong password and a
   * disabled user (401, the time of a hash check each). Wrong passwords
   * count against the account (its name, whichever way it was typed) under
   * the phone PIN's lockout rules: a locked account gets 429 without its
   * password being checked. Attempts for one name run one after another, so
   * that a burst of guesses in parallel meets the lock as a series would.
   */
  signIn(name: string, password: string, from: { address: string | null; userAgent: string | null }): Promise<{ secret: string; session: SessionWithUser }> {
    const key = name.toLowerCase();
    const previous = this.signingIn.get(key) ?? Promise.resolve();
    const attempt = previous.then(() => this.signInNow(name, password, from), () => this.signInNow(name, password, from));
    const settled = attempt.then(() => undefined, () => undefined);
    this.signingIn.set(key, settled);
    void settled.then(() => { if (this.signingIn.get(key) === settled) this.signingIn.delete(key); });
    return attempt;
  }

  private async signInNow(name: string, password: string, from: { address: string | null; userAgent: string | null }): Promise<{ secret: string; session: SessionWithUser }> {
    const user = await this.findForSignIn(name);
    // The account's own name is the lock's subject (an agent's number and name lock together); an unknown
    // name locks nothing (there is no account to protect: the per-address limit slows a guesser), and is not
    // logged or stored, as people sometimes type their password there.
    const subject = user?.username.toLowerCase();
    const lock = subject ? this.security.userLock(subject) : undefined;
    if (lock) {
      const retryAfter = Math.max(1, Math.ceil((Date.parse(lock.until) - Date.now()) / 1000));
      throw Object.assign(new HttpError(429, 'locked_out', `too many wrong passwords for this user; try again in ${retryAfter} s or ask an admin to lift the lock`), { retryAfter });
    }
    const ok = await verifyPassword(password, user?.password_hash ?? (await decoyHash()));
    if (!user || !ok || !user.active || !(await this.bindingHolds(user))) {
      if (subject && !ok) this.security.loginFailed({ user: subject });
      this.logger.info({ user: subject ?? '(unknown name)', address: from.address, reason: !user || !ok ? 'wrong name or password' : 'user without access' }, 'sign-in refused');
      throw new HttpError(401, 'unauthorized', 'the name or the password is wrong, or this user may not sign in');
    }
    this.security.loginSucceeded({ user: subject! });
    const secret = `cts_${randomBytes(32).toString('base64url')}`;
    const now = new Date();
    const row = await this.store.insertSession({
      id: randomUUID(), user_id: user.id, secret_hash: hashSecret(secret), csrf_token: randomBytes(24).toString('base64url'),
      created_at: now, last_seen_at: now, expires_at: new Date(now.getTime() + this.options.maxMs),
      ended_at: null, end_reason: null, address: from.address, user_agent: from.userAgent?.slice(0, 300) ?? null,
    });
    this.logger.info({ userId: user.id, username: user.username, role: user.role, sessionId: row.id, address: from.address }, 'signed in');
    return { secret, session: { ...row, username: user.username, role: user.role, agent_id: user.agent_id, active: user.active } };
  }

  /** Whether a text is a session secret (the cookie's), not an API token. */
  static isSessionSecret(text: string): boolean {
    return text.startsWith('cts_');
  }

  /**
   * The principal a session cookie stands for, or undefined when the session
   * is unknown, ended, expired (ended now, with its reason), or its user lost
   * access. A use is written at most once a minute, through the write queue.
   */
  async authenticate(secret: string): Promise<Principal | undefined> {
    const row = await this.store.openSession(hashSecret(secret));
    if (!row) return undefined;
    const now = Date.now();
    const ended = this.expiry(row, now);
    if (ended) {
      await this.endSession(row.id, ended);
      return undefined;
    }
    if (!row.active || !(await this.bindingHolds(row))) return undefined;
    this.touch(row.id, row.last_seen_at.getTime(), now);
    return {
      role: row.role, agentId: row.agent_id, tokenId: row.id,
      session: { userId: row.user_id, username: row.username, csrfToken: row.csrf_token, expiresAt: row.expires_at.toISOString() },
    };
  }

  /**
   * The same principal if its session is still open and its user may still
   * sign in, for principals kept past their request (playback tickets).
   */
  async stillValid(principal: Principal): Promise<Principal | undefined> {
    if (!principal.tokenId || !principal.session) return undefined;
    const row = (await this.store.openSessions(principal.session.userId)).find((s) => s.id === principal.tokenId);
    const now = Date.now();
    const lastSeen = Math.max(row?.last_seen_at.getTime() ?? 0, this.touched.get(principal.tokenId) ?? 0);
    if (!row || row.expires_at.getTime() <= now || lastSeen + this.options.idleMs <= now || !row.active || !(await this.bindingHolds(row))) return undefined;
    return principal;
  }

  /** A use of a session: kept in memory at once, written at most once a minute (through the write queue). */
  private touch(id: string, storedAt: number, now: number): void {
    if (this.touched.size > 10_000) this.forgetIdle(now);
    this.touched.set(id, now);
    if (now - Math.max(storedAt, this.written.get(id) ?? 0) < touchEveryMs) return;
    this.written.set(id, now);
    void this.writes.enqueue(`session ${id} used`, this.store.touch(id, new Date(now)));
  }

  /** Drops the memory of sessions unused for longer than the idle time (they end at their next use anyway). */
  private forgetIdle(now: number): void {
    for (const [id, at] of this.touched) {
      if (at + this.options.idleMs > now) continue;
      this.touched.delete(id);
      this.written.delete(id);
    }
  }

  /** Whether the CSRF token a page sent is its session's. */
  static csrfMatches(principal: Principal, sent: string | undefined): boolean {
    const expected = principal.session?.csrfToken;
    if (!expected || !sent) return false;
    const a = Buffer.from(expected);
    const b = Buffer.from(sent);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  async listSessions(): Promise<SessionView[]> {
    const now = Date.now();
    return (await this.store.openSessions()).filter((s) => !this.expiry(s, now)).map(sessionView);
  }

  /** Why an open session is over at `now` (its absolute or idle expiry), or undefined while it holds. */
  private expiry(row: SessionRow, now: number): 'expired' | 'idle' | undefined {
    if (row.expires_at.getTime() <= now) return 'expired';
    return Math.max(row.last_seen_at.getTime(), this.touched.get(row.id) ?? 0) + this.options.idleMs <= now ? 'idle' : undefined;
  }

  /**
   * Ends the open sessions past their expiry (run every few minutes): a page
   * left open on a live feed, or a browser closed without signing out, is
   * closed now rather than at its next use; its sockets close with it.
   */
  async sweep(now = Date.now()): Promise<number> {
    let ended = 0;
    for (const row of await this.store.openSessions()) {
      const reason = this.expiry(row, now);
      if (reason && await this.endSession(row.id, reason)) ended += 1;
    }
    return ended;
  }

  /** Ends one session (sign-out, an admin, expiry): its pages' sockets close and its cookie stops working. */
  async endSession(id: string, reason: EndReason): Promise<boolean> {
    const ended = await this.store.endSessions({ id }, new Date(), reason);
    for (const sessionId of ended) this.ended(sessionId, reason);
    return ended.length > 0;
  }

  /** Offboarding: the sessions of the users bound to an agent who lost access end at once. */
  async endSessionsOfAgent(agentId: string, change: 'deleted' | 'deactivated' | 'supervisor_removed'): Promise<void> {
    try {
      const users = (await this.store.byAgent(agentId)).filter((u) => change !== 'supervisor_removed' || u.role === 'supervisor');
      await this.endSessionsOf(users.map((u) => u.id), change === 'deleted' ? 'agent_deleted' : change === 'deactivated' ? 'agent_deactivated' : 'supervisor_removed');
    } catch (err) {
      this.logger.error({ err, agentId, change }, 'ending the sessions of an agent who lost access failed; they are refused on use');
    }
  }

  private async endSessionsOf(userIds: string[], reason: EndReason): Promise<void> {
    const ended = await this.store.endSessions({ userIds }, new Date(), reason);
    for (const sessionId of ended) this.ended(sessionId, reason);
  }

  private ended(sessionId: string, reason: EndReason): void {
    this.touched.delete(sessionId);
    this.written.delete(sessionId);
    this.bus.emit('token.revoked', { tokenId: sessionId });
    this.logger.info({ sessionId, reason }, 'session ended');
  }

  private async findForSignIn(name: string): Promise<UserRow | undefined> {
    const byName = await this.store.byName(name);
    if (byName || !/^[0-9]{1,10}$/.test(name)) return byName;
    // An agent may sign in with the agent number.
    const agent = await this.agents.findByNumber(name);
    return agent ? (await this.store.byAgent(agent.id)).find((u) => u.role === 'agent') : undefined;
  }

  /** A supervisor user's agent must still be an active supervisor, an agent user's an active agent. */
  private async bindingHolds(user: Pick<UserRow, 'role' | 'agent_id'>): Promise<boolean> {
    if (user.agent_id === null) return user.role === 'admin';
    const agent = await this.agents.access(user.agent_id);
    return agent !== undefined && (user.role !== 'supervisor' || agent.isSupervisor);
  }

  private async checkBinding(role: Role, agentId: string | null, at: string): Promise<void> {
    if (role === 'admin') {
      if (agentId) throw badRequest(`${at}/agentId`, 'an admin is bound to no agent');
      return;
    }
    if (!agentId) throw badRequest(`${at}/agentId`, `is required for the ${role} role`);
    const agent = await this.agents.access(agentId);
    if (!agent) throw badRequest(`${at}/agentId`, `no active agent ${agentId}`);
    if (role === 'supervisor' && !agent.isSupervisor) throw badRequest(`${at}/agentId`, `agent ${agentId} is not a supervisor`);
  }
}
