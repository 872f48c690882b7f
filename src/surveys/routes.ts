import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';
import { DateTime, Document, ErrorBody, IdParams, int4, Matching, Nullable, Uuid } from '../core/schemas.js';
import type { SurveysService } from './service.js';

const Name = Matching('^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$', 80);
// The document is checked by validateSurvey, which lists every problem at once.
const SurveyDocument = Document({ description: 'a survey: {language?, intro?, questions: [{id, prompt, scale: 1-5 | 0-10 | yes_no}], comment?: {prompt, maxSeconds}, thanks}' });
const Survey = Type.Object({
  id: Type.String({ format: 'uuid' }), name: Type.String(), currentVersion: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }), updatedAt: Type.String({ format: 'date-time' }),
});
const SurveyWithDocument = Type.Intersect([Survey, Type.Object({ document: SurveyDocument })]);
const Version = Type.Object({
  surveyId: Type.String({ format: 'uuid' }), version: Type.Integer(), createdAt: Type.String({ format: 'date-time' }), document: Type.Optional(SurveyDocument),
});
const Answer = Type.Object({ position: Type.Integer(), question: Type.String(), scale: Type.String(), value: Type.Integer(), answeredAt: Type.String({ format: 'date-time' }) });
const Response = Type.Object({
  id: Type.String({ format: 'uuid' }), surveyId: Type.String({ format: 'uuid' }), surveyVersion: Type.Integer(), callId: Type.String({ format: 'uuid' }),
  queueId: Nullable(Type.String()), agentId: Nullable(Type.String()), mode: Type.String(), language: Type.String(),
  offeredAt: Type.String({ format: 'date-time' }), completedAt: Nullable(Type.String({ format: 'date-time' })),
  status: Type.String({ description: 'completed; in_progress (the caller is in it now); partial (the caller hung up before the end)' }),
  answers: Type.Array(Answer), commentRecordingId: Nullable(Type.String({ format: 'uuid', description: 'the comment: a recording (GET /recordings/:id/audio)' })),
});
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export function surveyRoutes(app: HttpApp, surveys: SurveysService): void {
  app.get('/api/v1/surveys', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['surveys'], summary: 'Post-call surveys', response: { 200: Type.Array(Survey) } },
  }, async () => surveys.list());

  app.post('/api/v1/surveys', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['surveys'], summary: 'Create a survey (version 1)',
      body: Type.Object({ name: Name, document: SurveyDocument }, { additionalProperties: false }),
      response: { 201: SurveyWithDocument, ...errors },
    },
  }, async (request, reply) => reply.status(201).send(await surveys.create(request.body.name, request.body.document)));

  app.post('/api/v1/surveys/check', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['surveys'], summary: "A survey document's problems (nothing is saved)",
      body: Type.Object({ document: SurveyDocument }, { additionalProperties: false }),
      response: { 200: Type.Object({ problems: Type.Array(Type.String()) }), 400: ErrorBody },
    },
  }, async (request) => surveys.check(request.body.document));

  app.get('/api/v1/surveys/:id', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['surveys'], summary: "A survey and its current version's document", params: IdParams, response: { 200: SurveyWithDocument, 404: ErrorBody } },
  }, async (request) => surveys.get(request.params.id));

  app.put('/api/v1/surveys/:id', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['surveys'], summary: 'Rename a survey or save a new version (calls in a survey keep theirs)',
      params: IdParams, body: Type.Object({ name: Type.Optional(Name), document: Type.Optional(SurveyDocument) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: SurveyWithDocument, ...errors },
    },
  }, async (request) => surveys.save(request.params.id, request.body));

  app.delete('/api/v1/surveys/:id', {
    config: { roles: ['admin'] },
    schema: { tags: ['surveys'], summary: 'Delete a survey no queue or route offers and no caller answered', params: IdParams, response: { 204: Type.Null(), 404: ErrorBody, 409: ErrorBody } },
  }, async (request, reply) => {
    await surveys.delete(request.params.id);
    return reply.status(204).send(null);
  });

  app.get('/api/v1/surveys/:id/versions', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['surveys'], summary: "A survey's versions", params: IdParams, response: { 200: Type.Array(Version), 404: ErrorBody } },
  }, async (request) => surveys.versions(request.params.id));

  app.get('/api/v1/surveys/:id/versions/:version', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['surveys'], summary: 'One version of a survey',
      params: Type.Object({ id: Uuid(), version: Type.Integer({ minimum: 1, maximum: int4.maximum }) }),
      response: { 200: Version, 404: ErrorBody },
    },
  }, async (request) => surveys.version(request.params.id, request.params.version));

  app.get('/api/v1/survey-responses', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['surveys'], summary: 'Survey responses offered in [from, to), newest first',
      querystring: Type.Object({
        from: DateTime(), to: DateTime(), surveyId: Type.Optional(Uuid()), queueId: Type.Optional(Uuid()), agentId: Type.Optional(Uuid()),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
      }, { additionalProperties: false }),
      response: { 200: Type.Array(Response), 400: ErrorBody },
    },
  }, async (request) => {
    const { from, to, limit = 100, offset = 0, ...filter } = request.query;
    return surveys.responses({ from: new Date(from), to: new Date(to), limit, offset, ...filter });
  });

  app.get('/api/v1/survey-responses/:id', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['surveys'], summary: 'One survey response and its answers', params: IdParams, response: { 200: Response, 404: ErrorBody } },
  }, async (request) => surveys.response(request.params.id));

  app.get('/api/v1/calls/:id/surveys', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['surveys'], summary: "A call's survey responses (none: it was not surveyed)", params: IdParams, response: { 200: Type.Array(Response), 404: ErrorBody } },
  }, async (request) => surveys.responsesOfCall(request.params.id));
}
