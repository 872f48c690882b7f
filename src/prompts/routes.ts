import { Type } from 'typebox';
import { HttpError } from '../core/errors.js';
import type { HttpApp } from '../core/http.js';
import { ErrorBody, Matching } from '../core/schemas.js';
import { promptNamePattern, type PromptsService } from './service.js';

const wavTypes = ['audio/wav', 'audio/x-wav'];
/** Ten minutes of 16-bit 8 kHz mono is under 10 MB; this leaves room for richer uploads. */
const uploadLimitBytes = 20 * 1024 * 1024;

const PromptName = Matching(promptNamePattern, 64, { description: 'lower-case letters, digits, _ and -; up to 64' });

const PromptView = Type.Object({
  name: Type.String(),
  durationMs: Type.Integer(),
  originalFormat: Type.String({ description: 'what was uploaded, e.g. "PCM 16-bit, 44100 Hz, stereo"' }),
  sizeBytes: Type.Integer({ description: 'of the stored 8 kHz mono 16-bit WAV' }),
  media: Type.String({ description: 'what Asterisk plays, e.g. sound:centralita-prompts/welcome' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const NameParams = Type.Object({ name: PromptName });

export function promptRoutes(app: HttpApp, prompts: PromptsService): void {
  app.addContentTypeParser(wavTypes, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post('/api/v1/prompts', {
    config: { roles: ['admin'] },
    bodyLimit: uploadLimitBytes,
    // Before the body is read: a JSON or form body would otherwise be parsed first.
    preParsing: async (request) => {
      const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      if (!type || !wavTypes.includes(type)) {
        throw new HttpError(415, 'unsupported_media_type',
          `send the WAV file itself as the request body with Content-Type: audio/wav (or audio/x-wav); got ${type ? `'${type}'` : 'no Content-Type'}`);
      }
      // Fastify would refuse it too, as "Request body is too large"; this says how large.
      const length = Number(request.headers['content-length']);
      if (length > uploadLimitBytes) {
        throw new HttpError(413, 'payload_too_large', `the upload is ${(length / 1024 / 1024).toFixed(1)} MB; a prompt may be at most ${uploadLimitBytes / 1024 / 1024} MB`);
      }
    },
    schema: {
      tags: ['prompts'],
      summary: 'Upload a prompt (replaces one of the same name)',
      description: 'The body is a WAV file (Content-Type: audio/wav), at most 20 MB and 10 minutes: 16-bit or 8-bit PCM, μ-law or A-law, '
        + '8000 to 48000 Hz, mono or stereo. It is stored as 8 kHz mono 16-bit PCM.',
      consumes: wavTypes,
      querystring: Type.Object({ name: PromptName }, { additionalProperties: false }),
      // No type: the body is a Buffer by then, which a JSON schema cannot describe; this is for the API document.
      body: Type.Unsafe<Buffer>({ description: 'the WAV file (binary)' }),
      response: { 201: PromptView, 400: ErrorBody, 413: ErrorBody, 415: ErrorBody },
    },
  }, async (request, reply) => reply.status(201).send(await prompts.upload(request.query.name, request.body)));

  app.get('/api/v1/prompts', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['prompts'], summary: 'Prompts, by name, each with the IVR flows that play it',
      response: { 200: Type.Array(Type.Intersect([PromptView, Type.Object({ usedBy: Type.Array(Type.Object({ flowId: Type.Optional(Type.String()), surveyId: Type.Optional(Type.String()), campaignId: Type.Optional(Type.String()), name: Type.String() })) })])) },
    },
  }, async () => {
    const [list, usedBy] = await Promise.all([prompts.list(), prompts.usedBy()]);
    return list.map((p) => ({ ...p, usedBy: usedBy.get(p.name) ?? [] }));
  });

  app.get('/api/v1/prompts/:name', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['prompts'], summary: "A prompt's audio, as Asterisk plays it (8 kHz mono 16-bit WAV)",
      params: NameParams,
      produces: ['audio/wav'],
      response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }), 404: ErrorBody },
    },
  }, async (request, reply) => reply.type('audio/wav').send(await prompts.audio(request.params.name)));

  app.delete('/api/v1/prompts/:name', {
    config: { roles: ['admin'] },
    schema: { tags: ['prompts'], summary: 'Delete a prompt (409 while an IVR flow plays it)', params: NameParams, response: { 200: PromptView, 404: ErrorBody, 409: ErrorBody } },
  }, async (request) => prompts.remove(request.params.name));
}
