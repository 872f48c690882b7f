import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';
import { ErrorBody, IdParams } from '../core/schemas.js';
import type { RecordingService } from './service.js';

const errors = { 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const PauseView = Type.Object({ from: Type.String(), to: Type.String() });

/** Recording control on a call in progress: on demand, and pauses for card payments. */
export function recordingCallRoutes(app: HttpApp, recordings: RecordingService): void {
  app.post('/api/v1/calls/:id/recording', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['recordings'], summary: 'Start recording a queue call now (on demand)',
      description: 'Agents only for their own call. 409 when the call is already recorded, is not with an agent, or its queue or route never records.',
      params: IdParams, response: { 201: Type.Object({ id: Type.String() }), ...errors },
    },
  }, async (request, reply) => reply.status(201).send({ id: (await recordings.startOnDemand(request.params.id, request.principal!)).id }));

  app.post('/api/v1/calls/:id/recording/pause', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['recordings'], summary: 'Pause the call\'s recording (e.g. while a card number is given); the paused part becomes silence',
      params: IdParams, response: { 200: Type.Object({ id: Type.String(), pausedSince: Type.String() }), ...errors },
    },
  }, async (request) => recordings.pause(request.params.id, request.principal!));

  app.post('/api/v1/calls/:id/recording/resume', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['recordings'], summary: 'Resume the call\'s recording',
      params: IdParams, response: { 200: Type.Object({ id: Type.String(), pauses: Type.Array(PauseView) }), ...errors },
    },
  }, async (request) => recordings.resume(request.params.id, request.principal!));
}
