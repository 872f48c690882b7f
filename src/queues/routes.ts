import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';
import { DateTime, ErrorBody, IdParams, Matching, Nullable, StringEnum, Text, Uuid } from '../core/schemas.js';
import { SurveyOfferSchema } from './survey-offer.js';
import type { QueuesService } from './service.js';
import { strategies } from './strategy.js';

/** A queue named by its id or its name (an id is stored: see QueuesService.findQueue). */
const queueName = '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$';
const QueueRef = Matching(queueName, 80, { description: "the queue's id or name" });
const Skills = Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' }), Type.Integer({ minimum: 1, maximum: 10 }), { additionalProperties: false });
/** What Asterisk plays: a sound or a tone, no control characters. */
const Media = Matching('^(sound|tone):[^\\u0000-\\u001f\\u007f]*$', 200);
const Overflow = Type.Union([
  Type.Object({ action: Type.Literal('hangup'), media: Type.Optional(Type.Array(Media, { minItems: 1, maxItems: 20 })) }, { additionalProperties: false }),
  Type.Object({ action: Type.Literal('queue'), queueId: QueueRef }, { additionalProperties: false }),
  Type.Object({ action: Type.Literal('flow'), flowId: Uuid() }, { additionalProperties: false }),
  Type.Object({
    action: Type.Literal('message'),
    media: Type.Optional(Type.Array(Media, { minItems: 1, maxItems: 20 })),
    maxSeconds: Type.Optional(Type.Integer({ minimum: 5, maximum: 600 })),
  }, { additionalProperties: false }),
]);
const Announcements = Type.Object({
  everySeconds: Type.Integer({ minimum: 0, maximum: 600, description: '0: no announcements' }),
  position: Type.Optional(Type.Boolean()), estimate: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
const Limits = (max: number, what: string) => Type.Object({
  amber: Type.Integer({ minimum: 0, maximum: max }), red: Type.Integer({ minimum: 0, maximum: max }),
}, { additionalProperties: false, description: what });
const Thresholds = Type.Object({
  serviceLevel: Limits(100, 'service level today, %: amber below this, red below that'),
  longestWait: Limits(86400, 'longest wait, s: amber from this, red from that'),
  waiting: Limits(10000, 'callers waiting: amber from this, red from that'),
}, { additionalProperties: false, description: 'the wallboard\'s colours for this queue' });
const fields = {
  name: Matching(queueName, 80),
  strategy: StringEnum(strategies),
  requiredSkills: Skills,
  language: Type.Union([Matching('^[a-z]{2}$', 2), Type.Null()]),
  ringTimeoutSeconds: Type.Integer({ minimum: 5, maximum: 120 }),
  wrapUpSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
  maxWaitSeconds: Type.Integer({ minimum: 10, maximum: 86400 }),
  overflow: Overflow,
  serviceLevelSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  announcements: Announcements,
  musicOnHold: Matching('^[A-Za-z0-9_-]{1,40}$', 40),
  recordingPolicy: StringEnum(['always', 'never', 'on_demand'] as const),
  recordingSamplePercent: Type.Integer({ minimum: 1, maximum: 100, description: 'with always: the share of calls recorded' }),
  recordingRetentionDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  callbackKey: Type.Union([Matching('^[0-9*#]$', 1), Type.Null()], { description: 'key a waiting caller presses to leave a callback request' }),
  callbackMaxAttempts: Type.Integer({ minimum: 1, maximum: 20, description: 'calls made for a callback (busy, no answer) before it fails' }),
  callbackRetryMinutes: Type.Integer({ minimum: 0, maximum: 10080, description: 'minutes between a callback\'s calls' }),
  overflowKey: Type.Union([Matching('^[0-9*#]$', 1), Type.Null()], { description: 'key a waiting caller presses to go to the overflow' }),
  extension: Type.Union([Matching('^[0-9]{2,8}$', 8), Type.Null()], { description: 'short number agents key (## number #) to transfer a caller to this queue' }),
  thresholds: Thresholds,
  dispositions: Type.Array(Type.Object({
    code: Matching('^[0-9]{1,4}$', 4, { description: 'digits: the agent keys *49 code # on the phone' }),
    label: Text({ minLength: 1, maxLength: 80 }),
    requiresNote: Type.Optional(Type.Boolean()),
    outcome: Type.Optional(Matching('^[a-z][a-z0-9_]{0,31}$', 32, { description: 'for campaigns: done, retry, callback, do_not_call…' })),
  }, { additionalProperties: false }), { maxItems: 100, description: 'wrap-up codes the agent picks from' }),
  dispositionRequired: Type.Boolean({ description: 'the wrap-up lasts until a code is set (up to dispositionMaxSeconds, then none is recorded)' }),
  dispositionMaxSeconds: Type.Integer({ minimum: 10, maximum: 3600 }),
  ronaAfterMisses: Type.Integer({ minimum: 1, maximum: 10, description: 'offers an agent may miss in a row before being paused (rona)' }),
  screenPopUrl: Type.Union([Type.String({ minLength: 8, maxLength: 2000 }), Type.Null()], {
    description: 'CRM screen pop the desk page opens for this queue\'s calls: https://crm.example/lookup?phone={callerNumber}&call={callId}&account={var.account} '
      + '(placeholders: callerNumber, callerName, callId, did, queue, queueId, agentId, agentNumber, var.NAME; values URL-encoded)',
  }),
  survey: SurveyOfferSchema,
};
const Member = Type.Object({ agentId: Type.String({ format: 'uuid' }), penalty: Type.Integer({ minimum: 0, maximum: 100 }) });
const Queue = Type.Object({ id: Type.String({ format: 'uuid' }), ...fields, members: Type.Array(Member) });
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export function queueRoutes(app: HttpApp, queues: QueuesService): void {
  app.get('/api/v1/queues', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['queues'], summary: 'Queues', response: { 200: Type.Array(Queue) } },
  }, async () => queues.list());

  app.post('/api/v1/queues', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['queues'], summary: 'Create a queue',
      body: Type.Object({
        name: fields.name, strategy: fields.strategy,
        ...Object.fromEntries(Object.entries(fields).filter(([k]) => k !== 'name' && k !== 'strategy').map(([k, v]) => [k, Type.Optional(v)])),
      }, { additionalProperties: false }),
      response: { 201: Queue, ...errors },
    },
  }, async (request, reply) => reply.status(201).send(await queues.create(request.body as Parameters<QueuesService['create']>[0])));

  app.get('/api/v1/queues/:id', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['queues'], summary: 'One queue', params: IdParams, response: { 200: Queue, 404: ErrorBody } },
  }, async (request) => queues.get(request.params.id));

  app.patch('/api/v1/queues/:id', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['queues'], summary: 'Change a queue', params: IdParams,
      body: Type.Partial(Type.Object(fields), { additionalProperties: false, minProperties: 1 }),
      response: { 200: Queue, ...errors },
    },
  }, async (request) => queues.update(request.params.id, request.body as Parameters<QueuesService['update']>[1]));

  app.delete('/api/v1/queues/:id', {
    config: { roles: ['admin'] },
    schema: { tags: ['queues'], summary: 'Delete a queue without call history', params: IdParams, response: { 204: Type.Null(), 404: ErrorBody, 409: ErrorBody } },
  }, async (request, reply) => {
    await queues.remove(request.params.id);
    return reply.status(204).send(null);
  });

  app.put('/api/v1/queues/:id/members', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['queues'], summary: "Replace a queue's members", params: IdParams,
      body: Type.Object({ members: Type.Array(Type.Object({ agentId: Uuid(), penalty: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })) }, { additionalProperties: false }), { maxItems: 1000 }) }, { additionalProperties: false }),
      response: { 200: Queue, ...errors },
    },
  }, async (request) => queues.setMembers(request.params.id, request.body.members));

  app.get('/api/v1/queues/:id/callbacks', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['queues'],
      summary: 'Callbacks: requests left by waiting callers and callbacks scheduled, with how their dialling went',
      description: 'status: pending (due at nextAttemptAt, or now), in_progress (being dialled), done (the customer answered), failed (the queue\'s '
        + 'callbackMaxAttempts calls made: busy, no answer…), cancelled. docs/outbound.md, "Callbacks".',
      params: IdParams,
      response: { 200: Type.Array(Type.Object({
        id: Type.String(), callId: Nullable(Type.String()), callerNumber: Type.String(), requestedAt: Type.String(), status: Type.String(),
        attempts: Type.Integer(), nextAttemptAt: Nullable(Type.String()), lastAttemptAt: Nullable(Type.String()), lastOutcome: Nullable(Type.String()),
        lastCallId: Nullable(Type.String({ description: 'the outbound call of the last attempt' })), agentId: Nullable(Type.String({ description: 'only this agent takes it' })),
        scheduledBy: Nullable(Type.String()),
      })), 404: ErrorBody },
    },
  }, async (request) => queues.callbacks(request.params.id));

  app.delete('/api/v1/queues/:id/callbacks/:callbackId', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['queues'], summary: 'Cancel a pending callback (409 once it is being dialled or over)',
      params: Type.Object({ id: Uuid(), callbackId: Uuid() }),
      response: { 200: Type.Object({ id: Type.String(), status: Type.String() }), ...errors },
    },
  }, async (request) => {
    const view = await queues.cancelCallback(request.params.id, request.params.callbackId);
    return { id: view.id, status: view.status };
  });

  app.post('/api/v1/queues/:id/callbacks/scheduled', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['queues'],
      summary: 'Schedule a callback to a number at a time, for one agent of the queue or anyone in it',
      description: 'Agents may schedule one for themselves (agentId their own) or for anyone in the queue (no agentId). Dialled like a caller\'s request.',
      params: IdParams,
      body: Type.Object({
        number: Matching('^\\+?[0-9]{3,20}$', 21),
        at: Type.Optional(DateTime({ description: 'when (default now)' })),
        agentId: Type.Optional(Uuid({ description: 'only this agent (a member of the queue) takes it' })),
      }, { additionalProperties: false }),
      response: { 201: Type.Object({ id: Type.String(), status: Type.String(), nextAttemptAt: Nullable(Type.String()) }), ...errors },
    },
  }, async (request, reply) => {
    const view = await queues.scheduleCallback(request.params.id, request.body, request.principal!);
    return reply.status(201).send({ id: view.id, status: view.status, nextAttemptAt: view.nextAttemptAt });
  });

  app.post('/api/v1/queues/:id/callbacks', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['queues'], summary: 'Ask for a callback to the caller of a call (an abandoned call on the wallboard)', params: IdParams,
      body: Type.Object({ callId: Uuid() }, { additionalProperties: false }),
      response: { 201: Type.Object({ id: Type.String(), callId: Type.String(), callerNumber: Type.String(), status: Type.String() }), ...errors },
    },
  }, async (request, reply) => reply.status(201).send(await queues.requestCallback(request.params.id, request.body.callId)));

  app.get('/api/v1/queues/:id/messages', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['queues'], summary: 'Messages left by callers at the overflow', params: IdParams,
      response: { 200: Type.Array(Type.Object({ id: Type.String(), callId: Type.String(), callerNumber: Type.String(), recordingName: Type.String(), durationSeconds: Type.Union([Type.Integer(), Type.Null()]), createdAt: Type.String() })), 404: ErrorBody },
    },
  }, async (request) => queues.messages(request.params.id));

  app.get('/api/v1/queues/:id/live', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['queues'], summary: 'Waiting callers and member agents now', params: IdParams,
      response: {
        200: Type.Object({
          queueId: Type.String(),
          waiting: Type.Array(Type.Object({
            entryId: Type.String(), callId: Type.String(), caller: Type.String(), priority: Type.Integer(), enteredAt: Type.String(),
            waitSeconds: Type.Number(), ringing: Type.Array(Type.String()),
          })),
          agents: Type.Array(Type.Object({ agentId: Type.String(), status: Type.String(), reason: Type.Union([Type.String(), Type.Null()]), since: Type.Union([Type.String(), Type.Null()]) })),
        }),
        404: ErrorBody,
      },
    },
  }, async (request) => queues.live(request.params.id));

  app.post('/api/v1/calls/:id/transfer', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['queues'],
      summary: 'Blind-transfer a queue call from its agent to another queue, a phone, or an external number',
      description: 'Agents may transfer only their own call. `number` is read as the desk phone reads ## number #: a queue extension, a phone, '
        + "else an external number, which must be within the call's agent's dialing rights (403 otherwise).",
      params: IdParams,
      body: Type.Union([
        Type.Object({ queueId: QueueRef }, { additionalProperties: false }),
        Type.Object({ extension: Matching('^[0-9]{2,8}$', 8) }, { additionalProperties: false }),
        Type.Object({ number: Matching('^\\+?[0-9]{2,20}$', 21) }, { additionalProperties: false }),
      ]),
      response: { 202: Type.Null(), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request, reply) => {
    await queues.transferCall(request.params.id, request.body, request.principal!);
    return reply.status(202).send(null);
  });

  for (const action of ['hold', 'unhold'] as const) {
    app.post(`/api/v1/calls/:id/${action}`, {
      config: { roles: ['admin', 'supervisor', 'agent'] },
      schema: {
        tags: ['queues'],
        summary: action === 'hold' ? 'Put the caller of a queue call on hold (they hear the queue\'s music)' : 'Take the caller of a queue call back from hold',
        description: 'Agents may hold only their own call. On the desk phone the HOLD key does the same; hold time is counted either way (docs/metrics.md).',
        params: IdParams,
        response: { 204: Type.Null(), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    }, async (request, reply) => {
      await queues.holdCall(request.params.id, action === 'hold', request.principal!);
      return reply.status(204).send(null);
    });
  }

  app.put('/api/v1/calls/:id/disposition', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['queues'],
      summary: "Set a queue call's wrap-up code (disposition), during the call or its wrap-up",
      description: "The code is one of the queue's dispositions; a code with requiresNote needs a note. Agents set their own call's. "
        + 'On the desk phone the agent keys *49 code # during wrap-up. A queue that requires a code holds the wrap-up until it is set.',
      params: IdParams,
      body: Type.Object({
        code: Matching('^[0-9]{1,4}$', 4),
        note: Type.Optional(Text({ maxLength: 500 })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ entryId: Type.String(), code: Type.String() }), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request) => queues.setDisposition(request.params.id, request.body.code, request.body.note, request.principal!));

  app.post('/api/v1/calls/:id/consult', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['queues'],
      summary: "Consult a colleague's phone, or a queue's free agent, about a queue call (attended transfer): the caller waits on hold",
      description: 'Then POST …/consult/complete (the caller goes to the colleague, the agent to wrap-up), …/consult/cancel (back to the caller) '
        + 'or …/consult/conference (all three). Agents only on their own call. A queue (by id, name, or its extension) rings its first free '
        + "member by the queue's strategy (409 when nobody is free); a consulted agent is kept off queue calls until the consult ends.",
      params: IdParams,
      body: Type.Union([
        Type.Object({ extension: Matching('^[0-9]{2,8}$', 8) }, { additionalProperties: false }),
        Type.Object({ queueId: QueueRef }, { additionalProperties: false }),
      ]),
      response: { 202: Type.Null(), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request, reply) => {
    await queues.consultCall(request.params.id, request.body, request.principal!);
    return reply.status(202).send(null);
  });

  for (const step of ['complete', 'cancel', 'conference'] as const) {
    app.post(`/api/v1/calls/:id/consult/${step}`, {
      config: { roles: ['admin', 'supervisor', 'agent'] },
      schema: {
        tags: ['queues'],
        summary: { complete: 'Hand the caller to the consulted colleague (the agent leaves to wrap-up)', cancel: 'End the consult: back to the caller', conference: 'Bring caller, agent and colleague together' }[step],
        params: IdParams,
        response: { 204: Type.Null(), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    }, async (request, reply) => {
      await queues.consultStep(request.params.id, step, request.principal!);
      return reply.status(204).send(null);
    });
  }

  app.post('/api/v1/calls/:id/hangup', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['queues'], summary: "End a queue call from the agent's side (the desk page's hang-up): the agent goes to wrap-up",
      description: 'Agents only their own call. A consult going on is ended first.',
      params: IdParams,
      response: { 204: Type.Null(), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request, reply) => {
    await queues.hangUpCall(request.params.id, request.principal!);
    return reply.status(204).send(null);
  });
}
