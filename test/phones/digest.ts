/** HTTP digest authentication as SIP uses it (RFC 2617 / RFC 3261 §22), MD5 only. */
import { createHash, randomBytes } from 'node:crypto';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm?: string;
  /** The qop options offered, e.g. ['auth', 'auth-int']. */
  qop: string[];
}

export interface DigestCredentials {
  username: string;
  password: string;
}

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

/** Parses `Digest realm="…", nonce="…", qop="auth", …`; undefined for other schemes. */
export function parseDigestChallenge(header: string): DigestChallenge | undefined {
  const match = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!match?.[1]) return undefined;
  const params = new Map<string, string>();
  const paramPattern = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (const m of match[1].matchAll(paramPattern)) {
    const name = m[1];
    if (name) params.set(name.toLowerCase(), m[2] ?? m[3] ?? '');
  }
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  if (realm === undefined || nonce === undefined) return undefined;
  return {
    realm,
    nonce,
    opaque: params.get('opaque'),
    algorithm: params.get('algorithm'),
    qop: (params.get('qop') ?? '').split(',').map((q) => q.trim()).filter((q) => q !== ''),
  };
}

export interface DigestResponseInput extends DigestCredentials {
  realm: string;
  nonce: string;
  method: string;
  uri: string;
  qop?: 'auth';
  nc?: string;
  cnonce?: string;
}

/** The `response` value: MD5(HA1:nonce[:nc:cnonce:qop]:HA2). */
export function digestResponse(input: DigestResponseInput): string {
  const ha1 = md5(`${input.username}:${input.realm}:${input.password}`);
  const ha2 = md5(`${input.method}:${input.uri}`);
  if (input.qop === 'auth') {
    if (input.nc === undefined || input.cnonce === undefined) throw new Error('qop=auth needs nc and cnonce');
    return md5(`${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
  }
  return md5(`${ha1}:${input.nonce}:${ha2}`);
}

/**
 * Picks the MD5 challenge among the WWW-Authenticate / Proxy-Authenticate
 * values (a server may offer several algorithms) and builds the matching
 * Authorization value. Every challenge is answered once with nc=00000001:
 * the phone never reuses a nonce.
 */
export function authorizationFor(
  challengeHeaders: readonly string[],
  credentials: DigestCredentials,
  method: string,
  uri: string,
  cnonce: string = randomBytes(8).toString('hex'),
): string {
  const challenges = challengeHeaders.map(parseDigestChallenge).filter((c): c is DigestChallenge => c !== undefined);
  const challenge = challenges.find((c) => c.algorithm === undefined || c.algorithm.toUpperCase() === 'MD5');
  if (!challenge) throw new Error(`no MD5 digest challenge among: ${challengeHeaders.join(' | ')}`);
  const qop = challenge.qop.includes('auth') ? 'auth' : undefined;
  const nc = '00000001';
  const response = digestResponse({ ...credentials, realm: challenge.realm, nonce: challenge.nonce, method, uri, qop, nc, cnonce });
  const parts = [
    `username="${credentials.username}"`,
    `realm="${challenge.realm}"`,
    `nonce="${challenge.nonce}"`,
    `uri="${uri}"`,
    `response="${response}"`,
    'algorithm=MD5',
  ];
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  if (challenge.opaque !== undefined) parts.push(`opaque="${challenge.opaque}"`);
  return `Digest ${parts.join(', ')}`;
}
