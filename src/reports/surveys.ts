import { sql, type Kysely, type RawBuilder } from 'kysely';
import { toCsv } from '../core/csv.js';
import type { ReportsTables, SurveyQuestionSums, SurveySums } from './tables.js';

/**
 * The survey report (docs/surveys.md): responses offered, completed and
 * answered, response rate, CSAT, NPS and each question's average, by queue,
 * agent, team or survey and period, from the survey rollups (or the raw
 * responses: the same figures).
 */

export const surveyGroups = ['queue', 'agent', 'team', 'survey'] as const;
export type SurveyGroup = (typeof surveyGroups)[number];

export interface SurveyFigures {
  offered: number; completed: number;
  /** Responses with at least one answer. */
  answered: number;
  /** completed ÷ offered, %; null when none was offered. */
  responseRate: number | null;
  /** % of 4 and 5 on the survey's first 1-5 question; null without such answers. */
  csat: number | null; csatAnswers: number;
  /** % of 9-10 minus % of 0-6 on the first 0-10 question; null without such answers. */
  nps: number | null; npsAnswers: number;
  comments: number;
}
export interface SurveyQuestionFigures { surveyId: string; position: number; question: string; scale: string; answers: number; average: number }
export interface SurveyReportRow extends SurveyFigures {
  period: string | null;
  /** The queue, agent or survey id, or the team's name (null: calls with none). */
  key: string | null; name: string | null;
  questions: SurveyQuestionFigures[];
}

const pct = (part: number, whole: number): number | null => (whole > 0 ? Math.round((1000 * part) / whole) / 10 : null);

export function surveyFigures(s: Omit<SurveySums, 'survey_id' | 'queue_id' | 'agent_id'>): SurveyFigures {
  return {
    offered: s.offered, completed: s.completed, answered: s.answered, responseRate: pct(s.completed, s.offered),
    csat: pct(s.csat_positive, s.csat_answers), csatAnswers: s.csat_answers,
    nps: s.nps_answers > 0 ? Math.round((1000 * (s.promoters - s.detractors)) / s.nps_answers) / 10 : null, npsAnswers: s.nps_answers,
    comments: s.comments,
  };
}

export interface SurveyQuery {
  interval: string; timezone: string; by: SurveyGroup;
  surveyId?: string; queueIds?: string[]; agentIds?: string[]; team?: string;
}

/** `responses` and `questions`: selects of the rollup tables' columns over the range (rollup or raw). */
export async function surveyReport(db: Kysely<ReportsTables>, responses: RawBuilder<unknown>, questions: RawBuilder<unknown>, query: SurveyQuery): Promise<{ rows: SurveyReportRow[]; totals: SurveyReportRow[] }> {
  const key = { queue: sql`b.queue_id::text`, agent: sql`b.agent_id::text`, team: sql`a.team`, survey: sql`b.survey_id::text` }[query.by];
  const name = { queue: sql`q.name`, agent: sql`a.name`, team: sql`a.team`, survey: sql`s.name` }[query.by];
  const filter = sql`${query.surveyId ? sql`b.survey_id = ${query.surveyId}` : sql`true`}
    and ${query.queueIds?.length ? sql`b.queue_id in (${sql.join(query.queueIds)})` : sql`true`}
    and ${query.agentIds?.length ? sql`b.agent_id in (${sql.join(query.agentIds)})` : sql`true`}
    and ${query.team !== undefined ? sql`a.team = ${query.team}` : sql`true`}`;
  const joins = sql`left join queues q on q.id = b.queue_id left join agents a on a.id = b.agent_id left join surveys s on s.id = b.survey_id`;
  const run = async (byPeriod: boolean): Promise<SurveyReportRow[]> => {
    const period = byPeriod ? (query.interval === '15m' ? sql`b.bucket` : sql`date_trunc(${query.interval}, b.bucket, ${query.timezone})`) : sql`null::timestamptz`;
    const sums = await sql<Omit<SurveySums, 'survey_id' | 'queue_id' | 'agent_id'> & { key: string | null; name: string | null; period: Date | null }>`
      with b as (${responses})
      select ${key} as key, ${name} as name, ${period} as period,
        sum(offered)::int as offered, sum(completed)::int as completed, sum(answered)::int as answered,
        sum(csat_answers)::int as csat_answers, sum(csat_positive)::int as csat_positive, sum(nps_answers)::int as nps_answers,
        sum(promoters)::int as promoters, sum(detractors)::int as detractors, sum(comments)::int as comments
      from b ${joins}
      where ${filter}
      group by 1, 2, 3
      order by 3, 2, 1`.execute(db);
    const answers = await sql<Pick<SurveyQuestionSums, 'survey_id' | 'position' | 'question' | 'scale'> & { key: string | null; period: Date | null; answers: number; value_sum: number }>`
      with b as (${questions})
      select ${key} as key, ${period} as period, b.survey_id, b.position, b.question, b.scale, sum(answers)::int as answers, sum(value_sum)::float8 as value_sum
      from b ${joins}
      where ${filter}
      group by 1, 2, 3, 4, 5, 6
      order by 3, 4`.execute(db);
    const at = (k: string | null, p: Date | null) => `${k ?? ''}|${p?.toISOString() ?? ''}`;
    const byRow = new Map<string, SurveyQuestionFigures[]>();
    for (const a of answers.rows) {
      const list = byRow.get(at(a.key, a.period)) ?? [];
      list.push({ surveyId: a.survey_id, position: a.position, question: a.question, scale: a.scale, answers: a.answers, average: Math.round((100 * a.value_sum) / a.answers) / 100 });
      byRow.set(at(a.key, a.period), list);
    }
    return sums.rows.map((r) => ({
      period: r.period ? r.period.toISOString() : null, key: r.key, name: r.name, ...surveyFigures(r), questions: byRow.get(at(r.key, r.period)) ?? [],
    }));
  };
  return { rows: await run(true), totals: await run(false) };
}

const csvColumns = ['period', 'key', 'name', 'offered', 'completed', 'answered', 'responseRate', 'csat', 'csatAnswers', 'nps', 'npsAnswers', 'comments',
  'q1Average', 'q2Average', 'q3Average', 'q4Average', 'q5Average'] as const;

/** Fixed columns (docs/metrics.md, "CSV"); q1..q5: the average of each question by its position. */
export function surveyCsv(rows: SurveyReportRow[]): string {
  return toCsv(rows.map(({ questions, ...row }) => {
    const averages: Record<string, number> = {};
    for (let position = 1; position <= 5; position += 1) {
      const of = questions.filter((q) => q.position === position);
      const answers = of.reduce((n, q) => n + q.answers, 0);
      if (answers > 0) averages[`q${position}Average`] = Math.round((100 * of.reduce((sum, q) => sum + q.average * q.answers, 0)) / answers) / 100;
    }
    return { ...row, ...averages };
  }), csvColumns);
}
