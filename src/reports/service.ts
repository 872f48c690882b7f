import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ReportsTables } from './tables.js';
import { badRequest, HttpError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { isTimeZone } from '../core/time-zone.js';
import { agentFigures, queueFigures, type AgentFigures, type AgentSums, type Interval, type QueueFigures, type QueueSums } from './figures.js';
import { campaignReport, type CampaignReport } from './campaigns.js';
import { eventsPurgedBefore } from './purged.js';
import {
  ceilBucket, firstWholeBucket, floorBucket, rawAgentBuckets, rawPauseBuckets, rawQueueBuckets, rawSurveyBuckets, rawSurveyQuestionBuckets, rebuildDays, rebuildRollups,
  stillChanging, wrapUpOf, type Range,
} from './rollup.js';
import { surveyReport, type SurveyQuery, type SurveyReportRow } from './surveys.js';

export type Source = 'rollup' | 'raw';

export interface ReportQuery {
  from: Date; to: Date; interval: Interval; timezone: string; source: Source;
  queueIds?: string[]; agentIds?: string[]; team?: string;
}

export interface QueueReportRow extends QueueFigures { period: string | null; queueId: string; queue: string }
export interface AgentReportRow extends AgentFigures {
  period: string | null; agentId: string; agent: string; team: string | null;
  /** The post-call surveys of the agent's calls: % of 4-5 on the CSAT question (null: no answer), and how many answered it. */
  csat: number | null; csatAnswers: number;
  /** Outbound calls the customer answered (click-to-call, callbacks, campaigns), and their talk seconds: a part of talkTime. */
  outboundCalls: number; outboundTalkTime: number;
}
export interface IvrReportRow { period: string | null; flowId: string; flow: string; node: string; nodeType: string; visits: number; hangups: number }
export interface PeakHour { weekday: number; hour: number; offered: number; answered: number }
/** Handled calls with one wrap-up code in one queue and period. */
export interface DispositionReportRow { period: string; queueId: string; queue: string; code: string; label: string | null; count: number; share: number; aht: number }

export interface ReportsOptions { shortAbandonSeconds: number; timezone: string }

/** How far back the periodic job rebuilds: late events (a Postgres outage, a long call) inside it correct the numbers by themselves. */
const periodicWindowMs = 26 * 3600_000;
/** How many periods one report may have (15 minutes over a year would be 35 040). */
const maxPeriods = 5000;
const periodMs: Record<Interval, number> = { '15m': 15 * 60_000, hour: 3600_000, day: 86_400_000, week: 7 * 86_400_000, month: 28 * 86_400_000 };

/**
 * Reports from the 15-minute rollups (or, with source=raw, straight from the
 * events, for checking): queues, agents, IVR nodes and peak hours, by any
 * interval in any time zone.
 */
export class ReportsService {
  private rebuilding: Promise<void> = Promise.resolve();

  constructor(private readonly db: Kysely<ReportsTables>, private readonly options: ReportsOptions, private readonly logger: Logger) {}

  get timezone(): string { return this.options.timezone; }

  /** 400 for what cannot be a report: the route's schema has checked the types. `part`: where the fields came from, for the message. */
  validate(query: { from: Date; to: Date; interval: Interval; timezone: string }, part: 'querystring' | 'body' = 'querystring'): void {
    if (Number.isNaN(query.from.getTime())) throw badRequest(`${part}/from is not a date-time`);
    if (Number.isNaN(query.to.getTime())) throw badRequest(`${part}/to is not a date-time`);
    if (query.from >= query.to) throw badRequest(`${part}/from must be before ${part}/to`);
    if (!isTimeZone(query.timezone)) throw badRequest(`${part}/timezone: unknown time zone '${query.timezone}' (use an IANA name such as Europe/Madrid)`);
    if ((query.to.getTime() - query.from.getTime()) / periodMs[query.interval] > maxPeriods) {
      throw badRequest(`${part}/interval: ${query.interval} over this range gives more than ${maxPeriods} periods; use a longer interval`);
    }
  }

  // ---- rollups ----

  /** The first quarter whose raw events the event retention left whole (migration 017); undefined: all are. */
  async firstWholeBucket(): Promise<Date | undefined> {
    return firstWholeBucket(await eventsPurgedBefore(this.db));
  }

  /**
   * 409 `events_purged` for a report made from the raw events (`what`) over a
   * range that starts before the first quarter the event retention left
   * whole: its figures would be those of whatever was kept, not the truth.
   */
  private async refusePurged(from: Date, what: string): Promise<void> {
    const first = await this.firstWholeBucket();
    if (first && floorBucket(from) < first) {
      throw new HttpError(409, 'events_purged', `${what}: the event retention (CENTRALITA_EVENT_RETENTION_DAYS) deleted the raw events before ${first.toISOString()}; `
        + 'start the range there or later, or read the rollups (source=rollup), which keep the figures of before');
    }
  }

  /**
   * Rebuilds the ranges from the raw events, with whatever writes changed
   * since the last rebuild (one rebuild at a time).
   */
  rebuild(ranges: Range[], now = new Date()): Promise<Range[]> {
    const run = this.rebuilding.then(() => rebuildRollups(this.db, ranges, { ...this.options, now, dirty: true }));
    this.rebuilding = run.then(() => undefined, () => undefined);
    return run;
  }

  /**
   * The periodic job: the last 26 hours again, or from the last run if that
   * is earlier (after a longer downtime), then marks what is final.
   */
  async rebuildRecent(now = new Date()): Promise<void> {
    const started = Date.now();
    const rolledUpTo = await this.rolledUpTo();
    const recent = new Date(now.getTime() - periodicWindowMs);
    const from = rolledUpTo && rolledUpTo < recent ? rolledUpTo : recent;
    await this.rebuild([{ from, to: now }], now);
    await sql`insert into report_rollup_state (id, rolled_up_to, updated_at) values (true, ${floorBucket(now)}, ${now})
      on conflict (id) do update set rolled_up_to = excluded.rolled_up_to, updated_at = excluded.updated_at`.execute(this.db);
    this.logger.debug({ ms: Date.now() - started, from }, 'report rollups rebuilt');
  }

  /** Where the last periodic run left the rollups final; undefined before the first. */
  private async rolledUpTo(): Promise<Date | undefined> {
    const state = await sql<{ rolled_up_to: Date }>`select rolled_up_to from report_rollup_state`.execute(this.db);
    const at = state.rows[0]?.rolled_up_to;
    return at && at.getTime() > 0 ? at : undefined;
  }

  /**
   * At start: day tables made in another time zone (CENTRALITA_TIMEZONE
   * changed) are made again from the quarter hours.
   */
  async checkDayZone(): Promise<void> {
    const state = await sql<{ day_timezone: string | null }>`select day_timezone from report_rollup_state`.execute(this.db);
    const zone = state.rows[0]?.day_timezone;
    if (!zone || zone === this.options.timezone) return;
    const span = await sql<{ first: Date | null; last: Date | null }>`select min(bucket) as first, max(bucket) as last from report_agent_15m`.execute(this.db);
    const { first, last } = span.rows[0] ?? { first: null, last: null };
    this.logger.warn({ from: zone, to: this.options.timezone }, 'the time zone changed: remaking the daily report rollups');
    const run = this.rebuilding.then(() => this.db.transaction().execute((tx) => rebuildDays(tx, first ?? new Date(), last ? new Date(last.getTime() + 1) : new Date(), this.options.timezone)));
    // the next rebuild waits for this one, failed or not; this one's error is thrown by `await run`
    this.rebuilding = run.catch(() => undefined);
    await run;
  }

  /**
   * Before reading rollups up to `to`: the buckets after the last periodic
   * run (the current one is never final), every stretch a write changed
   * since the last rebuild, and the quarters that change as time passes
   * (callers waiting, wrap-ups going on), are rebuilt now.
   */
  private async freshen(to: Date): Promise<void> {
    const now = new Date();
    const rolledUpTo = (await this.rolledUpTo()) ?? new Date(now.getTime() - periodicWindowMs);
    // A quarter still changing up to the retention's watermark is never rebuilt (rebuildRollups): not a reason to rebuild.
    const first = (await this.firstWholeBucket()) ?? new Date(0);
    const dirty = await sql<{ any: boolean }>`select exists (select 1 from report_dirty)
      or exists (select 1 from (${stillChanging}) s where s.bucket >= ${first}) as any`.execute(this.db);
    if (to <= rolledUpTo && !dirty.rows[0]!.any) return;
    await this.rebuild(to > rolledUpTo ? [{ from: rolledUpTo, to: ceilBucket(now) }] : [], now);
  }

  private async source(kind: 'queue' | 'agent' | 'pause', query: ReportQuery): Promise<RawBuilder<unknown>> {
    const from = floorBucket(query.from);
    const to = ceilBucket(query.to);
    const now = new Date();
    if (query.source === 'raw') {
      await this.refusePurged(query.from, 'source=raw');
      if (kind === 'queue') return rawQueueBuckets(from, to, this.options.shortAbandonSeconds, now);
      return kind === 'agent' ? rawAgentBuckets(from, to, now) : rawPauseBuckets(from, to, now);
    }
    await this.freshen(to);
    if (await this.byDays(query)) {
      // The centre's own days: the day tables, each day shown as its local midnight.
      const table = sql.table(kind === 'queue' ? 'report_queue_day' : kind === 'agent' ? 'report_agent_day' : 'report_agent_pause_day');
      const tz = this.options.timezone;
      return sql`select *, (day::timestamp at time zone ${tz}) as bucket from ${table}
        where day >= (${query.from}::timestamptz at time zone ${tz})::date and day < (${query.to}::timestamptz at time zone ${tz})::date`;
    }
    const table = sql.table(kind === 'queue' ? 'report_queue_15m' : kind === 'agent' ? 'report_agent_15m' : 'report_agent_pause_15m');
    return sql`select * from ${table} where bucket >= ${from} and bucket < ${to}`;
  }

  /**
   * Whether the day tables can answer: days, weeks or months in the centre's
   * time zone, over a range of whole local days, with the day tables made in
   * that zone.
   */
  private async byDays(query: ReportQuery): Promise<boolean> {
    if (!['day', 'week', 'month'].includes(query.interval) || query.timezone !== this.options.timezone) return false;
    const check = await sql<{ aligned: boolean; zone: string | null }>`
      select date_trunc('day', ${query.from}::timestamptz, ${query.timezone}) = ${query.from}::timestamptz
        and date_trunc('day', ${query.to}::timestamptz, ${query.timezone}) = ${query.to}::timestamptz as aligned,
        (select day_timezone from report_rollup_state) as zone`.execute(this.db);
    return check.rows[0]!.aligned && check.rows[0]!.zone === query.timezone;
  }

  // ---- reports ----

  async queues(query: ReportQuery): Promise<{ rows: QueueReportRow[]; totals: QueueReportRow[] }> {
    const source = await this.source('queue', query);
    const run = async (byPeriod: boolean): Promise<QueueReportRow[]> => {
      const period = byPeriod ? periodOf(query) : sql`null::timestamptz`;
      const result = await sql<QueueSums & { queue_id: string; queue: string; period: Date | null }>`
        with b as (${source})
        select b.queue_id, q.name as queue, ${period} as period,
          sum(offered)::int as offered, sum(answered)::int as answered, sum(abandoned)::int as abandoned,
          sum(short_abandoned)::int as short_abandoned, sum(answered_within_sl)::int as answered_within_sl, sum(waiting_within_sl)::int as waiting_within_sl,
          sum(waits)::int as waits, sum(wait_sum)::float8 as wait_sum, max(wait_max)::float8 as wait_max,
          sum(answered_wait_sum)::float8 as answered_wait_sum, sum(handled)::int as handled, sum(talk_sum)::float8 as talk_sum,
          sum(wrap_sum)::float8 as wrap_sum, sum(callbacks)::int as callbacks, sum(transfers)::int as transfers, sum(overflows)::int as overflows, sum(hold_sum)::float8 as hold_sum, sum(holds)::int as holds
        from b join queues q on q.id = b.queue_id
        where ${query.queueIds?.length ? sql`b.queue_id in (${sql.join(query.queueIds)})` : sql`true`}
        group by b.queue_id, q.name, 3
        order by 3, q.name`.execute(this.db);
      return result.rows.map((r) => ({ period: r.period ? r.period.toISOString() : null, queueId: r.queue_id, queue: r.queue, ...queueFigures(r) }));
    };
    return { rows: await run(true), totals: await run(false) };
  }

  async agents(query: ReportQuery): Promise<{ rows: AgentReportRow[]; totals: AgentReportRow[] }> {
    const source = await this.source('agent', query);
    const pauseSource = await this.source('pause', query);
    const surveySource = await this.surveySource(query);
    const filter = sql`${query.agentIds?.length ? sql`a.id in (${sql.join(query.agentIds)})` : sql`true`}
      and ${query.team !== undefined ? sql`a.team = ${query.team}` : sql`true`}
      and ${query.queueIds?.length ? sql`a.id in (select agent_id from queue_members where queue_id in (${sql.join(query.queueIds)}))` : sql`true`}`;
    const run = async (byPeriod: boolean): Promise<AgentReportRow[]> => {
      const period = byPeriod ? periodOf(query) : sql`null::timestamptz`;
      const sums = await sql<AgentSums & { agent_id: string; agent: string; team: string | null; period: Date | null }>`
        with b as (${source})
        select b.agent_id, a.name as agent, a.team, ${period} as period,
          sum(login_s)::float8 as login_s, sum(available_s)::float8 as available_s, sum(ringing_s)::float8 as ringing_s,
          sum(talk_s)::float8 as talk_s, sum(wrap_s)::float8 as wrap_s, sum(pause_s)::float8 as pause_s,
          sum(handled)::int as handled, sum(missed)::int as missed, sum(hold_s)::float8 as hold_s, sum(holds)::int as holds
        from b join agents a on a.id = b.agent_id
        where ${filter}
        group by b.agent_id, a.name, a.team, 4
        order by 4, a.name`.execute(this.db);
      const pauses = await sql<{ agent_id: string; period: Date | null; reason: string; seconds: number }>`
        with b as (${pauseSource})
        select b.agent_id, ${period} as period, b.reason, sum(b.seconds)::float8 as seconds
        from b join agents a on a.id = b.agent_id
        where ${filter}
        group by b.agent_id, 2, b.reason`.execute(this.db);
      const csat = await sql<{ agent_id: string; period: Date | null; answers: number; positive: number }>`
        with b as (${surveySource})
        select b.agent_id, ${period} as period, sum(csat_answers)::int as answers, sum(csat_positive)::int as positive
        from b join agents a on a.id = b.agent_id
        where ${filter}
        group by b.agent_id, 2`.execute(this.db);
      // Outbound calls from their own rows, raw, in the same quarters (src/outbound/store.ts).
      const outbound = await sql<{ agent_id: string; period: Date | null; calls: number; talk: number }>`
        with b as (
          select o.agent_id, date_bin('15 minutes', o.started_at, timestamptz '2000-01-01 00:00:00+00') as bucket, o.answered_at, o.talk_seconds
          from outbound_calls o where o.started_at >= ${floorBucket(query.from)} and o.started_at < ${ceilBucket(query.to)})
        select b.agent_id, ${period} as period, count(*) filter (where b.answered_at is not null)::int as calls, coalesce(sum(b.talk_seconds), 0)::float8 as talk
        from b join agents a on a.id = b.agent_id
        where ${filter}
        group by b.agent_id, 2`.execute(this.db);
      const key = (agentId: string, period: Date | null): string => `${agentId}|${period?.toISOString() ?? ''}`;
      const csatOf = new Map(csat.rows.map((r) => [key(r.agent_id, r.period), r]));
      const outboundOf = new Map(outbound.rows.map((r) => [key(r.agent_id, r.period), r]));
      const byKey = new Map<string, Record<string, number>>();
      for (const p of pauses.rows) {
        const k = key(p.agent_id, p.period);
        byKey.set(k, { ...byKey.get(k), [p.reason]: p.seconds });
      }
      return sums.rows.map((r) => ({
        period: r.period ? r.period.toISOString() : null, agentId: r.agent_id, agent: r.agent, team: r.team,
        ...agentFigures(r, byKey.get(key(r.agent_id, r.period)) ?? {}),
        ...csatFigures(csatOf.get(key(r.agent_id, r.period))),
        outboundCalls: outboundOf.get(key(r.agent_id, r.period))?.calls ?? 0,
        outboundTalkTime: Math.round((outboundOf.get(key(r.agent_id, r.period))?.talk ?? 0) * 1000) / 1000,
      }));
    };
    return { rows: await run(true), totals: await run(false) };
  }

  /**
   * IVR nodes: visits by the time of the step, and hang-ups: calls whose last
   * step was that node, which ended without reaching a queue or a transfer.
   * The last step is the call's last over all its traces, not only those in
   * the range: a call that moved on after the range's end did not hang up at
   * the earlier node, so hang-ups add up across adjacent ranges. The hang-up
   * belongs to the period of that last step. [from, to) is widened to whole
   * quarter hours, as for every report.
   */
  async ivr(query: ReportQuery & { flowIds?: string[] }): Promise<{ rows: IvrReportRow[] }> {
    await this.refusePurged(query.from, 'IVR reports are made from the raw IVR steps');
    const tz = query.timezone;
    const from = floorBucket(query.from);
    const to = ceilBucket(query.to);
    const period = query.interval === '15m' ? sql`date_bin('15 minutes', t.at, timestamptz '2000-01-01 00:00:00+00')` : sql`date_trunc(${query.interval}, t.at, ${tz})`;
    // Steps in the range by ivr_traces_by_time; each of their calls' last step by ivr_traces_by_call, read backwards.
    const result = await sql<{ flow_id: string; flow: string; node: string; node_type: string; period: Date; visits: number; hangups: number }>`
      with t as (
        select t.* from ivr_traces t where t.at >= ${from} and t.at < ${to}
          and ${query.flowIds?.length ? sql`t.flow_id in (${sql.join(query.flowIds)})` : sql`true`}
      ), last as (
        select l.id from (select distinct call_id from t) calls
          cross join lateral (select x.id from ivr_traces x where x.call_id = calls.call_id order by x.id desc limit 1) l
      )
      select t.flow_id, f.name as flow, t.node, t.node_type, ${period} as period, count(*)::int as visits,
        (count(*) filter (where last.id is not null and t.node_type not in ('queue', 'transfer') and c.ended_at is not null))::int as hangups
      from t join ivr_flows f on f.id = t.flow_id join calls c on c.id = t.call_id left join last on last.id = t.id
      group by t.flow_id, f.name, t.node, t.node_type, 5
      order by 5, f.name, t.node`.execute(this.db);
    return {
      rows: result.rows.map((r) => ({ period: r.period.toISOString(), flowId: r.flow_id, flow: r.flow, node: r.node, nodeType: r.node_type, visits: r.visits, hangups: r.hangups })),
    };
  }

  /**
   * Handled calls by wrap-up code (disposition), per queue and period (by
   * the time the caller entered, as for the queues): count, share of the
   * queue's handled calls in the period, and AHT (talk + hold + wrap-up).
   * From the raw entries (codes are not in the rollups); `unset` for a call
   * whose queue asked for no code, `none` where a required one was not set.
   */
  async dispositions(query: ReportQuery): Promise<{ rows: DispositionReportRow[] }> {
    await this.refusePurged(query.from, 'disposition reports are made from the raw queue entries');
    const from = floorBucket(query.from);
    const to = ceilBucket(query.to);
    const now = new Date();
    const period = query.interval === '15m' ? sql`date_bin('15 minutes', e.entered_at, timestamptz '2000-01-01 00:00:00+00')` : sql`date_trunc(${query.interval}, e.entered_at, ${query.timezone})`;
    const result = await sql<{ queue_id: string; queue: string; period: Date; code: string; label: string | null; count: number; handled: number; handle_sum: number }>`
      with h as (
        select e.queue_id, ${period} as period, coalesce(e.disposition, 'unset') as code,
          extract(epoch from e.left_at - e.answered_at) + coalesce(w.wrap, 0) as handle
        from queue_entries e
        ${wrapUpOf(now)}
        where e.entered_at >= ${from} and e.entered_at < ${to} and e.answered_at is not null and e.left_at is not null
          and ${query.queueIds?.length ? sql`e.queue_id in (${sql.join(query.queueIds)})` : sql`true`}
      )
      select h.queue_id, q.name as queue, h.period, h.code,
        (select d->>'label' from jsonb_array_elements(q.dispositions) d where d->>'code' = h.code limit 1) as label,
        count(*)::int as count, (sum(count(*)) over (partition by h.queue_id, h.period))::int as handled, sum(h.handle)::float8 as handle_sum
      from h join queues q on q.id = h.queue_id
      group by h.queue_id, q.name, q.dispositions, h.period, h.code
      order by h.period, q.name, h.code`.execute(this.db);
    return {
      rows: result.rows.map((r) => ({
        period: r.period.toISOString(), queueId: r.queue_id, queue: r.queue, code: r.code, label: r.label ?? (r.code === 'none' ? 'no code set in time' : r.code === 'unset' ? 'no code' : null),
        count: r.count, share: Math.round((10000 * r.count) / r.handled) / 100, aht: Math.round((r.handle_sum / r.count) * 1000) / 1000,
      })),
    };
  }

  /** The campaigns' report (campaigns.ts), from the raw attempts. */
  async campaigns(query: ReportQuery & { campaignId?: string }): Promise<CampaignReport> {
    await this.refusePurged(query.from, 'campaign reports are made from the raw attempts and outbound calls');
    return campaignReport(this.db, { from: query.from, to: query.to, interval: query.interval, timezone: query.timezone, ...(query.campaignId ? { campaignId: query.campaignId } : {}) });
  }

  /** The survey responses' quarters of the query's range: rollups (freshened) or raw. */
  private async surveySource(query: ReportQuery, questions = false): Promise<RawBuilder<unknown>> {
    const from = floorBucket(query.from);
    const to = ceilBucket(query.to);
    if (query.source === 'raw') {
      await this.refusePurged(query.from, 'source=raw');
      return questions ? rawSurveyQuestionBuckets(from, to) : rawSurveyBuckets(from, to);
    }
    await this.freshen(to);
    return sql`select * from ${sql.table(questions ? 'report_survey_question_15m' : 'report_survey_15m')} where bucket >= ${from} and bucket < ${to}`;
  }

  /** Post-call survey figures by period and queue, agent, team or survey (surveys.ts). */
  async surveys(query: ReportQuery & Pick<SurveyQuery, 'by' | 'surveyId'>): Promise<{ rows: SurveyReportRow[]; totals: SurveyReportRow[] }> {
    return surveyReport(this.db, await this.surveySource(query), await this.surveySource(query, true), query);
  }

  /** Today's CSAT per queue (today in the service's time zone), from the raw responses: the wallboard's. */
  async csatToday(now = new Date()): Promise<Map<string, { csat: number | null; csatAnswers: number }>> {
    const result = await sql<{ queue_id: string; answers: number; positive: number }>`
      select r.queue_id, count(*)::int as answers, (count(*) filter (where a.value >= 4))::int as positive
      from survey_responses r join survey_answers a on a.response_id = r.id and a.measure = 'csat'
      where r.offered_at >= date_trunc('day', ${now}::timestamptz, ${this.options.timezone}) and r.queue_id is not null
      group by r.queue_id`.execute(this.db);
    return new Map(result.rows.map((r) => [r.queue_id, csatFigures(r)]));
  }

  /** Calls offered and answered by weekday (0 Sunday … 6 Saturday) and hour of day, in the time zone. */
  async peakHours(query: ReportQuery): Promise<PeakHour[]> {
    const source = await this.source('queue', { ...query, interval: '15m' }); // hours of the day: never the day rollups
    const tz = query.timezone;
    const result = await sql<PeakHour>`
      with b as (${source})
      select extract(dow from b.bucket at time zone ${tz})::int as weekday, extract(hour from b.bucket at time zone ${tz})::int as hour,
        sum(offered)::int as offered, sum(answered)::int as answered
      from b where ${query.queueIds?.length ? sql`b.queue_id in (${sql.join(query.queueIds)})` : sql`true`}
      group by 1, 2 order by 1, 2`.execute(this.db);
    return result.rows;
  }

  /** Today's abandoned callers (today in the service's time zone), latest first: the wallboard's list, with any callback asked for since. */
  async abandonedToday(now = new Date()): Promise<{ entryId: string; callId: string; queueId: string; queue: string; callerNumber: string | null; waitSeconds: number | null; at: string; callback: string | null }[]> {
    const result = await sql<{ entry_id: string; call_id: string; queue_id: string; queue: string; caller_number: string | null; wait_seconds: number | null; left_at: Date; callback: string | null }>`
      select e.id as entry_id, e.call_id, e.queue_id, q.name as queue, c.caller_number, e.wait_seconds::float8 as wait_seconds, e.left_at,
        (select b.status from queue_callbacks b where b.call_id = e.call_id order by b.requested_at desc limit 1) as callback
      from queue_entries e join queues q on q.id = e.queue_id left join calls c on c.id = e.call_id
      where e.outcome = 'abandoned' and e.left_at >= date_trunc('day', ${now}::timestamptz, ${this.options.timezone})
      order by e.left_at desc limit 200`.execute(this.db);
    return result.rows.map((r) => ({
      entryId: r.entry_id, callId: r.call_id, queueId: r.queue_id, queue: r.queue, callerNumber: r.caller_number,
      waitSeconds: r.wait_seconds === null ? null : Math.round(r.wait_seconds * 10) / 10, at: r.left_at.toISOString(), callback: r.callback,
    }));
  }

  /** Today's figures per queue (today in the service's time zone), from the raw entries. */
  async today(now = new Date()): Promise<Map<string, QueueFigures>> {
    const start = await sql<{ start: Date }>`select date_trunc('day', ${now}::timestamptz, ${this.options.timezone}) as start`.execute(this.db);
    const from = start.rows[0]!.start;
    const result = await sql<QueueSums & { queue_id: string }>`
      with b as (${rawQueueBuckets(floorBucket(from), ceilBucket(now), this.options.shortAbandonSeconds, now)})
      select queue_id, sum(offered)::int as offered, sum(answered)::int as answered, sum(abandoned)::int as abandoned,
        sum(short_abandoned)::int as short_abandoned, sum(answered_within_sl)::int as answered_within_sl,
        sum(waiting_within_sl)::int as waiting_within_sl, sum(waits)::int as waits,
        sum(wait_sum)::float8 as wait_sum, max(wait_max)::float8 as wait_max, sum(answered_wait_sum)::float8 as answered_wait_sum,
        sum(handled)::int as handled, sum(talk_sum)::float8 as talk_sum, sum(wrap_sum)::float8 as wrap_sum,
        sum(callbacks)::int as callbacks, sum(transfers)::int as transfers, sum(overflows)::int as overflows, sum(hold_sum)::float8 as hold_sum, sum(holds)::int as holds
      from b group by queue_id`.execute(this.db);
    return new Map(result.rows.map((r) => [r.queue_id, queueFigures(r)]));
  }
}

/** CSAT as a percentage of the answers, and how many there were. */
function csatFigures(sums: { answers: number; positive: number } | undefined): { csat: number | null; csatAnswers: number } {
  return { csat: sums?.answers ? Math.round((1000 * sums.positive) / sums.answers) / 10 : null, csatAnswers: sums?.answers ?? 0 };
}

/** The start of the report period a 15-minute bucket belongs to. */
function periodOf(query: { interval: Interval; timezone: string }): RawBuilder<unknown> {
  if (query.interval === '15m') return sql`b.bucket`;
  return sql`date_trunc(${query.interval}, b.bucket, ${query.timezone})`;
}
