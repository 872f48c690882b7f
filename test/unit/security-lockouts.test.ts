import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/core/logger.js';
import { LockoutBook, lockoutPolicy } from '../../src/security/lockouts.js';
import { SecurityService } from '../../src/security/service.js';
import { memoryStore } from '../support/security-memory.js';

const minute = 60_000;
const t0 = Date.parse('2026-12-02T10:00:00Z');
const at = (ms: number) => new Date(t0 + ms);

describe('PIN lockout counting rules', () => {
  it('locks an agent number after 5 failures within 15 minutes, counted from the phones together', () => {
    const book = new LockoutBook();
    for (const [i, extension] of ['1005', '1006', '1007', '1005', '1006'].entries()) {
      assert.equal(book.lockOf('number', '301', at(i * minute)), undefined, `not locked before failure ${i + 1}`);
      const { locked } = book.fail({ extension, number: '301' }, at(i * minute));
      assert.equal(locked.length, i === 4 ? 1 : 0);
    }
    const lock = book.lockOf('number', '301', at(4 * minute));
    assert.ok(lock);
    assert.deepEqual([lock.kind, lock.subject, lock.failures], ['number', '301', 5]);
    // No phone had 5: none is locked.
    for (const extension of ['1005', '1006', '1007']) assert.equal(book.lockOf('phone', extension, at(4 * minute)), undefined);
  });

  it('locks a phone after 5 failures within 15 minutes, whatever numbers it tried', () => {
    const book = new LockoutBook();
    for (let i = 0; i < 5; i += 1) book.fail({ extension: '1005', number: `30${i}` }, at(i * minute));
    assert.equal(book.lockOf('phone', '1005', at(5 * minute))?.failures, 5);
    for (let i = 0; i < 5; i += 1) assert.equal(book.lockOf('number', `30${i}`, at(5 * minute)), undefined);
    assert.equal(book.lockOf('phone', '1006', at(5 * minute)), undefined);
    // A failure without a number keyed counts for the phone only.
    const other = new LockoutBook();
    for (let i = 0; i < 5; i += 1) other.fail({ extension: '1006', number: null }, at(i));
    assert.ok(other.lockOf('phone', '1006', at(5)));
  });

  it('counts in a sliding 15-minute window: failures older than that no longer count', () => {
    const book = new LockoutBook();
    for (let i = 0; i < 4; i += 1) book.fail({ extension: '1005', number: '301' }, at(i * minute));
    // The first failure leaves the window at 15:00 after it: the fifth is the fourth counted.
    const { counted, locked } = book.fail({ extension: '1005', number: '301' }, at(15 * minute));
    assert.deepEqual(locked, []);
    assert.deepEqual(counted.map((c) => [c.kind, c.failures]), [['number', 4], ['phone', 4]]);
    assert.equal(book.failuresOf('number', '301', at(15 * minute)), 4);
    // One more within the window of the second to fifth: locked.
    assert.equal(book.fail({ extension: '1005', number: '301' }, at(15 * minute + 1)).locked.length, 2);
  });

  it('locks for 15 minutes from the lock, not from the first failure', () => {
    const book = new LockoutBook();
    for (let i = 0; i < 4; i += 1) book.fail({ extension: '1005', number: '301' }, at(i * 3 * minute));
    const lockedAt = at(14 * minute);
    const [lock] = book.fail({ extension: '1006', number: '301' }, lockedAt).locked;
    assert.ok(lock);
    assert.deepEqual([lock.lockedAt, lock.until], [lockedAt, at(29 * minute)]);
    assert.ok(book.lockOf('number', '301', at(29 * minute - 1)), 'still locked a moment before 15 minutes from the lock');
    assert.equal(book.lockOf('number', '301', at(29 * minute)), undefined, 'free at 15 minutes');
    // The failures that locked it were spent by the lock: the count starts again.
    assert.equal(book.failuresOf('number', '301', at(29 * minute)), 0);
    assert.equal(book.fail({ extension: '1006', number: '301' }, at(29 * minute)).locked.length, 0);
  });

  it('a right PIN resets the count of that number and that phone only', () => {
    const book = new LockoutBook();
    for (let i = 0; i < 4; i += 1) book.fail({ extension: '1005', number: '301' }, at(i));
    for (let i = 0; i < 4; i += 1) book.fail({ extension: '1006', number: '302' }, at(10 + i));
    assert.deepEqual(book.succeed({ extension: '1005', number: '301' }), [{ kind: 'number', subject: '301' }, { kind: 'phone', subject: '1005' }]);
    assert.equal(book.failuresOf('number', '301', at(20)), 0);
    assert.equal(book.failuresOf('phone', '1005', at(20)), 0);
    assert.equal(book.failuresOf('number', '302', at(20)), 4);
    assert.equal(book.failuresOf('phone', '1006', at(20)), 4);
    assert.equal(book.fail({ extension: '1005', number: '301' }, at(30)).locked.length, 0);
    assert.equal(book.fail({ extension: '1006', number: '302' }, at(30)).locked.length, 2);
  });

  it('does not count failures against a subject locked already, nor make its lock longer', () => {
    const book = new LockoutBook();
    for (let i = 0; i < 5; i += 1) book.fail({ extension: '1005', number: '301' }, at(i));
    const until = book.lockOf('number', '301', at(5))!.until;
    // A guess from another phone that raced the lock.
    const { counted, locked } = book.fail({ extension: '1006', number: '301' }, at(minute));
    assert.deepEqual(counted.map((c) => c.kind), ['phone']);
    assert.deepEqual(locked, []);
    assert.equal(book.lockOf('number', '301', at(minute))!.until, until);
  });

  it('clears a lock by id: the subject starts from zero; unknown or expired ids are not found', () => {
    const book = new LockoutBook();
    for (let i = 0; i < 5; i += 1) book.fail({ extension: '1005', number: '301' }, at(i));
    const [phoneLock, numberLock] = [book.lockOf('phone', '1005', at(5))!, book.lockOf('number', '301', at(5))!];
    assert.deepEqual(book.active(at(5)).map((l) => l.kind).sort(), ['number', 'phone']);
    assert.equal(book.clear(numberLock.id, at(6))?.id, numberLock.id);
    assert.equal(book.lockOf('number', '301', at(6)), undefined);
    assert.ok(book.lockOf('phone', '1005', at(6)), 'the phone stays locked');
    assert.equal(book.clear(numberLock.id, at(7)), undefined, 'cleared already');
    assert.equal(book.clear('00000000-0000-4000-8000-000000000000', at(7)), undefined);
    assert.equal(book.clear(phoneLock.id, at(lockoutPolicy.lockMs + 10)), undefined, 'expired');
    assert.deepEqual(book.active(at(lockoutPolicy.lockMs + 10)), []);
  });

  it('rebuilds from stored failures and locks, keeping only what is still in force', () => {
    const book = new LockoutBook();
    const now = at(20 * minute);
    book.restore([
      ...[10, 11, 12, 13].map((m) => ({ kind: 'number' as const, subject: '301', at: at(m * minute) })),
      { kind: 'number', subject: '302', at: at(1 * minute) }, // out of the window
      { kind: 'phone', subject: '1006', at: at(19 * minute) }, // its phone is locked: its count was spent
    ], [
      { id: 'a', kind: 'phone', subject: '1006', failures: 5, lockedAt: at(10 * minute), until: at(25 * minute) },
      { id: 'b', kind: 'phone', subject: '1007', failures: 5, lockedAt: at(1 * minute), until: at(16 * minute) }, // over
    ], now);
    assert.equal(book.failuresOf('number', '301', now), 4);
    assert.equal(book.failuresOf('number', '302', now), 0);
    assert.deepEqual(book.active(now).map((l) => l.id), ['a']);
    assert.equal(book.fail({ extension: '1005', number: '301' }, now).locked[0]?.subject, '301');
  });
});

