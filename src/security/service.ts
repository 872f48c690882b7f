import { randomUUID } from 'node:crypto';
import { notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { WriteQueue } from '../core/write-queue.js';
import { LockoutBook, lockoutPolicy, type Attempt, type CountedFailure, type Lock, type LockKind, type LockoutPolicy } from './lockouts.js';
import type { SecurityStore } from './store.js';

export interface LockView { id: string; kind: LockKind; subject: string; failures: number; lockedAt: string; until: string }

/** Who lifted a lock: the API token (null: the bootstrap admin token) and its role. */
export interface ClearedBy { tokenId: string | null; role: string }

const view = (lock: Lock): LockView => ({
  id: lock.id, kind: lock.kind, subject: lock.subject, failures: lock.failures,
  lockedAt: lock.lockedAt.toISOString(), until: lock.until.toISOString(),
});

/**
 * The phone PIN lockout: which agent numbers and phones may try a PIN now,
 * what a wrong or right one changes, and the admins' view of the locks. The
 * phone code (agents' check-in, supervisors' monitoring codes) asks it before
 * checking a PIN and tells it the outcome; it never reads the tables itself.
 *
 * The rules run on memory (a `LockoutBook`), so that a phone is answered
 * without a query and a database outage neither lifts nor loses a lock; each
 * change is written as it happens through the write queue (journaled), and
 * `load()` rebuilds the memory from the tables at start-up: a restart keeps
 * every lock and every failure still counted.
 */
export class SecurityService {
  private readonly book: LockoutBook;

  constructor(
    private readonly store: SecurityStore,
    private readonly writes: Pick<WriteQueue, 'enqueue'>,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
    policy: LockoutPolicy = lockoutPolicy,
  ) {
    this.book = new LockoutBook(policy);
  }

  get policy(): LockoutPolicy { return this.book.policy; }

  /** Rebuilds the locks in force and the failures still counted from the tables. */
  async load(): Promise<void> {
    const now = this.clock();
    const [rows, locks] = await Promise.all([
      this.store.failuresSince(new Date(now.getTime() - this.book.policy.windowMs)),
      this.store.locksInForce(now),
    ]);
    const failures: CountedFailure[] = [];
    for (const row of rows) {
      if (row.number !== null && row.number_spent_at === null) failures.push({ kind: 'number', subject: row.number, at: row.at });
      if (row.extension !== null && row.phone_spent_at === null) failures.push({ kind: 'phone', subject: row.extension, at: row.at });
      if (row.username !== null && row.username_spent_at === null) failures.push({ kind: 'user', subject: row.username, at: row.at });
    }
    this.book.restore(failures, locks.map((row) => ({
      id: row.id, kind: row.kind, subject: row.subject, failures: row.failures, lockedAt: row.locked_at, until: row.until,
    })), now);
  }

  /** The lock on a phone, if it may not try a PIN now. */
  phoneLock(extension: string): LockView | undefined {
    const lock = this.book.lockOf('phone', extension, this.clock());
    return lock && view(lock);
  }

  /** The lock on an agent number, if no PIN may be tried for it now. */
  numberLock(number: string): LockView | undefined {
    const lock = this.book.lockOf('number', number, this.clock());
    return lock && view(lock);
  }

  /** The lock on a sign-in name (lower case), if no password may be tried for it now. */
  userLock(name: string): LockView | undefined {
    const lock = this.book.lockOf('user', name, this.clock());
    return lock && view(lock);
  }

  /**
   * A wrong number+PIN from a phone (counted for both), or a wrong password
   * for a name at the pages' sign-in: each lock it starts is stored and logged.
   */
  loginFailed(attempt: Attempt): void {
    const at = this.clock();
    const { counted, locked } = this.book.fail(attempt, at);
    const countedFor = (kind: LockKind) => counted.find((c) => c.kind === kind);
    const signIn = 'user' in attempt;
    const ops = [this.store.insertFailure({
      id: randomUUID(), at, extension: signIn ? null : attempt.extension, number: signIn ? null : attempt.number,
      username: signIn ? attempt.user : null,
      // A subject locked already (a race between phones) does not count it.
      number_spent_at: !signIn && attempt.number && countedFor('number') ? null : at,
      phone_spent_at: countedFor('phone') ? null : at,
      username_spent_at: countedFor('user') ? null : at,
    })];
    for (const lock of locked) {
      ops.push(this.store.spendFailures(lock.kind, lock.subject, at), this.store.insertLock({
        id: lock.id, kind: lock.kind, subject: lock.subject, failures: lock.failures, locked_at: lock.lockedAt, until: lock.until,
      }));
    }
    const failures = Object.fromEntries(counted.map((c) => [c.kind, c.failures]));
    if (signIn) {
      void this.writes.enqueue(`sign-in failure for ${attempt.user}`, ops);
      this.logger.info({ user: attempt.user, failures }, 'sign-in refused: wrong name or password');
    } else {
      void this.writes.enqueue(`phone login failure on ${attempt.extension}`, ops);
      this.logger.info({ extension: attempt.extension, number: attempt.number, failures }, 'phone login refused: wrong agent number or PIN');
    }
    for (const lock of locked) {
      this.logger.warn({ lockId: lock.id, kind: lock.kind, subject: lock.subject, failures: lock.failures, until: lock.until.toISOString() },
        `${{ number: 'agent number', phone: 'phone', user: 'sign-in name' }[lock.kind]} locked out after repeated wrong ${lock.kind === 'user' ? 'passwords' : 'PINs'}`);
    }
  }

  /** A right number+PIN: the failures of that number and that phone no longer count. */
  loginSucceeded(attempt: Attempt): void {
    const at = this.clock();
    const spent = this.book.succeed(attempt);
    if (spent.length === 0) return;
    const what = 'user' in attempt ? `sign-in of ${attempt.user}` : `phone login on ${attempt.extension}`;
    void this.writes.enqueue(what, spent.map((s) => this.store.spendFailures(s.kind, s.subject, at)));
  }

  /** The locks in force, oldest first. */
  list(kind?: LockKind): LockView[] {
    return this.book.active(this.clock()).filter((lock) => !kind || lock.kind === kind).map(view);
  }

  /** Lifts a lock in force (404 for one unknown, expired or cleared already); its subject's count starts again. */
  clear(id: string, by: ClearedBy): LockView {
    const at = this.clock();
    const lock = this.book.clear(id, at);
    if (!lock) throw notFound(`lockout ${id}`);
    void this.writes.enqueue(`lockout ${id} cleared`, [this.store.clearLock(id, at, by), this.store.spendFailures(lock.kind, lock.subject, at)]);
    this.logger.warn({ lockId: id, kind: lock.kind, subject: lock.subject, clearedBy: by }, 'lockout cleared by an admin');
    return view(lock);
  }
}
