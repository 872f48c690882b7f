// The reports' own tables (migrations 011, 016, 017): rollups of the raw
// events by quarter hour and by local day, and their bookkeeping. The
// reports are the one read model over the other capabilities' event tables
// (queue_entries, queue_offers, agent_state_events, calls), which they read
// with raw SQL and never write (docs/architecture.md).

interface QueueSums {
  queue_id: string;
  offered: number;
  answered: number;
  abandoned: number;
  short_abandoned: number;
  answered_within_sl: number;
  waiting_within_sl: number;
  waits: number;
  wait_sum: number;
  wait_max: number | null;
  answered_wait_sum: number;
  handled: number;
  talk_sum: number;
  wrap_sum: number;
  callbacks: number;
  transfers: number;
  overflows: number;
  hold_sum: number;
  holds: number;
}

interface AgentSums {
  agent_id: string;
  login_s: number;
  available_s: number;
  ringing_s: number;
  talk_s: number;
  wrap_s: number;
  pause_s: number;
  handled: number;
  missed: number;
  hold_s: number;
  holds: number;
}

interface PauseSums { agent_id: string; reason: string; seconds: number }

/** A quarter's survey responses, by survey, queue and agent (migration 029). */
export interface SurveySums {
  survey_id: string; queue_id: string | null; agent_id: string | null;
  offered: number; completed: number; answered: number;
  csat_answers: number; csat_positive: number; nps_answers: number; promoters: number; detractors: number; comments: number;
}
/** A quarter's answers to one question of a survey, by queue and agent. */
export interface SurveyQuestionSums {
  survey_id: string; queue_id: string | null; agent_id: string | null; position: number; question: string; scale: string; answers: number; value_sum: number;
}

export interface ReportsTables {
  report_queue_15m: QueueSums & { bucket: Date };
  report_agent_15m: AgentSums & { bucket: Date };
  report_agent_pause_15m: PauseSums & { bucket: Date };
  report_queue_day: QueueSums & { day: Date };
  report_agent_day: AgentSums & { day: Date };
  report_agent_pause_day: PauseSums & { day: Date };
  report_survey_15m: SurveySums & { bucket: Date };
  report_survey_question_15m: SurveyQuestionSums & { bucket: Date };
  report_rollup_state: { id: boolean; rolled_up_to: Date; updated_at: Date; day_timezone: string | null };
  report_dirty: { id: string; from_at: Date; to_at: Date };
  report_events_purged: { id: boolean; purged_before: Date | null; updated_at: Date };
}
