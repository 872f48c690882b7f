import { sql, type Kysely } from 'kysely';
import { toCsv } from '../core/csv.js';
import type { Interval } from './figures.js';

/**
 * The campaigns' report (docs/campaigns.md, "Reports"), from the raw
 * campaign attempts, the outbound calls (talk) and the agents' state
 * changes (wrap-up, waiting): by campaign and period, what was dialled and
 * what came of it; for the whole range, each agent's share; and, as of
 * now, each campaign's abandon rate today and over 30 days (the cap's
 * windows) and how far into its list it is.
 */
export interface CampaignReportRow {
  period: string; campaignId: string; campaign: string;
  /** Dials started in the period. */
  attempts: number;
  /** Answered by anyone or anything (a person, a machine). */
  answered: number;
  /** Persons put through to an agent. */
  connects: number;
  machines: number; abandoned: number; busy: number; noAnswer: number; failed: number;
  /** connects / attempts, %. */
  contactRate: number | null;
  /** abandoned / (connects + abandoned): of the persons who answered, those no agent took within 2 s, %. */
  abandonRate: number | null;
  /** Seconds talking on the connects (outbound_calls.talk_seconds). */
  talkTime: number;
  /** The agents' wrap-up after the connects, seconds. */
  wrapUpTime: number;
  /** Wrap-up codes set on the connects: code → count (`unset`: none). */
  dispositions: Record<string, number>;
}

export interface CampaignAgentRow { campaignId: string; agentId: string; agent: string; connects: number; talkTime: number; wrapUpTime: number; waitTime: number }

export interface CampaignTotals {
  campaignId: string; campaign: string; attempts: number; connects: number; abandoned: number; abandonRate: number | null;
  /** As of now, in the report's time zone: today's rate and the rolling 30 days' (the pacing's cap windows). */
  abandonRateToday: number | null; abandonRate30Days: number | null;
  /** The list now: contacts, those dialled at least once, those finished (done, do-not-call, failed), those left. */
  penetration: { contacts: number; attempted: number; completed: number; remaining: number; attemptedPercent: number | null };
}

export interface CampaignReport { rows: CampaignReportRow[]; agents: CampaignAgentRow[]; totals: CampaignTotals[] }

export interface CampaignReportQuery { from: Date; to: Date; interval: Interval; timezone: string; campaignId?: string }

