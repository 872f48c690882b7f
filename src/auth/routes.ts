import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';
import { roles, type AuthService } from './service.js';
import { ErrorBody, IdParams, StringEnum, Text } from '../core/schemas.js';

const RoleSchema = StringEnum(roles);

const TokenView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  role: RoleSchema,
  agentId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

/** API tokens: admins create them for supervisors, agents and integrations. */
export function tokenRoutes(app: HttpApp, auth: AuthService): void {
  app.post('/api/v1/tokens', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['auth'],
      summary: 'Create an API token (the secret is shown once)',
      body: Type.Object({
        name: Text({ minLength: 1, maxLength: 100 }),
        role: RoleSchema,
        agentId: Type.Optional(Text({ minLength: 1, maxLength: 64 })),
      }, { additionalProperties: false }),
      response: { 201: Type.Intersect([TokenView, Type.Object({ token: Type.String() })]), 400: ErrorBody },
    },
  }, async (request, reply) => reply.status(201).send(await auth.createToken(request.body)));

  app.get('/api/v1/tokens', {
    config: { roles: ['admin'] },
    schema: { tags: ['auth'], summary: 'List API tokens (never their secrets)', response: { 200: Type.Array(TokenView) } },
  }, async () => auth.listTokens());

  app.delete('/api/v1/tokens/:id', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['auth'],
      summary: 'Revoke an API token',
      params: IdParams,
      response: { 200: TokenView, 404: ErrorBody },
    },
  }, async (request) => auth.revokeToken(request.params.id));
}
