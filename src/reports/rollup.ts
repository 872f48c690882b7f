import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ReportsTables } from './tables.js';
import { eventsPurgedBefore } from './purged.js';

/** Rollup buckets are UTC quarter hours: every real time zone's hours and days are whole numbers of them. */
export const bucketMs = 15 * 60_000;
export const floorBucket = (d: Date): Date => new Date(Math.floor(d.getTime() / bucketMs) * bucketMs);
export const ceilBucket = (d: Date): Date => new Date(Math.ceil(d.getTime() / bucketMs) * bucketMs);

const bin = (column: RawBuilder<unknown>) => sql`date_bin('15 minutes', ${column}, timestamptz '2000-01-01 00:00:00+00')`;

/**
 * The queue figures of every 15-minute bucket in [from, to), computed from
 * the raw queue entries (docs/metrics.md): each entry counts in the bucket it
 * entered the queue in. `now` closes the wrap-ups still going on.
 */
export function rawQueueBuckets(from: Date, to: Date, shortAbandonSeconds: number, now: Date) {
  return sql`
    select e.queue_id, ${bin(sql`e.entered_at`)} as bucket,
      count(*)::int as offered,
      count(e.answered_at)::int as answered,
      (count(*) filter (where e.outcome = 'abandoned'))::int as abandoned,
      (count(*) filter (where e.outcome = 'abandoned' and e.wait_seconds < ${shortAbandonSeconds}))::int as short_abandoned,
      (count(*) filter (where e.answered_at is not null and e.wait_seconds <= e.service_level_seconds))::int as answered_within_sl,
      (count(*) filter (where e.answered_at is null and e.left_at is null and e.entered_at + make_interval(secs => e.service_level_seconds) >= ${now}::timestamptz))::int as waiting_within_sl,
      count(e.wait_seconds)::int as waits,
      coalesce(sum(e.wait_seconds), 0)::float8 as wait_sum,
      max(e.wait_seconds)::float8 as wait_max,
      coalesce(sum(e.wait_seconds) filter (where e.answered_at is not null), 0)::float8 as answered_wait_sum,
      (count(*) filter (where e.answered_at is not null and e.left_at is not null))::int as handled,
      -- talk excludes hold (docs/metrics.md): each is a figure of its own in AHT
      coalesce(sum(extract(epoch from e.left_at - e.answered_at) - e.hold_seconds) filter (where e.answered_at is not null and e.left_at is not null), 0)::float8 as talk_sum,
      coalesce(sum(w.wrap) filter (where e.left_at is not null), 0)::float8 as wrap_sum,
      (count(*) filter (where e.outcome = 'callback'))::int as callbacks,
      (count(*) filter (where e.outcome = 'transferred'))::int as transfers,
      (count(*) filter (where e.outcome = 'overflow'))::int as overflows,
      coalesce(sum(e.hold_seconds) filter (where e.answered_at is not null and e.left_at is not null), 0)::float8 as hold_sum,
      coalesce(sum(e.hold_count) filter (where e.answered_at is not null and e.left_at is not null), 0)::int as holds
    from queue_entries e
    ${wrapUpOf(now)}
    where e.entered_at >= ${from} and e.entered_at < ${to}
    group by e.queue_id, 2`;
}

/** `w.wrap`: the wrap-up seconds of queue entry `e` (a lateral join); `now` closes a wrap-up still going on. */
export function wrapUpOf(now: Date) {
  return sql`left join lateral (
      -- The wrap-ups that follow this entry's answer: up to the same agent's
      -- next answer of the same call (a caller transferred to another queue
      -- and answered again by the same agent is two entries, two wrap-ups).
      select sum(extract(epoch from coalesce(
        (select n.at from agent_state_events n where n.agent_id = s.agent_id and (n.at, n.id) > (s.at, s.id) order by n.at, n.id limit 1),
        ${now}::timestamptz) - s.at)) as wrap
      from agent_state_events s
      where s.agent_id = e.answered_by and s.call_id = e.call_id and s.to_state = 'wrap_up' and s.at >= e.answered_at
        and s.at < coalesce((select min(x.answered_at) from queue_entries x
          where x.call_id = e.call_id and x.answered_by = e.answered_by and x.answered_at > e.answered_at), 'infinity')
    ) w on e.answered_by is not null`;
}

/**
 * Each agent's states cut into 15-minute buckets over [from, to): the state
 * at `from` is the agent's latest change before it, and a state still going
 * on is counted up to `now`.
 */
