import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { tooManyFailures } from '../auth/http.js';
import { bearerToken, hashToken, type AuthService } from '../auth/service.js';
import { isLoopbackHost } from '../core/config.js';
import type { HttpApp } from '../core/http.js';
import { ErrorBody } from '../core/schemas.js';
import type { MetricsService } from './service.js';

export interface MetricsAccess {
  auth: Pick<AuthService, 'authenticate' | 'countFailure' | 'failures'>;
  /** CENTRALITA_METRICS_TOKEN: a token for /metrics alone (the scraper's), if set. */
  token: string | undefined;
  /** Whether CENTRALITA_TRUST_PROXY names proxies (then request.ip is the client they name, and loopback needs a token too). */
  behindProxy: boolean;
}

/** Headers a reverse proxy adds: a request carrying one came through a proxy we were not told to trust. */
const forwardingHeaders = ['x-forwarded-for', 'forwarded', 'x-real-ip'];

/**
 * Who may scrape: anyone on this machine (a Prometheus or an agent beside
 * it, as /health), else an admin token or CENTRALITA_METRICS_TOKEN. Only
 * while no proxy is trusted: behind a trusted proxy, a request that carries
 * no X-Forwarded-For (the proxy need not send one) keeps the proxy's own
 * address, loopback for a proxy on this machine, and loopback could not be
 * told from the world; so every request needs a token there. A request from
 * loopback that carries a proxy's headers while no proxy is trusted came
 * from the world through a proxy on this machine: it needs a token too.
 */
async function scrapeAllowed(request: FastifyRequest, reply: FastifyReply, access: MetricsAccess, tokenHash: Buffer | undefined): Promise<FastifyReply | undefined> {
  const local = !access.behindProxy && isLoopbackHost(request.ip) && !forwardingHeaders.some((h) => request.headers[h] !== undefined);
  if (local) return undefined;
  const token = bearerToken(request.headers.authorization);
  if (!token) {
    return reply.status(401).header('www-authenticate', 'Bearer').send({
      error: { code: 'unauthorized', message: access.behindProxy
        ? '/metrics needs a bearer token (CENTRALITA_METRICS_TOKEN or an admin token) behind a trusted proxy (CENTRALITA_TRUST_PROXY), from loopback too'
        : '/metrics needs a bearer token (CENTRALITA_METRICS_TOKEN or an admin token) from outside this machine' },
    });
  }
  const retryAfter = access.auth.failures.retryAfter(request.ip);
  if (retryAfter > 0) {
    const locked = tooManyFailures(retryAfter);
    return reply.status(locked.status).headers(locked.headers).send(locked.body);
  }
  if (tokenHash && timingSafeEqual(Buffer.from(hashToken(token), 'hex'), tokenHash)) return undefined;
  const principal = await access.auth.authenticate(token);
  if (!principal) {
    await access.auth.countFailure(token, request.ip);
    return reply.status(401).header('www-authenticate', 'Bearer').send({ error: { code: 'unauthorized', message: 'the bearer token is unknown or revoked' } });
  }
  if (principal.role !== 'admin') {
    return reply.status(403).send({ error: { code: 'forbidden', message: `role ${principal.role} may not read /metrics (allowed: admin, or CENTRALITA_METRICS_TOKEN)` } });
  }
  return undefined;
}

/** GET /metrics: Prometheus' text format, outside /api/v1 where scrapers look for it. */
export function metricsRoutes(app: HttpApp, metrics: MetricsService, access: MetricsAccess): void {
  const tokenHash = access.token === undefined ? undefined : Buffer.from(hashToken(access.token), 'hex');
  app.get('/metrics', {
    schema: {
      tags: ['health'],
      summary: 'Prometheus metrics',
      description: 'Prometheus text format (docs/observability.md lists every metric). No token from loopback unless CENTRALITA_TRUST_PROXY is set; otherwise CENTRALITA_METRICS_TOKEN or an admin token.',
      security: [{ bearer: [] }],
      response: {
        200: Type.String({ description: 'text/plain; version=0.0.4' }),
        401: ErrorBody, 403: ErrorBody, 429: ErrorBody,
      },
    },
    onRequest: (request, reply) => scrapeAllowed(request, reply, access, tokenHash),
  }, async (_request, reply) => {
    const text = await metrics.text();
    return reply.type(metrics.contentType).send(text);
  });
}