describe('PIN lockout service', () => {
  const logger = createLogger('silent');

  it('keeps locks and counted failures across a restart (a new service loading the same rows)', async () => {
    const { store, writes, tables } = memoryStore();
    let now = at(0);
    const first = new SecurityService(store, writes, logger, () => now);
    for (let i = 0; i < 5; i += 1) first.loginFailed({ extension: i < 3 ? '1005' : '1006', number: '301' });
    for (let i = 0; i < 3; i += 1) first.loginFailed({ extension: '1007', number: `40${i}` });
    assert.equal(tables.security_login_failures!.length, 8);
    assert.ok(tables.security_login_failures!.every((r) => !('pin' in r)), 'never the PIN');
    now = at(5 * minute);
    const second = new SecurityService(store, writes, logger, () => now);
    await second.load();
    assert.deepEqual(second.list().map((l) => [l.kind, l.subject, l.failures, l.lockedAt, l.until]),
      [['number', '301', 5, at(0).toISOString(), at(15 * minute).toISOString()]]);
    // 1007's three failures still count: two more lock it.
    second.loginFailed({ extension: '1007', number: '409' });
    assert.equal(second.phoneLock('1007'), undefined);
    second.loginFailed({ extension: '1007', number: '409' });
    assert.ok(second.phoneLock('1007'));
    now = at(15 * minute);
    assert.equal(second.numberLock('301'), undefined, 'expired at 15 minutes from the lock');
  });

  it('a cleared lock stays cleared after a restart, and its failures do not come back', async () => {
    const { store, writes, tables } = memoryStore();
    const now = at(0);
    const first = new SecurityService(store, writes, logger, () => now);
    for (let i = 0; i < 5; i += 1) first.loginFailed({ extension: '1005', number: '301' });
    const locks = first.list();
    assert.equal(locks.length, 2);
    for (const lock of locks) first.clear(lock.id, { tokenId: null, role: 'admin' });
    assert.throws(() => first.clear(locks[0]!.id, { tokenId: null, role: 'admin' }), /not found/);
    assert.deepEqual(tables.security_lockouts!.map((r) => r.cleared_by_role), ['admin', 'admin']);
    const second = new SecurityService(store, writes, logger, () => now);
    await second.load();
    assert.deepEqual(second.list(), []);
    second.loginFailed({ extension: '1005', number: '301' });
    assert.equal(second.numberLock('301'), undefined, 'the count started again from zero');
  });

  it('a right PIN spends the stored failures of that number and phone', async () => {
    const { store, writes } = memoryStore();
    const now = at(0);
    const first = new SecurityService(store, writes, logger, () => now);
    for (let i = 0; i < 4; i += 1) first.loginFailed({ extension: '1005', number: '301' });
    first.loginSucceeded({ extension: '1005', number: '301' });
    const second = new SecurityService(store, writes, logger, () => now);
    await second.load();
    second.loginFailed({ extension: '1005', number: '301' });
    assert.deepEqual(second.list(), []);
  });
});
