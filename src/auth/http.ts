import type { FastifyReply } from 'fastify';
import type { HttpApp } from '../core/http.js';
import { bearerToken, type AuthService, type Principal, type Role } from './service.js';
import { UsersService } from './users.js';

/** The pages' sign-in cookie: a session secret (src/auth/users.ts). */
export const sessionCookie = 'centralita_session';

/** The session secret a request's Cookie header carries, if any. */
export function sessionSecret(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === sessionCookie) {
      const secret = value.join('=');
      return UsersService.isSessionSecret(secret) ? secret : undefined;
    }
  }
  return undefined;
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether a browser's Origin header names the host the request was sent to
 * (the scheme aside: behind a TLS proxy the browser's https is http here).
 * A reverse proxy must pass the Host header on (deploy/nginx/centralita.conf).
 */
export function fromHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false; // not a URL ("null" from a sandboxed page): not this site
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. Every /api/v1 route must say. */
    roles?: readonly Role[];
    /** A /api/v1 route anyone may call (the sign-in): it says so instead of naming roles. */
    public?: true;
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
export function installAuth(app: HttpApp, auth: AuthService, users?: UsersService): void {
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    const roles = route.config?.roles;
    if (route.url.startsWith('/api/v1') && (!roles || roles.length === 0) && !route.config?.public) {
      throw new Error(`route ${route.method} ${route.url} declares no roles`);
    }
    if (roles && route.schema && !route.schema.hide) {
      route.schema.security = [{ bearer: [] }];
      route.schema.description = [route.schema.description, `Roles: ${roles.join(', ')}.`].filter(Boolean).join(' ');
    } else if (route.config?.public && route.schema) {
      route.schema.security = [];
      route.schema.description = [route.schema.description, 'Roles: anyone.'].filter(Boolean).join(' ');
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
    // The pages' sign-in cookie, when no bearer token is sent.
    const secret = token ? undefined : sessionSecret(request.headers.cookie);
    if (secret && users) {
      const principal = await users.authenticate(secret);
      if (!principal) {
        return reply.status(401).header('set-cookie', clearCookie(request.protocol === 'https')).send({
          error: { code: 'unauthorized', message: 'the session has ended (signed out, expired or ended by an admin): sign in again' },
        });
      }
      // A change made with the cookie must carry the session's CSRF token
      // (another site's form cannot read it) and, when the browser says where
      // it comes from, come from this site.
      if (!safeMethods.has(request.method)) {
        const origin = request.headers.origin;
        const sameOrigin = origin === undefined || fromHost(origin, request.headers.host);
        const sent = request.headers['x-csrf-token'];
        if (!sameOrigin || !UsersService.csrfMatches(principal, typeof sent === 'string' ? sent : undefined)) {
          request.log.warn({ method: request.method, url: request.routeOptions.url, origin, sessionId: principal.tokenId }, 'refused: a change without the session\'s CSRF token');
          return reply.status(403).send({ error: { code: 'csrf_failed', message: 'a change made with the sign-in cookie needs the X-CSRF-Token header from sign-in or /api/v1/me, from this site' } });
        }
      }
      if (!roles.includes(principal.role)) return forbiddenRole(reply, principal.role, roles);
      request.principal = principal;
      return;
    }
    const ticket = request.routeOptions.config.ticket;
    // A ticket's principal is checked again: its token may have been revoked
    // (or its agent offboarded) since the ticket was issued.
    const fromTicket = token ? undefined : ticket?.(request, reply);
    const stillValid = (p: Principal) => (p.session && users ? users.stillValid(p) : auth.stillValid(p));
    const principal = token ? await auth.authenticate(token) : fromTicket && (await stillValid(fromTicket));
    if (!principal) {
      if (token) await auth.countFailure(token, request.ip);
      return reply.status(401).header('www-authenticate', 'Bearer').send({
        error: { code: 'unauthorized', message: token ? 'the bearer token is unknown or revoked' : 'a bearer token is required (Authorization: Bearer <token>)' },
      });
    }
    if (!roles.includes(principal.role)) return forbiddenRole(reply, principal.role, roles);
    request.principal = principal;
  });
}

function forbiddenRole(reply: FastifyReply, role: Role, roles: readonly Role[]) {
  return reply.status(403).send({
    error: { code: 'forbidden', message: `role ${role} may not call this route (allowed: ${roles.join(', ')})` },
  });
}

/** The sign-in cookie: HttpOnly, SameSite=Strict, Secure over TLS; for `maxAgeSeconds`. */
export function setCookie(secret: string, maxAgeSeconds: number, secure: boolean): string {
  return `${sessionCookie}=${secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function clearCookie(secure: boolean): string {
  return `${sessionCookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
