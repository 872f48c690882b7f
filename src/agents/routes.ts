import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { HttpError } from '../core/errors.js';
import type { HttpApp } from '../core/http.js';
import { DateTime, ErrorBody, IdParams, Matching, Nullable, StringEnum, Text } from '../core/schemas.js';
import { dialPatternSyntax } from './dialing-rights.js';
import { agentStatuses } from './state-machine.js';
import type { AgentsService } from './service.js';

const Extension = Matching('^[A-Za-z0-9_.-]{1,40}$', 40, { description: 'PJSIP endpoint of a desk phone' });
const Skills = Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' }), Type.Integer({ minimum: 1, maximum: 10 }), {
  description: 'skill name → level 1–10, e.g. {"es": 9, "billing": 5}',
  additionalProperties: false,
});

const AgentView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  number: Type.String(),
  name: Type.String(),
  extension: Nullable(Type.String()),
  team: Nullable(Type.String()),
  skills: Type.Record(Type.String(), Type.Integer()),
  isSupervisor: Type.Boolean(),
  dialingRights: Type.Array(Type.String()),
  active: Type.Boolean(),
});

const AgentInput = {
  number: Matching('^[0-9]{1,10}$', 10, { description: 'keyed in on the phone to check in' }),
  name: Text({ minLength: 1, maxLength: 120 }),
  extension: Type.Union([Extension, Type.Null()]),
  pin: Matching('^[0-9]{4,12}$', 12, { description: '4 to 12 digits' }),
  team: Type.Union([Text({ minLength: 1, maxLength: 80 }), Type.Null()]),
  skills: Skills,
  isSupervisor: Type.Boolean(),
  dialingRights: Type.Array(Matching(dialPatternSyntax, 41), {
    maxItems: 20, uniqueItems: true,
    description: 'external numbers the agent may transfer callers to, as dialplan patterns: _9XXXXXXXX, _00., 900123456 (none: queues and phones only)',
  }),
};

const StateView = Type.Object({
  agentId: Type.String({ format: 'uuid' }),
  status: StringEnum(agentStatuses),
  reason: Nullable(Type.String()),
  pendingPause: Nullable(Type.String()),
  extension: Nullable(Type.String()),
  wrapUpEndsAt: Nullable(Type.String({ format: 'date-time' })),
  callId: Nullable(Type.String()),
  since: Nullable(Type.String({ format: 'date-time' })),
});

const TimelineEntry = Type.Object({
  from: Type.String(), to: Type.String(), status: StringEnum(agentStatuses), reason: Nullable(Type.String()),
  pendingPause: Nullable(Type.String()), extension: Nullable(Type.String()), callId: Nullable(Type.String()),
  source: StringEnum(['phone', 'api', 'system', 'supervisor'] as const), at: Type.String({ format: 'date-time' }),
  forcedBy: Type.Optional(Type.String()), forcedWhy: Type.Optional(Type.String()),
});

/** Who a principal is, for audits: the signed-in user's name, else the token's id. */
export function principalName(request: FastifyRequest): string {
  const p = request.principal;
  if (p?.session) return p.session.username;
  return p?.tokenId ? `token ${p.tokenId}` : 'admin token (config)';
}

const PauseReason = Type.Object({
  name: Type.String(), code: Nullable(Type.String()), label: Type.String(), productive: Type.Boolean(), system: Type.Boolean(),
});


/** An agent token acts only on its own agent; supervisors and admins on anyone. */
function assertMayActOn(request: FastifyRequest, agentId: string): void {
  const principal = request.principal;
  if (principal?.role === 'agent' && principal.agentId !== agentId) {
    throw new HttpError(403, 'forbidden', 'an agent token may act only on its own agent');
  }
}

