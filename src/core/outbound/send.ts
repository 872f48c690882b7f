import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress, Resolver } from './resolve.js';

/** A request the policy stopped: an address not allowed, a redirect, an answer too large. */
export class OutboundRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboundRefused';
  }
}

/** A request that failed on its own: timeout, network, a bad address. */
export class OutboundFailed extends Error {
  constructor(readonly code: 'timeout' | 'network', message: string) {
    super(message);
    this.name = 'OutboundFailed';
  }
}

export interface OutboundAnswer { status: number; headers: IncomingMessage['headers']; body: Buffer }
export interface OutboundRequest { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; timeoutMs: number }

/**
 * The socket's own name lookup, through `resolve`, refusing when `check`
 * finds a reason in any of the addresses: the address checked is the
 * address connected to.
 */
export function checkedLookup(resolve: Resolver, check: (hostname: string, addresses: ResolvedAddress[]) => string | undefined): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then((all) => {
      const why = check(hostname, all);
      if (why) return callback(new OutboundRefused(why), '', 4);
      const wanted = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
      if (wanted.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 4);
      if (options.all) return (callback as unknown as (err: null, addresses: ResolvedAddress[]) => void)(null, wanted);
      return callback(null, wanted[0]!.address, wanted[0]!.family);
    }, (err: Error) => callback(Object.assign(new OutboundFailed('network', `cannot resolve ${hostname}: ${(err as NodeJS.ErrnoException).code ?? err.message}`), { code: 'ENOTFOUND' }), '', 4));
  };
}

/**
 * One HTTP(S) request on a fresh connection: a 3xx is refused (redirects
 * are not followed), the answer is read up to maxBytes, past which the
 * request is aborted and refused. Throws OutboundRefused or OutboundFailed.
 */
export function send(url: URL, req: OutboundRequest, lookup: LookupFunction, maxBytes: number, agent?: Agent): Promise<OutboundAnswer> {
  const tooLarge = (): OutboundRefused => new OutboundRefused(`the answer is larger than ${maxBytes} bytes`);
  const sendOne = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<OutboundAnswer>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, answer?: OutboundAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        request.destroy();
        reject(err instanceof OutboundRefused || err instanceof OutboundFailed ? err : new OutboundFailed('network', err.message));
      } else resolve(answer!);
    };
    // A fresh connection per request (no pool): nothing connected for another host is reused. A
    // caller may give an agent of its own for one destination (webhooks): its connections are
    // checked by `lookup` when made, and kept for that destination only.
    const request = sendOne(url, { method: req.method, headers: req.headers, lookup, agent: agent ?? false }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        const to = res.headers.location ? ` to ${res.headers.location}` : '';
        return finish(new OutboundRefused(`the answer was a redirect (HTTP ${status}${to}); redirects are not followed`));
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) return finish(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) finish(tooLarge());
        else chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { status, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (err) => finish(err));
      res.on('aborted', () => finish(new OutboundFailed('network', 'the answer was cut short')));
    });
    const timer = setTimeout(() => finish(new OutboundFailed('timeout', `no answer within ${req.timeoutMs} ms`)), req.timeoutMs);
    request.on('error', (err) => finish(err));
    request.end(req.body);
  });
}