const percent = (part: number, whole: number): number | null => (whole > 0 ? Math.round((10000 * part) / whole) / 100 : null);
const rounded = (seconds: number): number => Math.round(seconds * 1000) / 1000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- reads the campaigns', outbound and agents' tables (the reports' exception, docs/architecture.md)
export async function campaignReport(db: Kysely<any>, q: CampaignReportQuery, now = new Date()): Promise<CampaignReport> {
  const period = q.interval === '15m'
    ? sql`date_bin('15 minutes', a.started_at, timestamptz '2000-01-01 00:00:00+00')`
    : sql`date_trunc(${q.interval}, a.started_at, ${q.timezone})`;
  const only = q.campaignId ? sql`a.campaign_id = ${q.campaignId}` : sql`true`;
  // The range's attempts with their period, and the agents' state changes around them: the
  // wrap-up that followed each connect (its length: until the agent's next change), and the
  // wait before it (the available time that ended with it).
  const attempts = sql`attempts as (
      select a.*, ${period} as period from campaign_attempts a
      where a.started_at >= ${q.from} and a.started_at < ${q.to} and ${only}
    ), changes as (
      select e.agent_id, e.call_id, e.to_state, lag(e.to_state) over w as before,
        extract(epoch from lead(e.at) over w - e.at) as lasted, extract(epoch from e.at - lag(e.at) over w) as waited
      from agent_state_events e
      where e.agent_id in (select agent_id from attempts where agent_id is not null)
        and e.at >= ${q.from}::timestamptz - interval '1 day' and e.at < ${q.to}::timestamptz + interval '1 day'
      -- by time, then id: a change replayed from the write journal has a later id than its time says (as rollup.ts)
      window w as (partition by e.agent_id order by e.at, e.id)
    ), per_call as (
      select c.call_id, coalesce(sum(c.lasted) filter (where c.to_state = 'wrap_up'), 0) as wrap,
        coalesce(sum(c.waited) filter (where c.to_state = 'on_call' and c.before = 'available'), 0) as wait
      from changes c where c.call_id in (select call_id from attempts where call_id is not null) group by c.call_id
    )`;
  const rows = await sql<{
    campaign_id: string; campaign: string; period: Date; attempts: number; answered: number; connects: number; machines: number; abandoned: number;
    busy: number; no_answer: number; failed: number; talk: number; wrap: number;
  }>`with ${attempts}
    select a.campaign_id, c.name as campaign, a.period, count(*)::int as attempts,
      count(*) filter (where a.answered_at is not null)::int as answered,
      count(*) filter (where a.agent_id is not null)::int as connects,
      count(*) filter (where a.outcome = 'machine')::int as machines,
      count(*) filter (where a.outcome = 'abandoned')::int as abandoned,
      count(*) filter (where a.outcome = 'busy')::int as busy,
      count(*) filter (where a.outcome = 'no_answer')::int as no_answer,
      count(*) filter (where a.outcome = 'failed')::int as failed,
      coalesce(sum(o.talk_seconds), 0)::float8 as talk, coalesce(sum(p.wrap), 0)::float8 as wrap
    from attempts a join campaigns c on c.id = a.campaign_id
      left join outbound_calls o on o.call_id = a.call_id left join per_call p on p.call_id = a.call_id
    group by a.campaign_id, c.name, a.period order by a.period, c.name`.execute(db);
  const codes = await sql<{ campaign_id: string; period: Date; code: string; count: number }>`with ${attempts}
    select a.campaign_id, a.period, coalesce(a.disposition, 'unset') as code, count(*)::int as count
    from attempts a where a.agent_id is not null group by 1, 2, 3 order by 3`.execute(db);
  const agents = await sql<{ campaign_id: string; agent_id: string; agent: string; connects: number; talk: number; wrap: number; wait: number }>`with ${attempts}
    select a.campaign_id, a.agent_id, g.name as agent, count(*)::int as connects, coalesce(sum(o.talk_seconds), 0)::float8 as talk,
      coalesce(sum(p.wrap), 0)::float8 as wrap, coalesce(sum(p.wait), 0)::float8 as wait
    from attempts a join agents g on g.id = a.agent_id
      left join outbound_calls o on o.call_id = a.call_id left join per_call p on p.call_id = a.call_id
    group by a.campaign_id, a.agent_id, g.name order by g.name`.execute(db);
  const totals = await sql<{
    campaign_id: string; campaign: string; attempts: number; connects: number; abandoned: number; today_connects: number; today_abandoned: number;
    month_connects: number; month_abandoned: number; contacts: number; attempted: number; completed: number;
  }>`select c.id as campaign_id, c.name as campaign,
      (select count(*)::int from campaign_attempts a where a.campaign_id = c.id and a.started_at >= ${q.from} and a.started_at < ${q.to}) as attempts,
      (select count(*)::int from campaign_attempts a where a.campaign_id = c.id and a.started_at >= ${q.from} and a.started_at < ${q.to} and a.agent_id is not null) as connects,
      (select count(*)::int from campaign_attempts a where a.campaign_id = c.id and a.started_at >= ${q.from} and a.started_at < ${q.to} and a.outcome = 'abandoned') as abandoned,
      (select count(*)::int from campaign_attempts a where a.campaign_id = c.id and a.started_at >= date_trunc('day', ${now}::timestamptz, ${q.timezone}) and a.agent_id is not null) as today_connects,
      (select count(*)::int from campaign_attempts a where a.campaign_id = c.id and a.started_at >= date_trunc('day', ${now}::timestamptz, ${q.timezone}) and a.outcome = 'abandoned') as today_abandoned,
      (select count(*)::int from campaign_attempts a where a.campaign_id = c.id and a.started_at >= ${now}::timestamptz - interval '30 days' and a.agent_id is not null) as month_connects,
      (select count(*)::int from campaign_attempts a where a.campaign_id = c.id and a.started_at >= ${now}::timestamptz - interval '30 days' and a.outcome = 'abandoned') as month_abandoned,
      (select count(*)::int from campaign_contacts k where k.campaign_id = c.id) as contacts,
      (select count(*)::int from campaign_contacts k where k.campaign_id = c.id and k.attempts > 0) as attempted,
      (select count(*)::int from campaign_contacts k where k.campaign_id = c.id and k.state in ('done', 'dnc', 'failed')) as completed
    from campaigns c
    where ${q.campaignId ? sql`c.id = ${q.campaignId}` : sql`exists (select 1 from campaign_attempts a where a.campaign_id = c.id and a.started_at >= ${q.from} and a.started_at < ${q.to})`}
    order by c.name`.execute(db);

  const key = (campaignId: string, at: Date) => `${campaignId} ${at.toISOString()}`;
  const byPeriod = new Map<string, Record<string, number>>();
  for (const c of codes.rows) {
    const k = key(c.campaign_id, c.period);
    byPeriod.set(k, { ...byPeriod.get(k), [c.code]: c.count });
  }
  return {
    rows: rows.rows.map((r) => ({
      period: r.period.toISOString(), campaignId: r.campaign_id, campaign: r.campaign,
      attempts: r.attempts, answered: r.answered, connects: r.connects, machines: r.machines, abandoned: r.abandoned, busy: r.busy, noAnswer: r.no_answer, failed: r.failed,
      contactRate: percent(r.connects, r.attempts), abandonRate: percent(r.abandoned, r.connects + r.abandoned),
      talkTime: rounded(r.talk), wrapUpTime: rounded(r.wrap), dispositions: byPeriod.get(key(r.campaign_id, r.period)) ?? {},
    })),
    agents: agents.rows.map((a) => ({
      campaignId: a.campaign_id, agentId: a.agent_id, agent: a.agent, connects: a.connects, talkTime: rounded(a.talk), wrapUpTime: rounded(a.wrap), waitTime: rounded(a.wait),
    })),
    totals: totals.rows.map((t) => ({
      campaignId: t.campaign_id, campaign: t.campaign, attempts: t.attempts, connects: t.connects, abandoned: t.abandoned,
      abandonRate: percent(t.abandoned, t.connects + t.abandoned),
      abandonRateToday: percent(t.today_abandoned, t.today_connects + t.today_abandoned),
      abandonRate30Days: percent(t.month_abandoned, t.month_connects + t.month_abandoned),
      penetration: { contacts: t.contacts, attempted: t.attempted, completed: t.completed, remaining: t.contacts - t.completed, attemptedPercent: percent(t.attempted, t.contacts) },
    })),
  };
}

const columns = [
  'period', 'campaignId', 'campaign', 'attempts', 'answered', 'connects', 'machines', 'abandoned', 'busy', 'noAnswer', 'failed',
  'contactRate', 'abandonRate', 'talkTime', 'wrapUpTime', 'dispositions',
] as const satisfies readonly (keyof CampaignReportRow)[];

/** The rows as CSV, fixed columns; the wrap-up codes in one cell, `code:count` separated by spaces, by code. */
export function campaignReportCsv(rows: readonly CampaignReportRow[]): string {
  return toCsv(rows.map((r) => ({
    ...r, dispositions: Object.entries(r.dispositions).sort(([a], [b]) => a.localeCompare(b)).map(([code, n]) => `${code}:${n}`).join(' '),
  })), columns);
}
