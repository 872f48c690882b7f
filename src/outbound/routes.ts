import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';
import { DateTime, ErrorBody, IdParams, int4, Matching, Nullable, Uuid } from '../core/schemas.js';
import type { OutboundService } from './service.js';

const OutboundCallView = Type.Object({
  callId: Type.String({ format: 'uuid' }),
  agentId: Type.String({ format: 'uuid' }),
  queueId: Nullable(Type.String({ format: 'uuid' })),
  number: Type.String(),
  callerId: Type.String(),
  origin: Type.String({ description: 'api (click-to-call), phone (* + number), callback or campaign' }),
  startedAt: Type.String({ format: 'date-time' }),
  agentAnsweredAt: Nullable(Type.String({ format: 'date-time' })),
  answeredAt: Nullable(Type.String({ format: 'date-time', description: 'When the customer answered' })),
  endedAt: Nullable(Type.String({ format: 'date-time' })),
  outcome: Nullable(Type.String({ description: 'answered, busy, no_answer, congestion, invalid, failed, agent_no_answer or cancelled' })),
  talkSeconds: Type.Union([Type.Integer(), Type.Null()]),
  endedBy: Nullable(Type.String()),
});

export async function outboundRoutes(app: HttpApp, { outbound }: { outbound: OutboundService }): Promise<void> {
  app.post('/api/v1/calls', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['calls'],
      summary: 'Click-to-call: ring the agent\'s phone, then dial the number',
      description: 'The agent\'s phone rings first; once it answers the number is dialled on the trunk (CENTRALITA_OUTBOUND_ENDPOINT) with '
        + 'the configured caller ID. The number must be within the agent\'s dialing rights (403). An agent may call only from their own phone. '
        + 'With `queueId`, the queue\'s recording policy and wrap-up apply. The call is a `direction: outbound` call (GET /api/v1/calls/:id).',
      body: Type.Object({
        agentId: Uuid(),
        number: Matching('^[0-9+ ().-]{3,40}$', 40, { description: 'Digits, optionally after a +; spaces, dots, dashes and brackets are ignored' }),
        queueId: Type.Optional(Uuid({ description: 'The queue the call is made for (recording policy, wrap-up)' })),
      }, { additionalProperties: false }),
      response: { 202: Type.Object({ callId: Type.String({ format: 'uuid' }) }), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request, reply) => reply.status(202).send(await outbound.clickToCall(request.body, request.principal!)));

  app.get('/api/v1/outbound-calls', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['calls'],
      summary: 'Outbound calls, newest first (agents: their own, with agentId)',
      querystring: Type.Object({
        agentId: Type.Optional(Uuid()),
        from: Type.Optional(DateTime()),
        to: Type.Optional(DateTime()),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        offset: Type.Integer({ minimum: 0, maximum: int4.maximum, default: 0 }),
      }, { additionalProperties: false }),
      response: { 200: Type.Array(OutboundCallView), 400: ErrorBody, 403: ErrorBody },
    },
  }, async (request) => {
    const { agentId, from, to, limit, offset } = request.query;
    return outbound.list({ agentId, from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined, limit, offset }, request.principal!);
  });

  app.get('/api/v1/outbound-calls/:id', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['calls'], summary: 'One outbound call by its call id', params: IdParams, response: { 200: OutboundCallView, 404: ErrorBody } },
  }, async (request) => outbound.get(request.params.id));
}
