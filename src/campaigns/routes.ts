import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';
import { ErrorBody, IdParams, StringEnum, Uuid } from '../core/schemas.js';
import type { DncService } from './dnc.js';
import { dncRoutes } from './dnc-routes.js';
import { contactStates } from './rules.js';
import {
  actorOf, Campaign, CampaignChange, CampaignCreate, CampaignDetail, chunksOf, Contact, ContactDetail, CsvBody, CsvQuery, csvOnly,
  delimiterOf, discard, List, ListName, Paging,
} from './schemas.js';
import type { CampaignInput, CampaignsService } from './service.js';

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ['campaigns'];

/**
 * The campaigns' routes (docs/campaigns.md, "API"): admins change,
 * supervisors read. In a plugin of their own, so that text/csv bodies
 * (streamed to the import, not buffered) are taken by these routes only.
 */
export function campaignRoutes(app: HttpApp, campaigns: CampaignsService, dnc: DncService): void {
  void app.register(async (scoped) => {
    scoped.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));
    routes(scoped as unknown as HttpApp, campaigns);
    dncRoutes(scoped as unknown as HttpApp, dnc);
  });
}

function routes(app: HttpApp, campaigns: CampaignsService): void {
  app.get('/api/v1/campaigns', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags, summary: 'Outbound campaigns', response: { 200: Type.Array(Campaign) } },
  }, async () => campaigns.list());

  app.post('/api/v1/campaigns', {
    config: { roles: ['admin'] },
    schema: { tags, summary: 'Create a campaign (state draft)', body: CampaignCreate, response: { 201: CampaignDetail, ...errors } },
  }, async (request, reply) => reply.status(201).send(await campaigns.create(request.body as unknown as CampaignInput)));

  app.get('/api/v1/campaigns/:id', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags, summary: 'A campaign and its contacts\' states (attempted, completed, remaining, penetration)', params: IdParams, response: { 200: CampaignDetail, 404: ErrorBody } },
  }, async (request) => campaigns.get(request.params.id));

  app.patch('/api/v1/campaigns/:id', {
    config: { roles: ['admin'] },
    schema: { tags, summary: 'Change a campaign (not once finished)', params: IdParams, body: CampaignChange, response: { 200: CampaignDetail, ...errors } },
  }, async (request) => campaigns.update(request.params.id, request.body as unknown as Partial<CampaignInput>));

  app.delete('/api/v1/campaigns/:id', {
    config: { roles: ['admin'] },
    schema: { tags, summary: 'Delete a campaign none of whose contacts was dialled', params: IdParams, response: { 204: Type.Null(), 404: ErrorBody, 409: ErrorBody } },
  }, async (request, reply) => {
    await campaigns.delete(request.params.id);
    return reply.status(204).send(null);
  });

  for (const command of ['start', 'pause', 'finish'] as const) {
    app.post(`/api/v1/campaigns/:id/${command}`, {
      config: { roles: ['admin'] },
      schema: {
        tags, params: IdParams, response: { 200: CampaignDetail, 404: ErrorBody, 409: ErrorBody },
        summary: { start: 'Start (or resume) dialling', pause: 'Pause dialling', finish: 'Finish the campaign for good' }[command],
        description: 'draft → running (start), running ⇄ paused (pause, start), any → finished (finish); 409 for any other step',
      },
    }, async (request) => campaigns.command(request.params.id, command));
  }

  app.post('/api/v1/campaigns/:id/lists', {
    config: { roles: ['admin'] },
    preParsing: csvOnly,
    schema: {
      tags, summary: 'Import a contact list (CSV, streamed): every row or none',
      description: 'Content-Type: text/csv, UTF-8, a header row with number (or phone), optionally name and timezone; every other column is a custom field. '
        + 'A file with any bad row stores nothing: 400 invalid_csv with `problems`, one per bad row (`line N: reason`, the first 1000). Numbers on a do-not-call list are stored as dnc.',
      consumes: ['text/csv'], params: IdParams, body: CsvBody,
      querystring: Type.Object({ name: Type.Optional(ListName), ...CsvQuery }, { additionalProperties: false }),
      response: { 201: List, ...errors, 413: ErrorBody, 415: ErrorBody },
    },
  }, async (request, reply) => {
    const body = request.body as Readable | undefined;
    try {
      const list = await campaigns.importList(request.params.id, chunksOf(body), {
        name: request.query.name, delimiter: delimiterOf(request.query.delimiter), region: request.query.region, by: actorOf(request),
      });
      return await reply.status(201).send(list);
    } finally {
      discard(body);
    }
  });

  app.get('/api/v1/campaigns/:id/lists', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags, summary: 'A campaign\'s contact lists and their states', params: IdParams, response: { 200: Type.Array(List), 404: ErrorBody } },
  }, async (request) => campaigns.lists(request.params.id));

  app.get('/api/v1/campaigns/:id/contacts', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags, summary: 'A campaign\'s contacts, in list and file order', params: IdParams,
      querystring: Type.Object({ state: Type.Optional(StringEnum(contactStates)), listId: Type.Optional(Uuid()), ...Paging }, { additionalProperties: false }),
      response: { 200: Type.Array(Contact), 400: ErrorBody, 404: ErrorBody },
    },
  }, async (request) => {
    const { limit = 100, offset = 0, ...filter } = request.query;
    return campaigns.contacts(request.params.id, { ...filter, limit, offset });
  });

  app.get('/api/v1/campaigns/:id/contacts/:contactId', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags, summary: 'One contact: its custom fields and every dial of it', params: Type.Object({ id: Uuid(), contactId: Uuid() }),
      response: { 200: ContactDetail, 404: ErrorBody },
    },
  }, async (request) => {
    await campaigns.require(request.params.id);
    return campaigns.contact(request.params.id, request.params.contactId);
  });
}
