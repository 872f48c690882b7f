import { Type } from 'typebox';
import { HttpError } from '../core/errors.js';
import type { HttpApp } from '../core/http.js';
import { ErrorBody, IdParams, Matching, Nullable, StringEnum, Text, Uuid } from '../core/schemas.js';
import type { Logger } from '../core/logger.js';
import { AuthFailures } from './failures.js';
import { clearCookie, setCookie, tooManyFailures } from './http.js';
import { passwordRules } from './passwords.js';
import { roles } from './service.js';
import type { UsersService } from './users.js';

const RoleSchema = StringEnum(roles);
const Password = Type.String({ minLength: passwordRules.minLength, maxLength: passwordRules.maxLength, description: `${passwordRules.minLength} to ${passwordRules.maxLength} characters` });
const Username = Matching('^[A-Za-z0-9._@-]{1,64}$', 64, { description: 'letters, digits and . _ @ -' });

const UserView = Type.Object({
  id: Type.String({ format: 'uuid' }), username: Type.String(), role: RoleSchema, agentId: Nullable(Type.String()), active: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }), passwordChangedAt: Type.String({ format: 'date-time' }),
});
const SessionView = Type.Object({
  id: Type.String({ format: 'uuid' }), userId: Type.String({ format: 'uuid' }), username: Type.String(), role: RoleSchema,
  createdAt: Type.String({ format: 'date-time' }), lastSeenAt: Type.String({ format: 'date-time' }), expiresAt: Type.String({ format: 'date-time' }),
  address: Nullable(Type.String()), userAgent: Nullable(Type.String()),
});

/**
 * The pages' sign-in and sign-out, the users an admin keeps, and their
 * sessions (src/auth/users.ts). The sign-in is the one /api/v1 route open
 * to anyone; failed ones are limited per address (as bearer tokens are)
 * and per name (the phone PIN's lockout rules).
 */
