import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';
import { ErrorBody, StringEnum, Uuid } from '../core/schemas.js';
import { lockKinds } from './lockouts.js';
import type { SecurityService } from './service.js';

const Kind = StringEnum(lockKinds, { description: 'number: an agent number, from any phone; phone: a desk phone, whatever numbers it tried; user: a name at the pages\' sign-in' });

const LockView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  kind: Kind,
  subject: Type.String({ description: 'the agent number, the phone (extension) or the sign-in name (lower case)' }),
  failures: Type.Integer({ description: 'wrong number+PIN (or password) attempts that locked it' }),
  lockedAt: Type.String({ format: 'date-time' }),
  until: Type.String({ format: 'date-time' }),
});

/** The phone PIN lockout, for admins: the locks in force, and lifting one. */
export function securityRoutes(app: HttpApp, security: SecurityService): void {
  app.get('/api/v1/security/lockouts', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['security'], summary: 'Agent numbers and phones locked out of phone PIN logins, and names locked out of the sign-in, now',
      description: 'After 5 wrong number+PIN attempts within 15 minutes for one agent number (from any phone) or from one phone (any numbers), '
        + 'that number or phone is refused for 15 minutes from the lock: callers hear "not now" and no PIN is checked. '
        + 'The same rules lock a name at the pages\' sign-in after 5 wrong passwords (429, no password checked).',
      querystring: Type.Object({ kind: Type.Optional(Kind) }, { additionalProperties: false }),
      response: { 200: Type.Array(LockView), 400: ErrorBody },
    },
  }, async (request) => security.list(request.query.kind));

  app.delete('/api/v1/security/lockouts/:id', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['security'], summary: 'Lift a lock now (its failures are forgotten); logged with the token that did it',
      params: Type.Object({ id: Uuid() }, { additionalProperties: false }),
      response: { 200: LockView, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (request) => {
    const principal = request.principal!;
    return security.clear(request.params.id, { tokenId: principal.tokenId, role: principal.role });
  });
}
