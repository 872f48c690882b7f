/** SIP message parsing and writing: just what the test phone exchanges with Asterisk over UDP. */
import { randomBytes } from 'node:crypto';

/** Compact header forms (RFC 3261 §7.3.3) mapped to the names the phone looks up. */
const COMPACT_HEADERS: Readonly<Record<string, string>> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
  e: 'content-encoding',
  s: 'subject',
};

/** Ordered header list; lookups ignore case and accept compact forms. */
export class SipHeaders {
  private readonly list: Array<[string, string]>;

  constructor(entries: ReadonlyArray<readonly [string, string]> = []) {
    this.list = entries.map(([name, value]) => [name, value]);
  }

  static canonicalName(name: string): string {
    const lower = name.toLowerCase();
    return COMPACT_HEADERS[lower] ?? lower;
  }

  get(name: string): string | undefined {
    const key = SipHeaders.canonicalName(name);
    return this.list.find(([n]) => SipHeaders.canonicalName(n) === key)?.[1];
  }

  getAll(name: string): string[] {
    const key = SipHeaders.canonicalName(name);
    return this.list.filter(([n]) => SipHeaders.canonicalName(n) === key).map(([, v]) => v);
  }

  /** The value, or an error naming the header: for headers every valid message has. */
  require(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw new Error(`SIP message has no ${name} header`);
    return value;
  }

  add(name: string, value: string): this {
    this.list.push([name, value]);
    return this;
  }

  set(name: string, value: string): this {
    this.remove(name);
    return this.add(name, value);
  }

  remove(name: string): this {
    const key = SipHeaders.canonicalName(name);
    for (let i = this.list.length - 1; i >= 0; i--) {
      const entry = this.list[i];
      if (entry && SipHeaders.canonicalName(entry[0]) === key) this.list.splice(i, 1);
    }
    return this;
  }

  entries(): ReadonlyArray<readonly [string, string]> {
    return this.list;
  }
}

export interface SipRequest {
  kind: 'request';
  method: string;
  uri: string;
  headers: SipHeaders;
  body: string;
}

export interface SipResponse {
  kind: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: string;
}

export type SipMessage = SipRequest | SipResponse;

export function parseSipMessage(data: Buffer | string): SipMessage {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  const headerEnd = text.indexOf('\r\n\r\n');
  const head = headerEnd === -1 ? text : text.slice(0, headerEnd);
  const rest = headerEnd === -1 ? '' : text.slice(headerEnd + 4);
  // Folded continuation lines (leading whitespace) belong to the previous header.
  const lines = head.replace(/\r\n[ \t]+/g, ' ').split('\r\n');
  const startLine = lines.shift() ?? '';
  const headers = new SipHeaders();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.add(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const declaredLength = Number(headers.get('content-length') ?? Number.NaN);
  const bodyBytes = Buffer.from(rest, 'utf8');
  const body = Number.isInteger(declaredLength) ? bodyBytes.subarray(0, declaredLength).toString('utf8') : rest;

  const response = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/.exec(startLine);
  if (response) {
    return { kind: 'response', status: Number(response[1]), reason: response[2] ?? '', headers, body };
  }
  const request = /^([A-Z]+)\s+(\S+)\s+SIP\/2\.0$/.exec(startLine);
  if (!request?.[1] || !request[2]) throw new Error(`not a SIP message: ${JSON.stringify(startLine)}`);
  return { kind: 'request', method: request[1], uri: request[2], headers, body };
}

export function serializeSipMessage(message: SipMessage): string {
  const startLine =
    message.kind === 'request' ? `${message.method} ${message.uri} SIP/2.0` : `SIP/2.0 ${message.status} ${message.reason}`;
  const lines = [startLine];
  for (const [name, value] of message.headers.entries()) {
    // The length is always recomputed from the body actually sent.
    if (SipHeaders.canonicalName(name) === 'content-length') continue;
    lines.push(`${name}: ${value}`);
  }
  lines.push(`Content-Length: ${Buffer.byteLength(message.body, 'utf8')}`);
  return `${lines.join('\r\n')}\r\n\r\n${message.body}`;
}

export const randomToken = (bytes = 8): string => randomBytes(bytes).toString('hex');

/** Branches start with the RFC 3261 magic cookie so Asterisk matches transactions by them. */
export const newBranch = (): string => `z9hG4bK${randomToken()}`;

/** Splits `a;b=c;d` parameters that follow a URI or header value. */
function parseParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of text.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq === -1) params.set(trimmed.toLowerCase(), '');
    else params.set(trimmed.slice(0, eq).trim().toLowerCase(), trimmed.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return params;
}

export interface NameAddr {
  displayName?: string;
  uri: string;
  /** Header parameters after the URI, such as `tag` or `expires`. */
  params: Map<string, string>;
}

/** Parses From / To / Contact values: `"Name" <sip:u@h>;tag=x` or `sip:u@h;tag=x`. */
export function parseNameAddr(value: string): NameAddr {
  const angle = /^\s*(?:"((?:[^"\\]|\\.)*)"|([^<]*?))\s*<([^>]*)>(.*)$/.exec(value);
  if (angle) {
    const displayName = (angle[1] ?? angle[2] ?? '').trim();
    return {
      displayName: displayName === '' ? undefined : displayName,
      uri: angle[3] ?? '',
      params: parseParams(angle[4] ?? ''),
    };
  }
  // Without angle brackets, parameters after the URI belong to the header.
  const semicolon = value.indexOf(';');
  return {
    uri: (semicolon === -1 ? value : value.slice(0, semicolon)).trim(),
    params: parseParams(semicolon === -1 ? '' : value.slice(semicolon + 1)),
  };
}

export const tagOf = (headerValue: string): string | undefined => parseNameAddr(headerValue).params.get('tag');

export interface SipUri {
  user?: string;
  host: string;
  port?: number;
}

export function parseSipUri(uri: string): SipUri {
  const m = /^sips?:(?:([^@;]*)@)?([^:;?]+)(?::(\d+))?/i.exec(uri.trim());
  if (!m?.[2]) throw new Error(`not a SIP URI: ${uri}`);
  return { user: m[1] === undefined ? undefined : decodeURIComponent(m[1]), host: m[2], port: m[3] ? Number(m[3]) : undefined };
}

export interface CSeq {
  seq: number;
  method: string;
}

export function parseCSeq(value: string): CSeq {
  const m = /^\s*(\d+)\s+([A-Z]+)\s*$/.exec(value);
  if (!m?.[1] || !m[2]) throw new Error(`bad CSeq: ${value}`);
  return { seq: Number(m[1]), method: m[2] };
}

/** The branch of the topmost Via (several Vias may share one header line). */
export function topViaBranch(message: SipMessage): string | undefined {
  const via = message.headers.get('via');
  if (via === undefined) return undefined;
  return /;\s*branch=([^;,\s]+)/i.exec(via.split(',')[0] ?? '')?.[1];
}

/**
 * The Q.850 cause from `Reason: Q.850;cause=34;text="…"` headers (RFC 3326),
 * which Asterisk puts on BYE and CANCEL.
 */
export function q850Cause(message: SipMessage): string | undefined {
  for (const reason of message.headers.getAll('reason')) {
    for (const entry of reason.split(/,(?=\s*[A-Za-z0-9.]+\s*;)/)) {
      const semicolon = entry.indexOf(';');
      if (semicolon === -1 || entry.slice(0, semicolon).trim().toUpperCase() !== 'Q.850') continue;
      const cause = parseParams(entry.slice(semicolon + 1)).get('cause');
      if (cause !== undefined) return cause;
    }
  }
  return undefined;
}
