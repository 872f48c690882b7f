import { randomUUID } from 'node:crypto';

/**
 * The counting rules of the phone PIN lockout, without I/O or a clock of its
 * own (every call is given `now`), so that they are unit-tested as they are.
 *
 * Two subjects are counted for each wrong number+PIN: the agent number keyed
 * (whichever phone keyed it) and the phone it came from (whichever numbers it
 * tried). `maxFailures` failures of one subject within `windowMs` (a sliding
 * window) lock that subject for `lockMs` counted from the failure that locked
 * it. The failures that led to a lock are spent by it: once the lock is over
 * (or cleared) the count starts again from zero. A right number+PIN spends
 * the failures of that number and that phone.
 */
export const lockoutPolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 } as const;
export type LockoutPolicy = { maxFailures: number; windowMs: number; lockMs: number };

export const lockKinds = ['number', 'phone', 'user'] as const;
export type LockKind = (typeof lockKinds)[number];

export interface Lock {
  id: string;
  kind: LockKind;
  /** The agent number, the phone's extension, or the sign-in name. */
  subject: string;
  /** Failures counted when it locked. */
  failures: number;
  lockedAt: Date;
  until: Date;
}

/**
 * One wrong number+PIN: the phone it came from, and the number keyed (null:
 * none keyed); or one wrong password at the pages' sign-in: the name tried
 * (lower case), counted as the number is.
 */
export type Attempt = { extension: string; number: string | null } | { user: string };

/** A failure still counted for a subject (after a restart: read back from the store). */
export interface CountedFailure { kind: LockKind; subject: string; at: Date }

/** What one failure did to each of its subjects. */
export interface FailureOutcome {
  /** Subjects the failure counts for (not those locked already: their count is spent). */
  counted: Array<{ kind: LockKind; subject: string; failures: number }>;
  /** Locks it started. */
  locked: Lock[];
}

const keyOf = (kind: LockKind, subject: string): string => `${kind}:${subject}`;

export class LockoutBook {
  /** Times (ms) of the failures still counted, per subject, oldest first. */
  private readonly failures = new Map<string, number[]>();
  private readonly locks = new Map<string, Lock>();

  constructor(readonly policy: LockoutPolicy = lockoutPolicy, private readonly newId: () => string = randomUUID) {}

  /** The subject's lock, if one is in force at `now` (an expired one is forgotten). */
  lockOf(kind: LockKind, subject: string, now: Date): Lock | undefined {
    const key = keyOf(kind, subject);
    const lock = this.locks.get(key);
    if (lock && lock.until.getTime() <= now.getTime()) this.locks.delete(key);
    return this.locks.get(key);
  }

  /** Failures counted now for a subject (within the window, since its last lock or success). */
  failuresOf(kind: LockKind, subject: string, now: Date): number {
    return this.recent(keyOf(kind, subject), now).length;
  }

  /**
   * Counts a wrong number+PIN for the number and for the phone; returns what
   * that did. A subject locked already is not counted again (its lock does
   * not grow: the PIN is not checked while locked, only a race between two
   * phones can get a failure here).
   */
  fail(attempt: Attempt, now: Date): FailureOutcome {
    const outcome: FailureOutcome = { counted: [], locked: [] };
    for (const [kind, subject] of subjectsOf(attempt)) {
      if (this.lockOf(kind, subject, now)) continue;
      const key = keyOf(kind, subject);
      const times = [...this.recent(key, now), now.getTime()];
      outcome.counted.push({ kind, subject, failures: times.length });
      if (times.length < this.policy.maxFailures) {
        this.failures.set(key, times);
        continue;
      }
      this.failures.delete(key);
      const lock = { id: this.newId(), kind, subject, failures: times.length, lockedAt: now, until: new Date(now.getTime() + this.policy.lockMs) };
      this.locks.set(key, lock);
      outcome.locked.push(lock);
    }
    this.forgetOld(now);
    return outcome;
  }

  /** A right number+PIN (or password): the failures of that number and that phone (or name) are spent. Returns the subjects that had any. */
  succeed(attempt: Attempt): Array<{ kind: LockKind; subject: string }> {
    const spent: Array<{ kind: LockKind; subject: string }> = [];
    for (const [kind, subject] of subjectsOf(attempt)) {
      if (this.failures.delete(keyOf(kind, subject))) spent.push({ kind, subject });
    }
    return spent;
  }

  /** Lifts a lock in force (an admin's decision); its subject starts from zero. */
  clear(id: string, now: Date): Lock | undefined {
    const lock = this.active(now).find((l) => l.id === id);
    if (!lock) return undefined;
    const key = keyOf(lock.kind, lock.subject);
    this.locks.delete(key);
    this.failures.delete(key);
    return lock;
  }

  /** The locks in force at `now`, oldest first. */
  active(now: Date): Lock[] {
    return [...this.locks.values()]
      .filter((lock) => this.lockOf(lock.kind, lock.subject, now) === lock)
      .sort((a, b) => a.lockedAt.getTime() - b.lockedAt.getTime());
  }

  /** Rebuilds the book (at start-up, from the stored failures and locks). */
  restore(failures: readonly CountedFailure[], locks: readonly Lock[], now: Date): void {
    this.failures.clear();
    this.locks.clear();
    for (const lock of locks) {
      if (lock.until.getTime() > now.getTime()) this.locks.set(keyOf(lock.kind, lock.subject), lock);
    }
    for (const failure of [...failures].sort((a, b) => a.at.getTime() - b.at.getTime())) {
      const key = keyOf(failure.kind, failure.subject);
      if (this.locks.has(key)) continue;
      this.failures.set(key, [...(this.failures.get(key) ?? []), failure.at.getTime()]);
    }
    this.forgetOld(now);
  }

  private recent(key: string, now: Date): number[] {
    const since = now.getTime() - this.policy.windowMs;
    return (this.failures.get(key) ?? []).filter((t) => t > since);
  }

  /** Subjects whose every failure has left the window are dropped (bounds the memory one caller trying many numbers takes). */
  private forgetOld(now: Date): void {
    for (const key of [...this.failures.keys()]) {
      if (this.recent(key, now).length === 0) this.failures.delete(key);
    }
  }
}

function subjectsOf(attempt: Attempt): Array<[LockKind, string]> {
  if ('user' in attempt) return [['user', attempt.user]];
  return attempt.number ? [['number', attempt.number], ['phone', attempt.extension]] : [['phone', attempt.extension]];
}