function stateSlices(from: Date, to: Date, now: Date) {
  const until = now < to ? now : to;
  return sql`
    with ev as (
      select agent_id, id, to_state, to_reason, at from agent_state_events where at >= ${from} and at < ${to}
      union all
      -- Each agent's latest change before the range, however old (its own
      -- query per agent: an order by here would sort the whole union).
      select p.agent_id, p.id, p.to_state, p.to_reason, p.at from agents a cross join lateral (
        select agent_id, id, to_state, to_reason, at from agent_state_events x
        where x.agent_id = a.id and x.at < ${from} order by x.at desc, x.id desc limit 1) p
    ), stretch as (
      select agent_id, to_state, to_reason, greatest(at, ${from}::timestamptz) as start,
        least(coalesce(lead(at) over (partition by agent_id order by at, id), ${until}::timestamptz), ${until}::timestamptz) as stop
      from ev
    )
    select s.agent_id, s.to_state, s.to_reason, b.bucket,
      extract(epoch from least(s.stop, b.bucket + interval '15 minutes') - greatest(s.start, b.bucket))::float8 as seconds
    from stretch s
    cross join lateral generate_series(${bin(sql`s.start`)}, s.stop - interval '1 microsecond', interval '15 minutes') as b(bucket)
    where s.stop > s.start and s.to_state <> 'logged_out'`;
}

/** Each agent's 15-minute figures in [from, to) from the raw state changes, answers and offers. */
export function rawAgentBuckets(from: Date, to: Date, now: Date) {
  return sql`
    with slices as (${stateSlices(from, to, now)}),
    times as (
      select agent_id, bucket,
        sum(seconds) as login_s,
        coalesce(sum(seconds) filter (where to_state = 'available'), 0) as available_s,
        coalesce(sum(seconds) filter (where to_state = 'ringing'), 0) as ringing_s,
        coalesce(sum(seconds) filter (where to_state = 'on_call'), 0) as talk_s,
        coalesce(sum(seconds) filter (where to_state = 'wrap_up'), 0) as wrap_s,
        coalesce(sum(seconds) filter (where to_state = 'paused'), 0) as pause_s
      from slices group by agent_id, bucket
    ),
    handled as (
      -- hold: of the entries answered in the bucket (counted once the call has ended, as for the queues)
      select answered_by as agent_id, ${bin(sql`answered_at`)} as bucket, count(*)::int as handled,
        coalesce(sum(hold_seconds) filter (where left_at is not null), 0) as hold_s,
        coalesce(sum(hold_count) filter (where left_at is not null), 0)::int as holds
      from queue_entries where answered_by is not null and answered_at >= ${from} and answered_at < ${to} group by 1, 2
    ),
    missed as (
      select agent_id, ${bin(sql`offered_at`)} as bucket, count(*)::int as missed
      from queue_offers where result = 'no_answer' and offered_at >= ${from} and offered_at < ${to} group by 1, 2
    )
    select coalesce(t.agent_id, h.agent_id, m.agent_id) as agent_id, coalesce(t.bucket, h.bucket, m.bucket) as bucket,
      coalesce(t.login_s, 0)::float8 as login_s, coalesce(t.available_s, 0)::float8 as available_s, coalesce(t.ringing_s, 0)::float8 as ringing_s,
      coalesce(t.talk_s, 0)::float8 as talk_s, coalesce(t.wrap_s, 0)::float8 as wrap_s, coalesce(t.pause_s, 0)::float8 as pause_s,
      coalesce(h.handled, 0) as handled, coalesce(m.missed, 0) as missed,
      coalesce(h.hold_s, 0)::float8 as hold_s, coalesce(h.holds, 0) as holds
    from times t
    full join handled h on h.agent_id = t.agent_id and h.bucket = t.bucket
    full join missed m on m.agent_id = coalesce(t.agent_id, h.agent_id) and m.bucket = coalesce(t.bucket, h.bucket)`;
}

/** Pause seconds by reason, per agent and bucket, in [from, to). */
export function rawPauseBuckets(from: Date, to: Date, now: Date) {
  return sql`
    select agent_id, bucket, to_reason as reason, sum(seconds)::float8 as seconds
    from (${stateSlices(from, to, now)}) s
    where to_state = 'paused' and to_reason is not null
    group by agent_id, bucket, to_reason`;
}

/**
 * The survey responses of every quarter in [from, to), by the quarter they
 * were offered in (docs/surveys.md): each response has at most one CSAT and
 * one NPS answer (document.ts, measureOf), so the joins do not repeat rows.
 */
export function rawSurveyBuckets(from: Date, to: Date) {
  return sql`
    select r.survey_id, r.queue_id, r.agent_id, ${bin(sql`r.offered_at`)} as bucket,
      count(*)::int as offered,
      count(r.completed_at)::int as completed,
      (count(*) filter (where exists (select 1 from survey_answers x where x.response_id = r.id)))::int as answered,
      count(c.value)::int as csat_answers,
      (count(*) filter (where c.value >= 4))::int as csat_positive,
      count(n.value)::int as nps_answers,
      (count(*) filter (where n.value >= 9))::int as promoters,
      (count(*) filter (where n.value <= 6))::int as detractors,
      count(r.comment_recording_id)::int as comments
    from survey_responses r
    left join survey_answers c on c.response_id = r.id and c.measure = 'csat'
    left join survey_answers n on n.response_id = r.id and n.measure = 'nps'
    where r.offered_at >= ${from} and r.offered_at < ${to}
    group by 1, 2, 3, 4`;
}

