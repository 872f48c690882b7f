import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCallEntry } from '../../src/asterisk/entry.js';
import { bearerToken, generateToken, hashToken } from '../../src/auth/service.js';
import { describeValidation } from '../../src/core/http.js';

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
