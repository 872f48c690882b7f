import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { nextAttempt } from '../../src/webhooks/backoff.js';
import { sign, verify } from '../../src/webhooks/signature.js';

describe('webhook signatures and retries', () => {
  it('signs timestamp.body with HMAC-SHA256 as docs/webhooks.md shows a receiver checking it', () => {
    const body = JSON.stringify({ id: 'e1', type: 'call.started', at: '2026-12-03T10:00:00.000Z', data: { id: 'c1' } });
    const signature = sign('s3cret-s3cret-s3cret', 1_764_756_000, body);
    // The receiver's own computation, with nothing of ours.
    assert.equal(signature, `v1=${createHmac('sha256', 's3cret-s3cret-s3cret').update(`1764756000.${body}`).digest('hex')}`);
    assert.equal(verify('s3cret-s3cret-s3cret', 1_764_756_000, body, signature), true);
    assert.equal(verify('s3cret-s3cret-s3cret', 1_764_756_001, body, signature), false, 'another timestamp');
    assert.equal(verify('s3cret-s3cret-s3cret', 1_764_756_000, `${body} `, signature), false, 'another body');
    assert.equal(verify('other-secret-other', 1_764_756_000, body, signature), false, 'another secret');
    assert.equal(verify('s3cret-s3cret-s3cret', 1_764_756_000, body, 'v1=00'), false, 'a short signature');
  });

  it('waits twice as long after each failure, with jitter on the upper half, at most an hour, and gives up after the limit', () => {
    const occurredAt = new Date('2026-12-03T10:00:00Z');
    const base = { since: occurredAt, baseMs: 2000, giveUpMs: 24 * 3_600_000 };
    const wait = (attempts: number, random: number, now = occurredAt) => nextAttempt({ ...base, attempts, now, random })!.getTime() - now.getTime();
    assert.deepEqual([1, 2, 3, 4].map((n) => wait(n, 0)), [1000, 2000, 4000, 8000], 'the lower bound doubles');
    for (const [n, upper] of [[1, 2000], [2, 4000], [3, 8000], [4, 16000]] as const) {
      assert.ok(wait(n, 0.999999) <= upper && wait(n, 0.999999) > upper * 0.99, `attempt ${n}: up to ${upper} ms`);
    }
    assert.ok(wait(5, 0.5) > 8000 && wait(5, 0.5) < 32_000);
    assert.equal(wait(40, 0), 1_800_000, 'capped: half an hour to an hour');
    assert.ok(wait(40, 0.999) <= 3_600_000);
    // Near the end the last try is at the deadline itself; after it, dead.
    const late = new Date(occurredAt.getTime() + 24 * 3_600_000 - 1000);
    assert.equal(nextAttempt({ ...base, attempts: 30, now: late, random: 0.5 })!.getTime(), occurredAt.getTime() + 24 * 3_600_000);
    assert.equal(nextAttempt({ ...base, attempts: 31, now: new Date(occurredAt.getTime() + 24 * 3_600_000), random: 0.5 }), null);
  });
});
