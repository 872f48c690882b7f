import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';
import { DateTime, Document, ErrorBody, IdParams, int4, Matching, Nullable, StringEnum, Uuid } from '../core/schemas.js';
import { SurveyOfferSchema } from '../queues/survey-offer.js';
import { languages } from './flow.js';
import { InvalidFlowError, type IvrService } from './service.js';

const FlowName = Matching('^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$', 80);
// The document is checked by validateFlow, which lists every problem at once.
const FlowDocument = Document({ description: 'a flow document: {start, language?, nodes: {name: node}}' });
const Flow = Type.Object({
  id: Type.String({ format: 'uuid' }), name: Type.String(), currentVersion: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }), updatedAt: Type.String({ format: 'date-time' }),
});
const FlowWithDocument = Type.Intersect([Flow, Type.Object({ document: FlowDocument })]);
const Version = Type.Object({
  flowId: Type.String({ format: 'uuid' }), version: Type.Integer(), createdAt: Type.String({ format: 'date-time' }), document: Type.Optional(FlowDocument),
});
const Did = Matching('^\\+?[0-9]{1,32}$', 33);
const RecordingPolicy = Type.Union([Type.Literal('always'), Type.Literal('never'), Type.Literal('on_demand'), Type.Null()], { description: 'overrides the queue\'s recording policy for calls to this DID; null: the queue decides' });
const Route = Type.Object({ did: Type.String(), flowId: Type.String({ format: 'uuid' }), recordingPolicy: RecordingPolicy, survey: SurveyOfferSchema });
const Trace = Type.Object({
  node: Type.String(), type: Type.String(), input: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Record(Type.String(), Type.Unknown()), flowVersion: Type.Integer(), at: Type.String({ format: 'date-time' }),
});
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const Problem = Type.Object({ message: Type.String(), nodes: Type.Array(Type.String(), { description: 'the nodes it concerns (none: the whole flow)' }) });
const NodeName = Matching('^[A-Za-z0-9_-]{1,64}$', 64);
const WalkBody = Type.Object({
  document: FlowDocument,
  keys: Type.Optional(Type.Array(Matching('^[0-9*#]{0,40}$', 40), { maxItems: 100, description: 'keys pressed at each question in turn; "" lets it time out' })),
  lookups: Type.Optional(Type.Record(NodeName, Nullable(Document()), { maxProperties: 100, description: "each lookup node's answer; null or absent: it fails" })),
  at: Type.Optional(DateTime({ description: 'the moment of the call (schedules); now when absent' })),
  caller: Type.Optional(Matching('^\\+?[0-9*#]{0,32}$', 33)),
  did: Type.Optional(Matching('^\\+?[0-9]{0,32}$', 33)),
  language: Type.Optional(StringEnum(languages)),
}, { additionalProperties: false });
const Played = Type.Object({ media: Type.Array(Type.String()), language: Type.String() });
const WalkStep = Type.Object({
  node: Type.String(), type: Type.String(), input: Nullable(Type.String()), detail: Type.Record(Type.String(), Type.Unknown()), played: Type.Array(Played),
});
const WalkEnd = Type.Object({
  kind: StringEnum(['queue', 'transfer', 'hangup', 'ended', 'waitingForKeys', 'stopped'] as const),
  node: Type.Optional(Type.String()), queue: Type.Optional(Type.String()), priority: Type.Optional(Type.Integer()),
  skills: Type.Optional(Type.Record(Type.String(), Type.Integer())), language: Type.Optional(Type.String()), extension: Type.Optional(Type.String()),
});

