import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { HttpError } from '../core/errors.js';
import { Matching, Nullable, StringEnum, Text, Uuid } from '../core/schemas.js';
import { weekdays } from '../core/time-zone.js';
import { promptNamePattern } from '../prompts/service.js';
import type { Delimiter } from './import.js';
import { amdActions, callOutcomes, campaignModes, campaignStates, contactStates, dispositionActionNames, retryOutcomes } from './rules.js';

/** The campaigns' request and response schemas (routes.ts, dnc-routes.ts). */

const PromptName = Matching(promptNamePattern, 64, { description: 'an uploaded prompt' });
const Window = Matching('^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$', 11, { description: 'HH:MM-HH:MM, start included, end not; 24:00 ends the day' });
const Hours = Type.Object(Object.fromEntries(weekdays.map((d) => [d, Type.Optional(Type.Array(Window, { maxItems: 6 }))])), {
  additionalProperties: false, description: 'calling windows per weekday (mon..sun), in each contact\'s own time zone; a day not given is not called',
});
const RetryRule = Type.Object({
  maxAttempts: Type.Integer({ minimum: 1, maximum: 50, description: 'the contact\'s calls (all outcomes) after which it is failed' }),
  delayMinutes: Type.Integer({ minimum: 0, maximum: 525_600 }),
}, { additionalProperties: false });
const Retry = Type.Object(Object.fromEntries(retryOutcomes.map((o) => [o, Type.Optional(RetryRule)])), {
  additionalProperties: false, description: 'per unanswered outcome; an outcome without a rule fails the contact at once',
});
const DispositionAction = Type.Object({
  action: StringEnum(dispositionActionNames),
  delayMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 525_600, description: 'retry (required): when to call again; callback: when, if the agent gives no time (default a day)' })),
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, description: 'retry: calls after which the contact is failed (default 3)' })),
  sameAgent: Type.Optional(Type.Boolean({ description: 'callback: the agent who set the code takes it' })),
  global: Type.Optional(Type.Boolean({ description: 'dnc: the global list instead of the campaign\'s' })),
}, { additionalProperties: false });
const DispositionActions = Type.Record(Type.String({ pattern: '^[0-9]{1,4}$' }), DispositionAction, {
  additionalProperties: false, description: 'the queue\'s wrap-up code → what it does to the contact; a code not named is done',
});
const Amd = Type.Object({ action: StringEnum(amdActions), messagePrompt: Type.Optional(PromptName) }, {
  additionalProperties: false, description: 'an answering machine: hang up, leave messagePrompt after the beep, or put through to an agent',
});

export const campaignFields = {
  name: Matching('^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$', 80),
  queueId: Uuid({ description: 'the queue whose agents take the calls, and whose wrap-up codes the dispositions name' }),
  callerId: Matching('^\\+?[0-9]{3,20}$', 21, { description: 'the number the called person sees' }),
  mode: StringEnum(campaignModes, { description: 'preview: the agent sees the contact and dials; progressive: one line per free agent; predictive: paced' }),
  hours: Hours,
  defaultRegion: Matching('^[A-Za-z]{2}$', 2, { description: 'ISO 3166 country of numbers written without +, e.g. ES' }),
  defaultTimezone: Matching('^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$', 64, { description: 'IANA zone of contacts whose number does not tell theirs' }),
  amd: Amd,
  abandonCapPercent: Type.Number({ minimum: 0, maximum: 100, description: 'predictive: the most abandoned calls allowed, % (default 3)' }),
  abandonPrompt: Nullable(PromptName, { description: 'predictive: what a person no agent was free for hears (naming the company)' }),
  maxRatio: Type.Number({ minimum: 1, maximum: 10, description: 'predictive: most lines per free agent (default 2)' }),
  retry: Retry,
  dispositionActions: DispositionActions,
};
const required = ['name', 'queueId', 'callerId', 'mode', 'hours', 'defaultRegion', 'defaultTimezone'] as const;
export const CampaignCreate = Type.Object({
  ...Object.fromEntries(required.map((k) => [k, campaignFields[k]])),
  ...Object.fromEntries(Object.entries(campaignFields).filter(([k]) => !(required as readonly string[]).includes(k)).map(([k, v]) => [k, Type.Optional(v)])),
}, { additionalProperties: false });
export const CampaignChange = Type.Partial(Type.Object(campaignFields), { additionalProperties: false, minProperties: 1 });

