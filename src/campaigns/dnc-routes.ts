import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';
import { ErrorBody, Uuid } from '../core/schemas.js';
import type { DncService } from './dnc.js';
import { actorOf, chunksOf, CsvBody, CsvQuery, csvOnly, delimiterOf, discard, Dnc, Paging, PhoneNumber, Reason, Region } from './schemas.js';

const tags = ['do-not-call'];
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/**
 * Do-not-call lists: `/api/v1/dnc` (global) and `/api/v1/campaigns/:id/dnc`
 * (one campaign's), the same routes on each. Admins change, supervisors
 * read. Registered by campaignRoutes, whose plugin takes text/csv.
 */
export function dncRoutes(app: HttpApp, dnc: DncService): void {
  for (const scope of ['global', 'campaign'] as const) {
    const base = scope === 'global' ? '/api/v1/dnc' : '/api/v1/campaigns/:id/dnc';
    const params = scope === 'global' ? undefined : Type.Object({ id: Uuid() });
    const numberParams = Type.Object({ ...(scope === 'global' ? {} : { id: Uuid() }), number: PhoneNumber });
    const which = scope === 'global' ? 'the global do-not-call list' : 'a campaign\'s do-not-call list';
    const campaignOf = (request: { params: unknown }): string | null => (scope === 'global' ? null : (request.params as { id: string }).id);

    app.get(base, {
      config: { roles: ['admin', 'supervisor'] },
      schema: {
        tags, summary: `Numbers on ${which}, newest first`, ...(params ? { params } : {}),
        querystring: Type.Object({ number: Type.Optional(PhoneNumber), region: Type.Optional(Region), ...Paging }, { additionalProperties: false }),
        response: { 200: Type.Array(Dnc), ...errors },
      },
    }, async (request) => {
      const { limit = 100, offset = 0, ...filter } = request.query;
      return dnc.list(campaignOf(request), { ...filter, limit, offset });
    });

    app.post(base, {
      config: { roles: ['admin'] },
      schema: {
        tags, summary: `Add a number to ${which}`,
        description: 'Contacts it applies to that are still to be called become dnc; 409 when the number is listed already.',
        ...(params ? { params } : {}),
        body: Type.Object({ number: PhoneNumber, region: Type.Optional(Region), reason: Type.Optional(Reason) }, { additionalProperties: false }),
        response: { 201: Dnc, ...errors },
      },
    }, async (request, reply) => reply.status(201).send(await dnc.add(campaignOf(request), request.body, actorOf(request))));

    app.delete(`${base}/:number`, {
      config: { roles: ['admin'] },
      schema: {
        tags, summary: `Remove a number from ${which}`,
        description: 'Its contacts set aside as dnc that no other list keeps out become callable again (pending, or retry after earlier calls).',
        params: numberParams, querystring: Type.Object({ region: Type.Optional(Region) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errors },
      },
    }, async (request, reply) => {
      await dnc.remove(campaignOf(request), (request.params as { number: string }).number, request.query.region);
      return reply.status(204).send(null);
    });

    app.post(`${base}/import`, {
      config: { roles: ['admin'] },
      preParsing: csvOnly,
      schema: {
        tags, summary: `Import numbers to ${which} (CSV, streamed): every row or none`,
        description: 'Content-Type: text/csv, UTF-8, a header row with number (or phone) and optionally reason; other columns are ignored. '
          + 'A file with any bad row stores nothing: 400 invalid_csv listing each (`line N: reason`). Numbers listed already are counted, not added again.',
        consumes: ['text/csv'], ...(params ? { params } : {}), body: CsvBody,
        querystring: Type.Object(CsvQuery, { additionalProperties: false }),
        response: { 201: Type.Object({ added: Type.Integer(), alreadyListed: Type.Integer() }), ...errors, 413: ErrorBody, 415: ErrorBody },
      },
    }, async (request, reply) => {
      const body = request.body as Readable | undefined;
      try {
        const result = await dnc.import(campaignOf(request), chunksOf(body), { region: request.query.region, delimiter: delimiterOf(request.query.delimiter), by: actorOf(request) });
        return await reply.status(201).send(result);
      } finally {
        discard(body);
      }
    });
  }
}