export function ivrRoutes(app: HttpApp, ivr: IvrService): void {
  app.get('/api/v1/ivr-flows', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['ivr'], summary: 'IVR flows', response: { 200: Type.Array(Flow) } },
  }, async () => ivr.listFlows());

  app.post('/api/v1/ivr-flows', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['ivr'], summary: 'Create a flow (version 1)',
      body: Type.Object({ name: FlowName, document: FlowDocument }, { additionalProperties: false }),
      response: { 201: FlowWithDocument, ...errors },
    },
  }, async (request, reply) => reply.status(201).send(await ivr.createFlow(request.body.name, request.body.document)));

  app.post('/api/v1/ivr-flows/check', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['ivr'], summary: "A document's problems, each with the nodes it concerns (nothing is saved)",
      body: Type.Object({ document: FlowDocument }, { additionalProperties: false }),
      response: { 200: Type.Object({ problems: Type.Array(Problem) }), 400: ErrorBody },
    },
  }, async (request) => ivr.check(request.body.document));

  app.post('/api/v1/ivr-flows/walk', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['ivr'], summary: 'Walk a simulated call through a document: keys, lookup answers and the hour are given; nothing is called or sent',
      body: WalkBody,
      response: { 200: Type.Object({ steps: Type.Array(WalkStep), end: WalkEnd, variables: Type.Record(Type.String(), Type.String()) }), 400: ErrorBody },
    },
  }, async (request) => {
    const { document, keys = [], lookups = {}, at, caller = '', did = '', language } = request.body;
    return ivr.walk(document, { keys, lookups, at: at ? new Date(at) : new Date(), caller, did, ...(language ? { language } : {}) });
  });

  app.get('/api/v1/ivr-flows/:id', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['ivr'], summary: "A flow and its current version's document", params: IdParams, response: { 200: FlowWithDocument, 404: ErrorBody } },
  }, async (request) => ivr.getFlow(request.params.id));

  app.put('/api/v1/ivr-flows/:id', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['ivr'], summary: 'Save a new version of a flow (calls in progress keep theirs)',
      params: IdParams, body: Type.Object({ document: FlowDocument }, { additionalProperties: false }),
      response: { 200: FlowWithDocument, ...errors },
    },
  }, async (request) => ivr.saveVersion(request.params.id, request.body.document));

  app.get('/api/v1/ivr-flows/:id/versions', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['ivr'], summary: "A flow's versions", params: IdParams, response: { 200: Type.Array(Version), 404: ErrorBody } },
  }, async (request) => ivr.listVersions(request.params.id));

  app.get('/api/v1/ivr-flows/:id/versions/:version', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['ivr'], summary: 'One version of a flow',
      params: Type.Object({ id: Uuid(), version: Type.Integer({ minimum: 1, maximum: int4.maximum }) }),
      response: { 200: Version, 404: ErrorBody },
    },
  }, async (request) => ivr.getVersion(request.params.id, request.params.version));

  app.post('/api/v1/ivr-flows/:id/restore', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['ivr'], summary: 'Restore an earlier version (saved again as the newest)',
      params: IdParams, body: Type.Object({ version: Type.Integer({ minimum: 1, maximum: int4.maximum }) }, { additionalProperties: false }),
      response: { 200: FlowWithDocument, ...errors },
    },
  }, async (request) => ivr.restoreVersion(request.params.id, request.body.version).catch((err: unknown) => {
    // The document checked is the stored version, not a field of this body.
    throw err instanceof InvalidFlowError ? new InvalidFlowError(err.problems, `version ${request.body.version}`) : err;
  }));

  app.get('/api/v1/routes', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['ivr'], summary: 'DID routes', response: { 200: Type.Array(Route) } },
  }, async () => ivr.listRoutes());

  app.put('/api/v1/routes/:did', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['ivr'], summary: 'Send calls to a DID to a flow',
      params: Type.Object({ did: Did }), body: Type.Object({ flowId: Uuid(), recordingPolicy: Type.Optional(RecordingPolicy), survey: Type.Optional(SurveyOfferSchema) }, { additionalProperties: false }),
      response: { 200: Route, ...errors },
    },
  }, async (request) => ivr.putRoute(request.params.did, request.body.flowId, request.body.recordingPolicy ?? null, request.body.survey ?? null));

  app.delete('/api/v1/routes/:did', {
    config: { roles: ['admin'] },
    schema: { tags: ['ivr'], summary: 'Remove a DID route', params: Type.Object({ did: Did }), response: { 204: Type.Null(), 404: ErrorBody } },
  }, async (request, reply) => {
    await ivr.deleteRoute(request.params.did);
    return reply.status(204).send(null);
  });

  app.get('/api/v1/calls/:id/ivr-trace', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['ivr'], summary: "A call's path through its flow", params: IdParams, response: { 200: Type.Array(Trace), 404: ErrorBody } },
  }, async (request) => ivr.traces(request.params.id));
}