export function userRoutes(app: HttpApp, users: UsersService, logger: Logger, failuresPerMinute: number): void {
  // Wrong sign-ins per address, apart from the bearer tokens' budget: a
  // colleague's typos must not lock an office's integrations out.
  const failures = new AuthFailures(logger, { limit: failuresPerMinute });
  app.post('/api/v1/sign-in', {
    config: { public: true },
    schema: {
      tags: ['auth'], summary: 'Sign in to the pages with a name (or an agent\'s number) and a password',
      description: 'Sets the HttpOnly session cookie and returns the CSRF token to send as X-CSRF-Token on every change. '
        + 'Open to anyone. 401 for a wrong name or password; 429 after too many from the address, or 5 wrong passwords for a name within 15 minutes (locked 15 minutes).',
      body: Type.Object({ username: Text({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: passwordRules.maxLength }) }, { additionalProperties: false }),
      response: {
        200: Type.Object({ user: Type.Object({ id: Type.String(), username: Type.String(), role: RoleSchema, agentId: Nullable(Type.String()) }), csrfToken: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }),
        400: ErrorBody, 401: ErrorBody, 429: ErrorBody,
      },
    },
  }, async (request, reply) => {
    const retryAfter = failures.retryAfter(request.ip);
    if (retryAfter > 0) {
      const locked = tooManyFailures(retryAfter);
      return reply.status(429).headers(locked.headers).send(locked.body);
    }
    const secure = request.protocol === 'https';
    try {
      const { secret, session } = await users.signIn(request.body.username, request.body.password, { address: request.ip, userAgent: request.headers['user-agent'] ?? null });
      const maxAge = Math.floor((session.expires_at.getTime() - Date.now()) / 1000);
      return reply.header('set-cookie', setCookie(secret, maxAge, secure)).send({
        user: { id: session.user_id, username: session.username, role: session.role, agentId: session.agent_id },
        csrfToken: session.csrf_token, expiresAt: session.expires_at.toISOString(),
      });
    } catch (err) {
      if (err instanceof HttpError && err.statusCode === 401) failures.fail(request.ip);
      if (err instanceof HttpError && err.statusCode === 429) reply.header('retry-after', String((err as HttpError & { retryAfter?: number }).retryAfter ?? 60));
      throw err;
    }
  });

  app.post('/api/v1/sign-out', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: { tags: ['auth'], summary: 'Sign out: the session ends and its cookie is cleared (nothing to do for an API token)', response: { 204: Type.Null() } },
  }, async (request, reply) => {
    const principal = request.principal!;
    if (principal.session && principal.tokenId) await users.endSession(principal.tokenId, 'signed_out');
    return reply.status(204).header('set-cookie', clearCookie(request.protocol === 'https')).send(null);
  });

  app.put('/api/v1/me/password', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['auth'], summary: 'Change one\'s own password (signed in to the pages); one\'s other sessions end',
      body: Type.Object({ current: Type.String({ minLength: 1, maxLength: passwordRules.maxLength }), password: Password }, { additionalProperties: false }),
      response: { 204: Type.Null(), 400: ErrorBody, 409: ErrorBody },
    },
  }, async (request, reply) => {
    await users.changeOwnPassword(request.principal!, request.body.current, request.body.password);
    return reply.status(204).send(null);
  });

  app.get('/api/v1/users', {
    config: { roles: ['admin'] },
    schema: { tags: ['auth'], summary: 'People who sign in to the pages (never their passwords)', response: { 200: Type.Array(UserView) } },
  }, async () => users.listUsers());

  app.post('/api/v1/users', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['auth'], summary: 'Add a person who signs in to the pages',
      description: 'An agent user is bound to an agent (and may also sign in with its number), a supervisor user to a supervisor agent, an admin to none.',
      body: Type.Object({ username: Username, password: Password, role: RoleSchema, agentId: Type.Optional(Uuid()) }, { additionalProperties: false }),
      response: { 201: UserView, 400: ErrorBody, 409: ErrorBody },
    },
  }, async (request, reply) => reply.status(201).send(await users.createUser(request.body)));

  app.get('/api/v1/users/:id', {
    config: { roles: ['admin'] },
    schema: { tags: ['auth'], summary: 'A user', params: IdParams, response: { 200: UserView, 404: ErrorBody } },
  }, async (request) => users.getUser(request.params.id));

  app.patch('/api/v1/users/:id', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['auth'], summary: 'Change a user\'s role, agent, or disable them (their sessions end)',
      params: IdParams,
      body: Type.Object({ role: Type.Optional(RoleSchema), agentId: Type.Optional(Nullable(Uuid())), active: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: UserView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request) => users.updateUser(request.params.id, request.body));

  app.put('/api/v1/users/:id/password', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['auth'], summary: 'Set a user\'s password (a reset): every session of theirs ends',
      params: IdParams, body: Type.Object({ password: Password }, { additionalProperties: false }),
      response: { 200: UserView, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (request) => users.resetPassword(request.params.id, request.body.password));

  app.delete('/api/v1/users/:id', {
    config: { roles: ['admin'] },
    schema: { tags: ['auth'], summary: 'Remove a user: their sessions end', params: IdParams, response: { 204: Type.Null(), 404: ErrorBody } },
  }, async (request, reply) => {
    await users.deleteUser(request.params.id);
    return reply.status(204).send(null);
  });

  app.get('/api/v1/sessions', {
    config: { roles: ['admin'] },
    schema: { tags: ['auth'], summary: 'Sessions open in the pages now, newest first', response: { 200: Type.Array(SessionView) } },
  }, async () => users.listSessions());

  app.delete('/api/v1/sessions/:id', {
    config: { roles: ['admin'] },
    schema: { tags: ['auth'], summary: 'End a session now: its cookie stops working and its pages\' live feed closes', params: IdParams, response: { 204: Type.Null(), 404: ErrorBody } },
  }, async (request, reply) => {
    if (!(await users.endSession(request.params.id, 'ended_by_admin'))) throw new HttpError(404, 'not_found', `open session ${request.params.id} not found`);
    request.log.warn({ sessionId: request.params.id, by: request.principal!.tokenId }, 'session ended by an admin');
    return reply.status(204).send(null);
  });
}