/** Each question's answers per quarter of the offer in [from, to). */
export function rawSurveyQuestionBuckets(from: Date, to: Date) {
  return sql`
    select r.survey_id, r.queue_id, r.agent_id, ${bin(sql`r.offered_at`)} as bucket, a.position, a.question, a.scale,
      count(*)::int as answers, sum(a.value)::bigint as value_sum
    from survey_responses r join survey_answers a on a.response_id = r.id
    where r.offered_at >= ${from} and r.offered_at < ${to}
    group by 1, 2, 3, 4, 5, 6, 7`;
}

export interface Range { from: Date; to: Date }

/**
 * The quarters whose figures change with no write, as time passes: those of
 * callers still waiting (their wait may pass the threshold) and those of
 * entries whose agent is still in wrap-up for their call.
 */
export const stillChanging = sql`
  select ${bin(sql`entered_at`)} as bucket from queue_entries where left_at is null and answered_at is null
  union
  select ${bin(sql`e.entered_at`)} from agents a
  cross join lateral (select x.to_state, x.call_id from agent_state_events x where x.agent_id = a.id order by x.at desc, x.id desc limit 1) l
  join queue_entries e on e.call_id = l.call_id and e.answered_by = a.id
  where l.to_state = 'wrap_up'`;

/** Whole buckets, sorted, with overlapping or touching ranges made one. */
export function mergeRanges(ranges: Range[]): Range[] {
  const whole = ranges.map((r) => ({ from: floorBucket(r.from), to: ceilBucket(r.to) }))
    .filter((r) => r.to > r.from).sort((a, b) => a.from.getTime() - b.from.getTime());
  const merged: Range[] = [];
  for (const r of whole) {
    const last = merged.at(-1);
    if (last && r.from <= last.to) last.to = r.to > last.to ? r.to : last.to;
    else merged.push({ ...r });
  }
  return merged;
}

/**
 * The first quarter whose raw events are whole, after the event retention
 * deleted those up to `purgedBefore` (migration 017): the quarter after the
 * one holding that moment. Undefined: every quarter's are.
 */
export const firstWholeBucket = (purgedBefore: Date | undefined): Date | undefined =>
  purgedBefore && new Date(floorBucket(purgedBefore).getTime() + bucketMs);

/** The parts of the ranges from `first` on (all of them when undefined). */
export function rangesFrom(ranges: Range[], first: Date | undefined): Range[] {
  if (!first) return ranges;
  return ranges.filter((r) => r.to > first).map((r) => (r.from < first ? { from: first, to: r.to } : r));
}

/**
 * Replaces the rollups of the ranges (whole buckets) with figures computed
 * from the raw events, in one transaction: readers see the old or the new
 * numbers, never a mix. With `dirty`, the stretches that writes recorded in
 * `report_dirty` since the last rebuild (migration 016) are rebuilt too and
 * forgotten in the same transaction (a failed rebuild keeps them), and so
 * are the quarters that change with no write (`stillChanging`).
 * Nothing up to the event retention's watermark is rebuilt, whoever asks:
 * the raw events there are partly deleted, and the rollups are all that is
 * left (dirty stretches there are forgotten). Returns what was rebuilt.
 */
