import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { HttpError } from '../core/errors.js';
import type { HttpApp } from '../core/http.js';
import { DateTime, ErrorBody, StringEnum, Text, Uuid } from '../core/schemas.js';
import { campaignReportCsv } from './campaigns.js';
import { reportCsv, type PauseReasonName } from './csv.js';
import { intervals, type Interval } from './figures.js';
import type { LiveStats } from './live.js';
import { reportBound } from './range.js';
import type { ReportQuery, ReportsService, Source } from './service.js';
import { surveyCsv, surveyGroups } from './surveys.js';

const roles = ['admin', 'supervisor'] as const;

const Range = {
  from: Text({ minLength: 10, maxLength: 40, description: 'start (included), a date-time (2026-01-01T08:00:00Z) rounded down to a quarter hour, or a date (2026-01-01): that day\'s midnight in the time zone' }),
  to: Text({ minLength: 10, maxLength: 40, description: 'end (excluded), a date-time rounded up to a quarter hour, or a date (2026-01-31): that day included, up to the next midnight in the time zone' }),
  timezone: Type.Optional(Text({ minLength: 1, maxLength: 64, description: 'IANA time zone of the periods (default CENTRALITA_TIMEZONE)' })),
  source: Type.Optional(StringEnum(['rollup', 'raw'] as const, { description: 'rollup (default) or raw: the same figures straight from the events, slower' })),
  format: Type.Optional(StringEnum(['json', 'csv'] as const, { description: 'csv: the rows as CSV (so does Accept: text/csv)' })),
};
const ReportFields = {
  ...Range,
  interval: StringEnum(intervals, { description: '15m, hour, day, week (Monday first) or month' }),
  queue: Type.Optional(Uuid()),
  agent: Type.Optional(Uuid()),
  team: Type.Optional(Text({ minLength: 1, maxLength: 80 })),
};
const IvrParams = Type.Object(ReportFields, { additionalProperties: false });
const ReportParams = Type.Object({
  ...ReportFields,
  totals: Type.Optional(Type.Boolean({ default: false, description: 'CSV: the totals rows after the period rows, with an empty period (the JSON always has totals)' })),
}, { additionalProperties: false });
type ReportParams = {
  from: string; to: string; interval: Interval; timezone?: string; source?: Source; format?: 'json' | 'csv';
  queue?: string; agent?: string; team?: string; totals?: boolean;
};

// 409 `events_purged`: a report from the raw events (source=raw, IVR) over a range the event retention emptied.
const errors = { 400: ErrorBody, 409: ErrorBody };
const Anything = Type.Unknown();

/**
 * Reports (docs/metrics.md): JSON `{rows, totals}`, or the rows as CSV with
 * fixed columns (src/reports/csv.ts). `pauseReasons`: the reasons defined
 * now, from the agents service, for the agent CSV's columns.
 */
