import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';
import { DateTime, ErrorBody, IdParams, int4, Matching, Nullable } from '../core/schemas.js';
import type { CallsService } from './service.js';


const CallView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  channelId: Type.String(),
  direction: Type.Union([Type.Literal('inbound'), Type.Literal('internal'), Type.Literal('outbound')]),
  callerNumber: Type.String(),
  callerName: Type.String(),
  did: Nullable(Type.String()),
  startedAt: Type.String({ format: 'date-time' }),
  answeredAt: Nullable(Type.String({ format: 'date-time' })),
  endedAt: Nullable(Type.String({ format: 'date-time' })),
  hangupCause: Type.Union([Type.Integer(), Type.Null()]),
  hangupCauseText: Nullable(Type.String()),
  endReason: Type.Union([Type.Literal('hangup'), Type.Literal('lost'), Type.Null()]),
  parentCallId: Nullable(Type.String({ format: 'uuid', description: 'A leg placed for another call (an agent consulting a colleague): that call' })),
  calledNumber: Nullable(Type.String({ description: 'The number a leg called' })),
});

const CallEventView = Type.Object({ type: Type.String(), detail: Type.Record(Type.String(), Type.Unknown()), at: Type.String({ format: 'date-time' }) });

export function callRoutes(app: HttpApp, calls: CallsService): void {
  app.get('/api/v1/calls', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['calls'],
      summary: 'Calls, newest first',
      querystring: Type.Object({
        from: Type.Optional(DateTime()),
        to: Type.Optional(DateTime()),
        did: Type.Optional(Matching('^\\+?[0-9]{1,32}$', 33)),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        offset: Type.Integer({ minimum: 0, maximum: int4.maximum, default: 0 }),
      }, { additionalProperties: false }),
      response: { 200: Type.Array(CallView), 400: ErrorBody },
    },
  }, async (request) => {
    const { from, to, did, limit, offset } = request.query;
    return calls.list({ from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined, did, limit, offset });
  });

  app.get('/api/v1/calls/live', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['calls'], summary: 'Calls in progress, oldest first', response: { 200: Type.Array(CallView) } },
  }, async () => calls.liveCalls());

  app.get('/api/v1/calls/:id', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['calls'],
      summary: 'One call with what happened during it, and the legs placed for it (consults)',
      params: IdParams,
      response: { 200: Type.Intersect([CallView, Type.Object({ events: Type.Array(CallEventView), legs: Type.Array(CallView) })]), 404: ErrorBody },
    },
  }, async (request) => calls.get(request.params.id));
}