export async function rebuildRollups(db: Kysely<ReportsTables>, ranges: Range[], options: { shortAbandonSeconds: number; timezone: string; now?: Date; dirty?: boolean }): Promise<Range[]> {
  const now = options.now ?? new Date();
  return db.transaction().execute(async (tx) => {
    // First, and locked until commit: a purge batch committing during this rebuild waits to move it.
    const first = firstWholeBucket(await eventsPurgedBefore(tx, { lock: true }));
    const dirty = options.dirty
      ? (await sql<{ from_at: Date; to_at: Date }>`delete from report_dirty returning from_at, to_at`.execute(tx)).rows.map((r) => ({ from: r.from_at, to: new Date(r.to_at.getTime() + 1) })) // to_at is a moment that changed: its bucket included
      : [];
    const open = options.dirty
      ? (await sql<{ bucket: Date }>`${stillChanging}`.execute(tx)).rows.map((r) => ({ from: r.bucket, to: new Date(r.bucket.getTime() + bucketMs) }))
      : [];
    const merged = rangesFrom(mergeRanges([...ranges, ...dirty, ...open]), first);
    for (const { from, to } of merged) {
      await sql`delete from report_queue_15m where bucket >= ${from} and bucket < ${to}`.execute(tx);
      await sql`delete from report_agent_15m where bucket >= ${from} and bucket < ${to}`.execute(tx);
      await sql`delete from report_agent_pause_15m where bucket >= ${from} and bucket < ${to}`.execute(tx);
      await sql`insert into report_queue_15m (queue_id, bucket, offered, answered, abandoned, short_abandoned, answered_within_sl, waiting_within_sl, waits, wait_sum, wait_max,
        answered_wait_sum, handled, talk_sum, wrap_sum, callbacks, transfers, overflows, hold_sum, holds) ${rawQueueBuckets(from, to, options.shortAbandonSeconds, now)}`.execute(tx);
      await sql`insert into report_agent_15m (agent_id, bucket, login_s, available_s, ringing_s, talk_s, wrap_s, pause_s, handled, missed, hold_s, holds)
        ${rawAgentBuckets(from, to, now)}`.execute(tx);
      await sql`insert into report_agent_pause_15m (agent_id, bucket, reason, seconds) ${rawPauseBuckets(from, to, now)}`.execute(tx);
      await sql`delete from report_survey_15m where bucket >= ${from} and bucket < ${to}`.execute(tx);
      await sql`delete from report_survey_question_15m where bucket >= ${from} and bucket < ${to}`.execute(tx);
      await sql`insert into report_survey_15m (survey_id, queue_id, agent_id, bucket, offered, completed, answered, csat_answers, csat_positive, nps_answers, promoters, detractors, comments)
        ${rawSurveyBuckets(from, to)}`.execute(tx);
      await sql`insert into report_survey_question_15m (survey_id, queue_id, agent_id, bucket, position, question, scale, answers, value_sum)
        ${rawSurveyQuestionBuckets(from, to)}`.execute(tx);
      await rebuildDays(tx, from, to, options.timezone);
    }
    return merged;
  });
}

const queueSums = sql`sum(offered), sum(answered), sum(abandoned), sum(short_abandoned), sum(answered_within_sl), sum(waiting_within_sl), sum(waits), sum(wait_sum), max(wait_max),
  sum(answered_wait_sum), sum(handled), sum(talk_sum), sum(wrap_sum), sum(callbacks), sum(transfers), sum(overflows), sum(hold_sum), sum(holds)`;
const agentSums = sql`sum(login_s), sum(available_s), sum(ringing_s), sum(talk_s), sum(wrap_s), sum(pause_s), sum(handled), sum(missed), sum(hold_s), sum(holds)`;

/** The local days (in `timezone`) that [from, to) touches, made again from their quarter hours. */
export async function rebuildDays(tx: Kysely<ReportsTables>, from: Date, to: Date, timezone: string): Promise<void> {
  const range = await sql<{ first: string; last: string; start: Date; stop: Date }>`
    select (${from}::timestamptz at time zone ${timezone})::date::text as first, ((${to}::timestamptz - interval '1 microsecond') at time zone ${timezone})::date::text as last,
      ((${from}::timestamptz at time zone ${timezone})::date::timestamp at time zone ${timezone}) as start,
      ((((${to}::timestamptz - interval '1 microsecond') at time zone ${timezone})::date + 1)::timestamp at time zone ${timezone}) as stop`.execute(tx);
  const { first, last, start, stop } = range.rows[0]!;
  const day = sql`(bucket at time zone ${timezone})::date`;
  for (const table of ['report_queue_day', 'report_agent_day', 'report_agent_pause_day']) {
    await sql`delete from ${sql.table(table)} where day between ${first}::date and ${last}::date`.execute(tx);
  }
  await sql`insert into report_queue_day (queue_id, day, offered, answered, abandoned, short_abandoned, answered_within_sl, waiting_within_sl, waits, wait_sum, wait_max,
      answered_wait_sum, handled, talk_sum, wrap_sum, callbacks, transfers, overflows, hold_sum, holds)
    select queue_id, ${day}, ${queueSums} from report_queue_15m where bucket >= ${start} and bucket < ${stop} group by 1, 2`.execute(tx);
  await sql`insert into report_agent_day (agent_id, day, login_s, available_s, ringing_s, talk_s, wrap_s, pause_s, handled, missed, hold_s, holds)
    select agent_id, ${day}, ${agentSums} from report_agent_15m where bucket >= ${start} and bucket < ${stop} group by 1, 2`.execute(tx);
  await sql`insert into report_agent_pause_day (agent_id, day, reason, seconds)
    select agent_id, ${day}, reason, sum(seconds) from report_agent_pause_15m where bucket >= ${start} and bucket < ${stop} group by 1, 2, 3`.execute(tx);
  await sql`insert into report_rollup_state (id, rolled_up_to, updated_at, day_timezone) values (true, 'epoch', now(), ${timezone})
    on conflict (id) do update set day_timezone = excluded.day_timezone`.execute(tx);
}
