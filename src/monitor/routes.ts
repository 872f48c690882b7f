import { Type } from 'typebox';
import { badRequest } from '../core/errors.js';
import type { HttpApp } from '../core/http.js';
import { DateTime, ErrorBody, IdParams, int4, Nullable, StringEnum, Uuid } from '../core/schemas.js';
import type { MonitorService } from './service.js';
import { monitorModes } from './store.js';

const Mode = StringEnum(monitorModes, { description: 'listen: hear the call, nobody hears you; whisper: only the agent hears you; barge: both hear you' });

const SessionView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  supervisorId: Type.String({ format: 'uuid' }),
  agentId: Type.String({ format: 'uuid' }),
  callId: Type.String({ format: 'uuid', description: 'the call monitored first' }),
  currentCallId: Nullable(Type.String({ format: 'uuid', description: 'the call monitored now (live sessions)' })),
  extension: Type.String({ description: "the supervisor's desk phone" }),
  source: StringEnum(['api', 'phone'] as const),
  follow: Type.Boolean({ description: 'follows the agent to their next call' }),
  status: StringEnum(['ringing', 'active', 'ended'] as const),
  mode: Mode,
  createdAt: Type.String({ format: 'date-time' }),
  answeredAt: Nullable(Type.String({ format: 'date-time' })),
  endedAt: Nullable(Type.String({ format: 'date-time' })),
  endReason: Nullable(Type.String({ description: 'supervisor_hangup, ended_by_api, call_ended, no_answer, busy, unreachable, failed, restart, asterisk_lost, offboarded (the supervisor lost access), taken_over (the supervisor took the call over)' })),
  segments: Type.Array(Type.Object({
    mode: Mode,
    callId: Type.String({ format: 'uuid' }),
    source: StringEnum(['start', 'api', 'phone', 'follow', 'restart'] as const),
    startedAt: Type.String({ format: 'date-time' }),
    endedAt: Nullable(Type.String({ format: 'date-time' })),
  }), { description: 'each mode in turn, with its start and end' }),
});

const errors = { 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const roles = ['admin', 'supervisor'] as const;

/**
 * Supervisor monitoring: POST rings the supervisor's desk phone and joins
 * them to the agent's call in a mode; PATCH switches it live; DELETE ends it.
 * Every session is kept (the audit) and listed by GET.
 */
export function monitorRoutes(app: HttpApp, monitor: MonitorService): void {
  app.post('/api/v1/monitor', {
    config: { roles },
    schema: {
      tags: ['monitoring'], summary: "Monitor an agent's call from the supervisor's desk phone",
      description: 'Give agentId or callId. The supervisor\'s phone rings; the session starts when it is answered (status ringing → active). '
        + 'A supervisor token bound to a supervisor acts only for them. 403: not a supervisor, or another team (CENTRALITA_MONITOR_SAME_TEAM_ONLY); '
        + '409: the agent is not on a call, the supervisor\'s phone is unreachable, or the supervisor is already monitoring.',
      body: Type.Object({
        supervisorId: Uuid({ description: 'an agent with isSupervisor, whose desk phone (extension) rings' }),
        agentId: Type.Optional(Uuid()),
        callId: Type.Optional(Uuid()),
        mode: Mode,
        follow: Type.Optional(Type.Boolean({ description: 'stay for the agent\'s next call when this one ends (default CENTRALITA_MONITOR_FOLLOW_AGENT)' })),
      }, { additionalProperties: false }),
      response: { 201: SessionView, ...errors },
    },
  }, async (request, reply) => {
    const { supervisorId, agentId, callId, mode, follow } = request.body;
    if ((agentId === undefined) === (callId === undefined)) throw badRequest('body/agentId or body/callId: give exactly one');
    const target = agentId !== undefined ? { agentId } : { callId: callId! };
    const session = await monitor.start({ supervisorId, target, mode, ...(follow !== undefined ? { follow } : {}) }, request.principal!);
    return reply.status(201).send(session);
  });

  app.get('/api/v1/monitor', {
    config: { roles },
    schema: {
      tags: ['monitoring'], summary: 'Monitoring sessions (the audit), newest first',
      querystring: Type.Object({
        from: Type.Optional(DateTime({ description: 'started at or after' })),
        to: Type.Optional(DateTime({ description: 'started before' })),
        supervisor: Type.Optional(Uuid()),
        agent: Type.Optional(Uuid()),
        live: Type.Optional(Type.Boolean({ description: 'only the sessions going on now' })),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        offset: Type.Integer({ minimum: 0, maximum: int4.maximum, default: 0 }),
      }, { additionalProperties: false }),
      response: { 200: Type.Array(SessionView), 400: ErrorBody },
    },
  }, async (request) => {
    const { from, to, supervisor, agent, live, limit, offset } = request.query;
    if (from && to && new Date(from) > new Date(to)) throw badRequest('querystring/from must not be after querystring/to');
    if (live) return monitor.live().filter((s) => (!supervisor || s.supervisorId === supervisor) && (!agent || s.agentId === agent));
    return monitor.list({ from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined, supervisorId: supervisor, agentId: agent, limit, offset });
  });

  app.get('/api/v1/monitor/:id', {
    config: { roles },
    schema: { tags: ['monitoring'], summary: 'One monitoring session', params: IdParams, response: { 200: SessionView, 404: ErrorBody } },
  }, async (request) => monitor.get(request.params.id));

  app.patch('/api/v1/monitor/:id', {
    config: { roles },
    schema: {
      tags: ['monitoring'], summary: 'Switch a live session to another mode without dropping the supervisor',
      description: 'On the phone the keys 4 (listen), 5 (whisper) and 6 (barge) do the same. 409 when the session has ended.',
      params: IdParams,
      body: Type.Object({ mode: Mode }, { additionalProperties: false }),
      response: { 200: SessionView, ...errors },
    },
  }, async (request) => monitor.changeMode(request.params.id, request.body.mode, request.principal!));

  app.delete('/api/v1/monitor/:id', {
    config: { roles },
    schema: {
      tags: ['monitoring'], summary: "End a session: the supervisor's phone is hung up", params: IdParams,
      response: { 200: SessionView, ...errors },
    },
  }, async (request) => monitor.end(request.params.id, request.principal!));

  app.post('/api/v1/monitor/:id/take-over', {
    config: { roles },
    schema: {
      tags: ['monitoring'], summary: 'Take a queue call over: from barge, the agent\'s leg drops and the supervisor stays with the caller',
      description: 'Only a live session barging into a queue call (409 otherwise). The session ends as taken_over (audited); the call\'s entry is closed as transferred to the supervisor; the agent goes to wrap-up.',
      params: IdParams, response: { 200: SessionView, ...errors },
    },
  }, async (request) => monitor.takeOver(request.params.id, request.principal!));
}