export function agentRoutes(app: HttpApp, agents: AgentsService): void {
  app.get('/api/v1/agents', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['agents'], summary: 'Agents',
      querystring: Type.Object({ includeInactive: Type.Boolean({ default: false }) }, { additionalProperties: false }),
      response: { 200: Type.Array(AgentView) },
    },
  }, async (request) => agents.listAgents(request.query.includeInactive));

  app.post('/api/v1/agents', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['agents'], summary: 'Create an agent',
      body: Type.Object({
        number: AgentInput.number, name: AgentInput.name, pin: AgentInput.pin,
        extension: Type.Optional(AgentInput.extension), team: Type.Optional(AgentInput.team),
        skills: Type.Optional(AgentInput.skills), isSupervisor: Type.Optional(AgentInput.isSupervisor),
        dialingRights: Type.Optional(AgentInput.dialingRights),
      }, { additionalProperties: false }),
      response: { 201: AgentView, 400: ErrorBody, 409: ErrorBody },
    },
  }, async (request, reply) => reply.status(201).send(await agents.createAgent(request.body)));

  app.get('/api/v1/agents/:id', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: { tags: ['agents'], summary: 'One agent', params: IdParams, response: { 200: AgentView, 404: ErrorBody } },
  }, async (request) => {
    assertMayActOn(request, request.params.id);
    return agents.getAgent(request.params.id);
  });

  app.patch('/api/v1/agents/:id', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['agents'], summary: 'Change an agent',
      params: IdParams,
      body: Type.Partial(Type.Object(AgentInput), { additionalProperties: false, minProperties: 1 }),
      response: { 200: AgentView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request) => agents.updateAgent(request.params.id, request.body));

  app.delete('/api/v1/agents/:id', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['agents'], summary: 'Delete an agent without history; deactivate one with history',
      params: IdParams,
      response: { 200: Type.Object({ deleted: Type.Boolean(), agent: AgentView }), 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request) => agents.removeAgent(request.params.id));

  app.get('/api/v1/agents/:id/state', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: { tags: ['agents'], summary: "The agent's current state", params: IdParams, response: { 200: StateView, 404: ErrorBody } },
  }, async (request) => {
    assertMayActOn(request, request.params.id);
    return agents.state(request.params.id);
  });

  app.get('/api/v1/agents/:id/timeline', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['agents'], summary: "The agent's state changes, oldest first",
      params: IdParams,
      querystring: Type.Object({
        from: Type.Optional(DateTime()),
        to: Type.Optional(DateTime()),
      }, { additionalProperties: false }),
      response: { 200: Type.Array(TimelineEntry), 404: ErrorBody },
    },
  }, async (request) => {
    assertMayActOn(request, request.params.id);
    const { from, to } = request.query;
    return agents.timeline(request.params.id, from ? new Date(from) : undefined, to ? new Date(to) : undefined);
  });

  const stateChange = { 200: StateView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };

  app.post('/api/v1/agents/:id/login', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['agents'], summary: 'Check an agent in (on their own phone unless an extension is given)',
      params: IdParams,
      body: Type.Object({ extension: Type.Optional(Extension) }, { additionalProperties: false }),
      response: stateChange,
    },
    // The body is optional: no body means the agent's own phone.
    preValidation: async (request) => {
      if (request.body === undefined || request.body === null) request.body = {};
    },
  }, async (request) => {
    assertMayActOn(request, request.params.id);
    return agents.login(request.params.id, request.body.extension, 'api', request.principal?.role === 'agent');
  });

  app.post('/api/v1/agents/:id/logout', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: { tags: ['agents'], summary: 'Check an agent out', params: IdParams, response: stateChange },
  }, async (request) => {
    assertMayActOn(request, request.params.id);
    return agents.command(request.params.id, { type: 'logout' }, 'api');
  });

  app.post('/api/v1/agents/:id/pause', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['agents'], summary: 'Pause an agent (pending until the call and wrap-up end if on a call)',
      params: IdParams,
      body: Type.Object({ reason: Text({ minLength: 1, maxLength: 40, description: 'a pause reason name, e.g. lunch' }) }, { additionalProperties: false }),
      response: stateChange,
    },
  }, async (request) => {
    assertMayActOn(request, request.params.id);
    return agents.pause(request.params.id, request.body.reason, 'api');
  });

  app.post('/api/v1/agents/:id/ready', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: { tags: ['agents'], summary: 'Make an agent available (ends a pause or wrap-up)', params: IdParams, response: stateChange },
  }, async (request) => {
    assertMayActOn(request, request.params.id);
    return agents.command(request.params.id, { type: 'ready' }, 'api');
  });

  app.post('/api/v1/agents/:id/force', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['agents'], summary: "A supervisor sets an agent's state (audited)",
      description: 'paused(reason), available or logged_out, with why. During a call a pause is pending until the call ends; the rest is refused (409). '
        + "The change's row keeps who and why; the agent's desk page is told at once and their phone says so at their next call.",
      params: IdParams,
      body: Type.Object({
        state: StringEnum(['paused', 'available', 'logged_out'] as const),
        reason: Type.Optional(Text({ minLength: 1, maxLength: 40, description: 'with paused: a pause reason name' })),
        why: Text({ minLength: 1, maxLength: 200, description: 'told to the agent and kept in the audit' }),
      }, { additionalProperties: false }),
      response: stateChange,
    },
  }, async (request) => agents.force(request.params.id, request.body.state, request.body.reason, { by: principalName(request), why: request.body.why }));

  app.get('/api/v1/pause-reasons', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: { tags: ['agents'], summary: 'Pause reasons', response: { 200: Type.Array(PauseReason) } },
  }, async () => agents.listPauseReasons());

  app.put('/api/v1/pause-reasons/:name', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['agents'], summary: 'Create or change a pause reason (system reasons cannot change)',
      params: Type.Object({ name: Matching('^[a-z][a-z0-9_]{0,39}$', 40) }),
      body: Type.Object({
        code: Matching('^[0-9]{1,2}$', 2, { description: 'keyed after *47' }),
        label: Text({ minLength: 1, maxLength: 80 }),
        productive: Type.Boolean(),
      }, { additionalProperties: false }),
      response: { 200: PauseReason, 400: ErrorBody, 409: ErrorBody },
    },
  }, async (request) => agents.savePauseReason({ name: request.params.name, ...request.body }));
}
