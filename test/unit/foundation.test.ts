import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCallEntry } from '../../src/asterisk/entry.js';
import { bearerToken, generateToken, hashToken } from '../../src/auth/service.js';
import { describeValidation } from '../../src/core/http.js';
import { createLogger } from '../../src/core/logger.js';
import { WriteQueue, isTransientDbError } from '../../src/core/write-queue.js';

describe('call entry from Stasis arguments', () => {
  it('reads DIDs and feature codes', () => {
    assert.deepEqual(parseCallEntry(['did', '5551234']), { kind: 'did', did: '5551234' });
    assert.deepEqual(parseCallEntry(['feature', '*45']), { kind: 'feature', code: '*45' });
  });
  it('treats anything else as a channel of our own, not a call', () => {
    assert.equal(parseCallEntry([]).kind, 'other');
    assert.equal(parseCallEntry(['did', '55; drop table']).kind, 'other');
    assert.equal(parseCallEntry(['feature', '45']).kind, 'other');
  });
});

describe('tokens', () => {
  it('parses bearer headers', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer   abc  '), 'abc');
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });
  it('generates distinct tokens and stable hashes', () => {
    const a = generateToken();
    assert.match(a, /^ctl_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, generateToken());
    assert.equal(hashToken('x'), hashToken('x'));
    assert.notEqual(hashToken(a), a);
  });
});

describe('validation messages', () => {
  it('names the field', () => {
    assert.equal(describeValidation('body', [{ instancePath: '', params: { missingProperty: 'role' } }]), 'body/role is required');
    assert.equal(describeValidation('body', [{ instancePath: '/role', params: { allowedValues: ['admin', 'agent'] } }]), 'body/role must be one of admin, agent');
    assert.equal(describeValidation('body', [{ instancePath: '', params: { additionalProperty: 'rol' } }]), 'body/rol is not allowed');
    assert.equal(describeValidation('querystring', [{ instancePath: '/limit', message: 'must be <= 1000' }]), 'querystring/limit must be <= 1000');
  });
});

describe('write queue', () => {
  const logger = createLogger('silent');

  it('keeps order and retries while the database is unreachable', async () => {
    const queue = new WriteQueue(logger);
    const written: number[] = [];
    let outage = 3;
    const writes = [1, 2, 3].map((n) => queue.enqueue(`w${n}`, async () => {
      if (n === 1 && outage-- > 0) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      written.push(n);
    }));
    await Promise.all(writes);
    assert.deepEqual(written, [1, 2, 3]);
    assert.equal(outage, -1);
    assert.equal(queue.pending, 0);
  });

  it('drops a write the database refuses for its data and goes on', async () => {
    const queue = new WriteQueue(logger);
    const written: string[] = [];
    await Promise.all([
      queue.enqueue('bad', async () => { throw Object.assign(new Error('duplicate key'), { code: '23505' }); }),
      queue.enqueue('good', async () => { written.push('good'); }),
    ]);
    assert.deepEqual(written, ['good']);
  });

  it('tells connection errors from data errors', () => {
    assert.equal(isTransientDbError(Object.assign(new Error(), { code: '08006' })), true);
    assert.equal(isTransientDbError(Object.assign(new Error(), { code: '57P01' })), true);
    assert.equal(isTransientDbError(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isTransientDbError(Object.assign(new Error(), { code: '23505' })), false);
    assert.equal(isTransientDbError(Object.assign(new Error(), { code: '22P02' })), false);
  });
});
