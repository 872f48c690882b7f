import type { FastifyReply } from 'fastify';
import type { HttpApp } from '../core/http.js';
import { bearerToken, type AuthService, type Principal, type Role } from './service.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. Every /api/v1 route must say. */
    roles?: readonly Role[];
    /**
     * For links a browser follows by itself (an <audio> element cannot send
     * a header): who a request without a bearer token stands for, from a
     * short-lived ticket in its URL; undefined refuses it (401).
     */
    ticket?: (request: FastifyRequest, reply: FastifyReply) => Principal | undefined;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * The 429 for an address locked after too many failed authentications (see
 * AuthFailures): one answer for the REST API and the events socket.
 */
export function tooManyFailures(retryAfter: number) {
  return {
    status: 429,
    headers: { 'Retry-After': String(retryAfter) },
    body: { error: { code: 'too_many_requests', message: `too many failed authentications from this address; try again in ${retryAfter} s` } },
  };
}

/**
 * Bearer-token auth on every route that declares `config.roles`: 401 without
 * a valid token, 403 for a role the route does not allow, 429 from an
 * address locked after too many failed authentications. A /api/v1 route
 * without roles is refused at start-up, so none can be left open by mistake.
 */
export function installAuth(app: HttpApp, auth: AuthService): void {
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    const roles = route.config?.roles;
    if (route.url.startsWith('/api/v1') && (!roles || roles.length === 0)) {
      throw new Error(`route ${route.method} ${route.url} declares no roles`);
    }
    if (roles && route.schema && !route.schema.hide) {
      route.schema.security = [{ bearer: [] }];
      route.schema.description = [route.schema.description, `Roles: ${roles.join(', ')}.`].filter(Boolean).join(' ');
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const roles = request.routeOptions.config.roles;
    if (!roles) return;
    const token = bearerToken(request.headers.authorization);
    const retryAfter = token ? auth.failures.retryAfter(request.ip) : 0;
    if (retryAfter > 0) {
      const locked = tooManyFailures(retryAfter);
      return reply.status(locked.status).headers(locked.headers).send(locked.body);
    }
    const ticket = request.routeOptions.config.ticket;
    // A ticket's principal is checked again: its token may have been revoked
    // (or its agent offboarded) since the ticket was issued.
    const fromTicket = token ? undefined : ticket?.(request, reply);
    const principal = token ? await auth.authenticate(token) : fromTicket && (await auth.stillValid(fromTicket));
    if (!principal) {
      if (token) await auth.countFailure(token, request.ip);
      return reply.status(401).header('www-authenticate', 'Bearer').send({
        error: { code: 'unauthorized', message: token ? 'the bearer token is unknown or revoked' : 'a bearer token is required (Authorization: Bearer <token>)' },
      });
    }
    if (!roles.includes(principal.role)) {
      return reply.status(403).send({
        error: { code: 'forbidden', message: `role ${principal.role} may not call this route (allowed: ${roles.join(', ')})` },
      });
    }
    request.principal = principal;
  });
}
