import proxyAddr from '@fastify/proxy-addr';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { AllowList } from './outbound.js';
import { projectRoot } from './paths.js';
import { isTimeZone } from './time-zone.js';

/**
 * Reading one setting's value: each helper takes the merged source (the
 * environment over CENTRALITA_CONFIG's file) and a key, and returns the value
 * checked, or throws ConfigError naming the key. config.ts says which keys
 * there are and what each one is.
 */

export type Source = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly key: string, problem: string) {
    super(`${key}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Whether a listen address reaches only this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare) || /^::ffff:127\./.test(bare);
}

export function required(src: Source, key: string): string {
  const value = src[key];
  if (value === undefined || value === '') throw new ConfigError(key, 'is required but not set');
  return value;
}

export function optional(src: Source, key: string, fallback: string): string {
  const value = src[key];
  return value === undefined || value === '' ? fallback : value;
}

export function port(src: Source, key: string, fallback: number): number {
  const text = optional(src, key, String(fallback));
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 65535) {
    throw new ConfigError(key, `must be a port number from 1 to 65535, got '${text}'`);
  }
  return value;
}

export function integer(src: Source, key: string, fallback: number, min: number, max: number): number {
  const text = optional(src, key, String(fallback));
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new ConfigError(key, `must be a whole number from ${min} to ${max}, got '${text}'`);
  return value;
}

export function oneOf<T extends string>(src: Source, key: string, allowed: readonly T[], fallback: T): T {
  const text = optional(src, key, fallback);
  if (!(allowed as readonly string[]).includes(text)) {
    throw new ConfigError(key, `must be one of ${allowed.join(', ')}, got '${text}'`);
  }
  return text as T;
}

export function boolean(src: Source, key: string, fallback: boolean): boolean {
  return oneOf(src, key, ['true', 'false'] as const, fallback ? 'true' : 'false') === 'true';
}

export function url(src: Source, key: string, fallback: string | undefined, protocols: string[], secret = false): string | undefined {
  const text = fallback === undefined ? src[key] || undefined : optional(src, key, fallback);
  if (text === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ConfigError(key, secret ? 'is not a valid URL' : `is not a valid URL: '${text}'`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(key, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return text.replace(/\/+$/, '');
}

export function host(src: Source, key: string, fallback: string): string {
  const text = optional(src, key, fallback);
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(text)) throw new ConfigError(key, `is not a host name or address: '${text}'`);
  return text;
}

export function timeZone(src: Source, key: string, fallback: string): string {
  const text = optional(src, key, fallback);
  if (!isTimeZone(text)) throw new ConfigError(key, `is not a known time zone (an IANA name such as Europe/Madrid): '${text}'`);
  return text;
}

export function allowList(src: Source, key: string): string[] {
  const text = optional(src, key, '');
  try {
    return [...AllowList.parse(text).entries];
  } catch (err) {
    throw new ConfigError(key, (err as Error).message);
  }
}

export function proxies(src: Source, key: string): string[] {
  const list = optional(src, key, '').split(',').map((entry) => entry.trim()).filter(Boolean);
  try {
    proxyAddr.compile(list);
  } catch (err) {
    throw new ConfigError(key, `${(err as Error).message} (addresses, CIDRs, loopback, linklocal or uniquelocal, comma separated)`);
  }
  return list;
}

/** A PEM file's text, checked readable and of the right kind now rather than at the first connection. */
export function pemFile(src: Source, key: string, kind: RegExp): string {
  const path = directory(src, key, '');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!kind.test(text)) throw new ConfigError(key, `${path} is not a PEM file of the expected kind`);
  return text;
}

export function directory(src: Source, key: string, fallback: string): string {
  const text = optional(src, key, fallback);
  return isAbsolute(text) ? text : resolve(projectRoot, text);
}