const Count = Type.Integer();
export const ListStates = Type.Object({
  total: Count, byState: Type.Object(Object.fromEntries(contactStates.map((s) => [s, Count]))), attempted: Count, completed: Count, remaining: Count,
  penetration: Type.Number({ description: '% of the contacts called at least once' }),
});
export const Campaign = Type.Object({
  id: Type.String({ format: 'uuid' }), state: StringEnum(campaignStates), ...campaignFields,
  abandonPrompt: Nullable(Type.String()), createdAt: Type.String({ format: 'date-time' }), updatedAt: Type.String({ format: 'date-time' }),
});
export const CampaignDetail = Type.Intersect([Campaign, Type.Object({ contacts: ListStates })]);
export const List = Type.Object({
  id: Type.String({ format: 'uuid' }), campaignId: Type.String({ format: 'uuid' }), name: Type.String(), importedAt: Type.String({ format: 'date-time' }),
  importedBy: Nullable(Type.String()), contactCount: Count, dncCount: Type.Integer({ description: 'on a do-not-call list when imported' }),
  timezones: Type.Array(Type.String()), contacts: ListStates,
});
export const Contact = Type.Object({
  id: Type.String({ format: 'uuid' }), campaignId: Type.String({ format: 'uuid' }), listId: Type.String({ format: 'uuid' }), line: Count,
  number: Type.String({ description: 'E.164' }), rawNumber: Type.String(), name: Nullable(Type.String()), timezone: Type.String(),
  fields: Type.Record(Type.String(), Type.String(), { description: 'the file\'s other columns (the desk\'s screen pop)' }),
  state: StringEnum(contactStates), attempts: Count, nextAttemptAt: Nullable(Type.String({ format: 'date-time' })),
  lastOutcome: Nullable(StringEnum(callOutcomes)), lastAttemptAt: Nullable(Type.String({ format: 'date-time' })), callbackAgentId: Nullable(Type.String()),
});
export const Attempt = Type.Object({
  id: Type.String({ format: 'uuid' }), callId: Nullable(Type.String()), number: Type.String(), startedAt: Type.String({ format: 'date-time' }),
  answeredAt: Nullable(Type.String()), endedAt: Nullable(Type.String()), outcome: Nullable(Type.String()), agentId: Nullable(Type.String()), disposition: Nullable(Type.String()),
});
export const ContactDetail = Type.Intersect([Contact, Type.Object({ history: Type.Array(Attempt) })]);
export const Dnc = Type.Object({
  number: Type.String(), campaignId: Nullable(Type.String()), reason: Nullable(Type.String()), source: Type.String(), addedBy: Nullable(Type.String()), addedAt: Type.String({ format: 'date-time' }),
});

export const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 })),
};
/** A phone number as people write it; read with the region (or the campaign's) when it has no +. */
export const PhoneNumber = Matching('^[+0-9 ().-]{3,32}$', 32, { description: 'a phone number, +34612345678 or as written locally' });
export const Region = Matching('^[A-Za-z]{2}$', 2, { description: 'ISO 3166 country of numbers written without +' });
export const Reason = Text({ maxLength: 200 });
export const ListName = Text({ minLength: 1, maxLength: 100 });
export const CsvQuery = {
  delimiter: Type.Optional(StringEnum(['comma', 'semicolon', 'tab'] as const, { description: 'what separates the fields (default comma)' })),
  region: Type.Optional(Region),
};
export const delimiterOf = (name: 'comma' | 'semicolon' | 'tab' | undefined): Delimiter => (name === 'semicolon' ? ';' : name === 'tab' ? '\t' : ',');
export const CsvBody = Type.Unsafe<Readable>({ description: 'the CSV file (UTF-8, a header row), streamed' });

/** Who made a change, as stored with it: the signed-in user, else the token. */
export const actorOf = (request: FastifyRequest): string | null => {
  const p = request.principal;
  if (!p) return null;
  return p.session ? `user:${p.session.username}` : p.tokenId ? `token:${p.tokenId}` : 'admin-token';
};

/** Before the body is read: only text/csv is taken (a JSON body would otherwise be parsed first). */
export async function csvOnly(request: FastifyRequest): Promise<void> {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'text/csv') {
    throw new HttpError(415, 'unsupported_media_type', `send the CSV file itself as the request body with Content-Type: text/csv; got ${type ? `'${type.slice(0, 100)}'` : 'no Content-Type'}`);
  }
}

/**
 * The request body's chunks as they arrive. Leaving early (a bad header,
 * too many rows) does not destroy the request, whose socket carries the
 * answer: `discard` reads the rest away afterwards.
 */
export const chunksOf = (body: Readable | undefined): AsyncIterable<Uint8Array> =>
  // No body at all (Content-Length: 0): an empty file.
  body?.iterator ? body.iterator({ destroyOnReturn: false }) : (async function* () { /* nothing */ })();
export const discard = (body: Readable | undefined): void => {
  if (body && !body.readableEnded && !body.destroyed) body.resume();
};
