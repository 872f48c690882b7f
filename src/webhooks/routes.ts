import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';
import { DateTime, ErrorBody, IdParams, Nullable, StringEnum, Text } from '../core/schemas.js';
import { webhookEventTypes } from './events.js';
import type { WebhooksService } from './service.js';

const WebhookView = Type.Object({
  id: Type.String({ format: 'uuid' }), url: Type.String(), events: Type.Array(Type.String()), description: Type.String(),
  enabled: Type.Boolean(), createdAt: Type.String({ format: 'date-time' }), updatedAt: Type.String({ format: 'date-time' }),
  secretFingerprint: Type.String({ description: "the first 8 hex digits of the secret's SHA-256: which secret is set, without showing it" }),
});

const DeliveryView = Type.Object({
  id: Type.String(), eventId: Type.String(), eventType: Type.String(), occurredAt: Type.String(), status: StringEnum(['pending', 'delivered', 'dead'] as const),
  attempts: Type.Integer(), nextAttemptAt: Nullable(Type.String()), lastStatus: Type.Union([Type.Integer(), Type.Null()]), lastError: Nullable(Type.String()),
  deliveredAt: Nullable(Type.String()), latencyMs: Type.Union([Type.Integer(), Type.Null()]), replay: Type.Boolean(),
});

const Input = {
  url: Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://', description: 'http(s) URL; private addresses only where CENTRALITA_LOOKUP_ALLOW allows them' }),
  events: Type.Array(StringEnum(webhookEventTypes), { minItems: 1, maxItems: webhookEventTypes.length, uniqueItems: true }),
  secret: Type.String({ minLength: 16, maxLength: 200, pattern: '^[\\x21-\\x7e]+$', description: 'the HMAC-SHA256 key; made when not given, shown once' }),
  description: Text({ maxLength: 200 }),
  enabled: Type.Boolean(),
};

/** Webhook subscriptions and their delivery logs: admins only (docs/webhooks.md). */
export function webhookRoutes(app: HttpApp, webhooks: WebhooksService): void {
  const admin = { roles: ['admin'] as const };
  app.get('/api/v1/webhooks', {
    config: admin,
    schema: { tags: ['webhooks'], summary: 'Webhook subscriptions', response: { 200: Type.Array(WebhookView) } },
  }, async () => webhooks.list());

  app.post('/api/v1/webhooks', {
    config: admin,
    schema: {
      tags: ['webhooks'], summary: 'Subscribe a URL to events (signed POSTs, in order, at least once)',
      body: Type.Object({
        url: Input.url, events: Input.events, secret: Type.Optional(Input.secret), description: Type.Optional(Input.description), enabled: Type.Optional(Input.enabled),
      }, { additionalProperties: false }),
      response: { 201: Type.Intersect([WebhookView, Type.Object({ secret: Type.String() })]), 400: ErrorBody },
    },
  }, async (request, reply) => reply.status(201).send(await webhooks.create(request.body)));

  app.get('/api/v1/webhooks/:id', {
    config: admin,
    schema: { tags: ['webhooks'], summary: 'One webhook subscription', params: IdParams, response: { 200: WebhookView, 404: ErrorBody } },
  }, async (request) => webhooks.get(request.params.id));

  app.patch('/api/v1/webhooks/:id', {
    config: admin,
    schema: {
      tags: ['webhooks'], summary: 'Change a subscription (a new secret applies to deliveries sent from now on)', params: IdParams,
      body: Type.Partial(Type.Object(Input), { additionalProperties: false, minProperties: 1 }),
      response: { 200: WebhookView, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (request) => webhooks.update(request.params.id, request.body));

  app.delete('/api/v1/webhooks/:id', {
    config: admin,
    schema: { tags: ['webhooks'], summary: 'Delete a subscription and its deliveries', params: IdParams, response: { 204: Type.Null(), 404: ErrorBody } },
  }, async (request, reply) => {
    await webhooks.remove(request.params.id);
    return reply.status(204).send(null);
  });

  app.get('/api/v1/webhooks/:id/deliveries', {
    config: admin,
    schema: {
      tags: ['webhooks'], summary: "A subscription's delivery log, newest first (status, attempts, latency, last error)", params: IdParams,
      querystring: Type.Object({
        status: Type.Optional(StringEnum(['pending', 'delivered', 'dead'] as const)),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
      }, { additionalProperties: false }),
      response: { 200: Type.Array(DeliveryView), 400: ErrorBody, 404: ErrorBody },
    },
  }, async (request) => webhooks.deliveries(request.params.id, request.query));

  app.post('/api/v1/webhooks/:id/replay', {
    config: admin,
    schema: {
      tags: ['webhooks'], summary: 'Send again the events that happened in [from, to), in their order, with their ids', params: IdParams,
      body: Type.Object({ from: DateTime(), to: DateTime() }, { additionalProperties: false }),
      response: { 202: Type.Object({ queued: Type.Integer() }), 400: ErrorBody, 404: ErrorBody },
    },
  }, async (request, reply) => reply.status(202).send(await webhooks.replay(request.params.id, new Date(request.body.from), new Date(request.body.to))));
}
