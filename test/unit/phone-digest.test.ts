import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { authorizationFor, digestResponse, parseDigestChallenge } from '../phones/digest.js';

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

describe('digest authentication', () => {
  it('computes the response of the RFC 2617 §3.5 example (qop=auth)', () => {
    const response = digestResponse({
      username: 'Mufasa',
      password: 'Circle Of Life',
      realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      method: 'GET',
      uri: '/dir/index.html',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
    });
    assert.equal(response, '6629fae49393a05397450978507c4ef1');
  });

  it('computes the RFC 2069 form when the server offers no qop', () => {
    const input = { username: '1001', password: 'lab-1001', realm: 'asterisk', nonce: 'abc', method: 'REGISTER', uri: 'sip:127.0.0.1:5060' };
    const expected = md5(`${md5('1001:asterisk:lab-1001')}:abc:${md5('REGISTER:sip:127.0.0.1:5060')}`);
    assert.equal(digestResponse(input), expected);
  });

  it("parses Asterisk's challenge", () => {
    const challenge = parseDigestChallenge(
      'Digest realm="asterisk",nonce="1795473098/5e77829af384a569d3be64703b96234c",opaque="73a8828b43ba9c43",algorithm=MD5,qop="auth"',
    );
    assert.deepEqual(challenge, {
      realm: 'asterisk',
      nonce: '1795473098/5e77829af384a569d3be64703b96234c',
      opaque: '73a8828b43ba9c43',
      algorithm: 'MD5',
      qop: ['auth'],
    });
    assert.equal(parseDigestChallenge('Basic realm="x"'), undefined);
  });

  it('answers the RFC 2617 challenge with every field the server needs', () => {
    const header = authorizationFor(
      [
        'Digest realm="testrealm@host.com", algorithm=SHA-256, nonce="other", qop="auth"',
        'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
      ],
      { username: 'Mufasa', password: 'Circle Of Life' },
      'GET',
      '/dir/index.html',
      '0a4f113b',
    );
    assert.equal(
      header,
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
        'uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, qop=auth, nc=00000001, ' +
        'cnonce="0a4f113b", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
  });

  it('refuses when no MD5 challenge is offered', () => {
    assert.throws(
      () => authorizationFor(['Digest realm="r", nonce="n", algorithm=SHA-256'], { username: 'u', password: 'p' }, 'INVITE', 'sip:x'),
      /no MD5 digest challenge/,
    );
  });
});