export function reportRoutes(app: HttpApp, reports: ReportsService, live: () => Promise<LiveStats>, pauseReasons: () => Promise<PauseReasonName[]>): void {
  const queryOf = (q: ReportParams): ReportQuery => {
    const timezone = q.timezone ?? reports.timezone;
    const query: ReportQuery = {
      from: reportBound(q.from, timezone, 'from'), to: reportBound(q.to, timezone, 'to'), interval: q.interval, timezone, source: q.source ?? 'rollup',
      ...(q.queue ? { queueIds: [q.queue] } : {}), ...(q.agent ? { agentIds: [q.agent] } : {}), ...(q.team !== undefined ? { team: q.team } : {}),
    };
    reports.validate(query);
    return query;
  };
  const wantsCsv = (request: FastifyRequest, q: { format?: 'json' | 'csv' }): boolean => q.format === 'csv' || (q.format === undefined && /\btext\/csv\b/.test(request.headers.accept ?? ''));
  /** The body as JSON, or `csv()` as an attachment named `name`.csv. */
  const send = async (request: FastifyRequest, reply: FastifyReply, q: { format?: 'json' | 'csv' }, name: string, body: object, csv: () => string | Promise<string>) => {
    if (!wantsCsv(request, q)) return body;
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(await csv());
  };

  app.get('/api/v1/reports/queues', {
    config: { roles },
    schema: {
      tags: ['reports'], summary: 'Queue figures by period: offered, answered, abandoned, service level, ASA, AHT, …',
      querystring: ReportParams, response: { 200: Anything, ...errors },
    },
  }, async (request, reply) => {
    const body = await reports.queues(queryOf(request.query));
    return send(request, reply, request.query, 'queues', body, () => reportCsv('queues', body.rows, request.query.totals ? body.totals : undefined));
  });

  app.get('/api/v1/reports/agents', {
    config: { roles },
    schema: {
      tags: ['reports'], summary: 'Agent figures by period: login, available, talk, wrap-up and pause time, calls answered and missed, occupancy, …',
      description: 'Filters: agent, team, queue (the queue\'s members).',
      querystring: ReportParams, response: { 200: Anything, ...errors },
    },
  }, async (request, reply) => {
    const body = await reports.agents(queryOf(request.query));
    return send(request, reply, request.query, 'agents', body,
      async () => reportCsv('agents', body.rows, request.query.totals ? body.totals : undefined, await pauseReasons()));
  });

  app.get('/api/v1/reports/dispositions', {
    config: { roles },
    schema: {
      tags: ['reports'], summary: 'Handled calls by wrap-up code: count, share and AHT per queue and period',
      description: 'From the raw queue entries. `unset`: the queue asked for no code; `none`: a required code was not set before the wrap-up\'s maximum.',
      querystring: ReportParams, response: { 200: Anything, ...errors },
    },
  }, async (request, reply) => {
    const body = await reports.dispositions(queryOf(request.query));
    return send(request, reply, request.query, 'dispositions', body, () => reportCsv('dispositions', body.rows));
  });

  app.get('/api/v1/reports/surveys', {
    config: { roles },
    schema: {
      tags: ['reports'], summary: 'Post-call surveys by period: offered, completed, response rate, CSAT, NPS, comments and each question\'s average',
      description: 'by: queue (default), agent, team or survey. CSAT: % of 4-5 on the survey\'s first 1-5 question; NPS: % of 9-10 minus % of 0-6 on its first 0-10 question (docs/surveys.md).',
      querystring: Type.Object({
        ...ReportFields,
        by: Type.Optional(StringEnum(surveyGroups)), survey: Type.Optional(Uuid()),
        totals: Type.Optional(Type.Boolean({ default: false, description: 'CSV: the totals rows after the period rows' })),
      }, { additionalProperties: false }),
      response: { 200: Anything, ...errors },
    },
  }, async (request, reply) => {
    const { by = 'queue', survey, ...rest } = request.query;
    const body = await reports.surveys({ ...queryOf(rest), by, ...(survey ? { surveyId: survey } : {}) });
    return send(request, reply, request.query, 'surveys', body, () => surveyCsv([...body.rows, ...(request.query.totals ? body.totals : [])]));
  });

  app.get('/api/v1/reports/abandoned-today', {
    config: { roles },
    schema: {
      tags: ['reports'], summary: "Today's abandoned callers, latest first (the wallboard's list): number, queue, wait, time, callback status",
      response: { 200: Anything },
    },
  }, async () => reports.abandonedToday());

  app.get('/api/v1/reports/ivr', {
    config: { roles },
    schema: {
      tags: ['reports'], summary: 'IVR nodes by period: visits, and callers who hung up there',
      querystring: IvrParams, response: { 200: Anything, ...errors },
    },
  }, async (request, reply) => {
    const body = await reports.ivr(queryOf(request.query));
    return send(request, reply, request.query, 'ivr', body, () => reportCsv('ivr', body.rows));
  });

  app.get('/api/v1/reports/peak-hours', {
    config: { roles },
    schema: {
      tags: ['reports'], summary: 'Calls offered and answered by weekday (0 = Sunday) and hour of day, in the time zone',
      querystring: Type.Object({ ...Range, queue: Type.Optional(Uuid()) }, { additionalProperties: false }),
      response: { 200: Anything, ...errors },
    },
  }, async (request, reply) => {
    const q = { ...request.query, interval: 'hour' as const };
    const rows = await reports.peakHours(queryOf(q));
    return send(request, reply, q, 'peak-hours', { rows }, () => reportCsv('peak-hours', rows));
  });

  app.get('/api/v1/reports/campaigns', {
    config: { roles },
    schema: {
      tags: ['reports'], summary: 'Campaigns by period: attempts, answered, persons put through (connects), contact rate, machines, abandon rate, talk and wrap-up time, wrap-up codes',
      description: 'From the raw campaign attempts (docs/campaigns.md, "Reports"). The JSON adds `agents` (each agent\'s connects, talk, wrap-up and wait before '
        + 'each connect over the range) and `totals` per campaign: the range\'s abandon rate, today\'s and the rolling 30 days\' as of now (the pacing cap\'s '
        + 'windows), and the list\'s penetration now. CSV: the period rows, fixed columns.',
      querystring: Type.Object({ ...Range, interval: ReportFields.interval, campaign: Type.Optional(Uuid()) }, { additionalProperties: false }),
      response: { 200: Anything, ...errors },
    },
  }, async (request, reply) => {
    const { campaign, ...rest } = request.query;
    const body = await reports.campaigns({ ...queryOf(rest), ...(campaign ? { campaignId: campaign } : {}) });
    return send(request, reply, request.query, 'campaigns', body, () => campaignReportCsv(body.rows));
  });

  app.post('/api/v1/reports/rebuild', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['reports'], summary: 'Rebuild the rollups of a range from the raw events (after late events older than a day, or a change of CENTRALITA_SHORT_ABANDON_SECONDS)',
      description: 'Never before the event retention\'s watermark: the rollups there are kept (the answer\'s `from` is then later than asked, and '
        + '`keptBefore` says where the kept ones end); 409 `events_purged` when the whole range is before it.',
      body: Type.Object({ from: DateTime(), to: DateTime() }, { additionalProperties: false }),
      response: { 200: Type.Object({ from: Type.String(), to: Type.String(), keptBefore: Type.Optional(Type.String()) }), ...errors },
    },
  }, async (request) => {
    const from = new Date(request.body.from);
    const to = new Date(request.body.to);
    reports.validate({ from, to, interval: 'month', timezone: 'UTC' }, 'body');
    // rebuildRollups clamps by itself (under a lock); this says so to whoever asked.
    const first = await reports.firstWholeBucket();
    if (first && to <= first) {
      throw new HttpError(409, 'events_purged', `the event retention (CENTRALITA_EVENT_RETENTION_DAYS) deleted the raw events before ${first.toISOString()}: `
        + 'the rollups of that range are kept as they are and cannot be rebuilt');
    }
    await reports.rebuild([{ from, to }]);
    const kept = first && from < first ? first : undefined;
    return { from: (kept ?? from).toISOString(), to: to.toISOString(), ...(kept ? { keptBefore: kept.toISOString() } : {}) };
  });

  app.get('/api/v1/stats/live', {
    config: { roles },
    schema: {
      tags: ['reports'], summary: 'Now: per queue waiting, longest wait, agents by state, today\'s offered/answered/abandoned/service level; per agent state and time in it',
      description: 'Also pushed as {"type":"stats.live"} on /api/v1/events at most every 2 s while anything changes.',
      response: { 200: Anything },
    },
  }, async () => live());
}
