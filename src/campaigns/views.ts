import type { AmdPolicy, CallOutcome, CampaignMode, CampaignState, ContactState, DispositionActions, Hours, RetryRules } from './rules.js';
import type { AttemptRow, CampaignRow, ContactRow, DncRow, ListRow, StateCounts } from './store.js';

/** What the API shows of the campaigns' rows (camelCase, ISO times). */

export interface CampaignView {
  id: string; name: string; queueId: string; callerId: string; mode: CampaignMode; state: CampaignState; hours: Hours;
  defaultRegion: string; defaultTimezone: string; amd: AmdPolicy; abandonCapPercent: number; abandonPrompt: string | null; maxRatio: number;
  retry: RetryRules; dispositionActions: DispositionActions; createdAt: string; updatedAt: string;
}
/**
 * A campaign's (or a list's) contacts: by state; attempted (called at
 * least once); completed (done, dnc or failed: never called again);
 * remaining (pending, retry, callback, in progress); penetration, the
 * share attempted, in %.
 */
export interface ListStates {
  total: number; byState: Record<ContactState, number>; attempted: number; completed: number; remaining: number; penetration: number;
}
export interface ListView { id: string; campaignId: string; name: string; importedAt: string; importedBy: string | null; contactCount: number; dncCount: number; timezones: string[] }
export interface ContactView {
  id: string; campaignId: string; listId: string; line: number; number: string; rawNumber: string; name: string | null; timezone: string;
  fields: Record<string, string>; state: ContactState; attempts: number; nextAttemptAt: string | null; lastOutcome: CallOutcome | null;
  lastAttemptAt: string | null; callbackAgentId: string | null;
}
export interface AttemptView {
  id: string; callId: string | null; number: string; startedAt: string; answeredAt: string | null; endedAt: string | null;
  outcome: CallOutcome | null; agentId: string | null; disposition: string | null;
}
export interface DncView { number: string; campaignId: string | null; reason: string | null; source: string; addedBy: string | null; addedAt: string }

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

export const campaignView = (r: CampaignRow): CampaignView => ({
  id: r.id, name: r.name, queueId: r.queue_id, callerId: r.caller_id, mode: r.mode, state: r.state, hours: r.hours,
  defaultRegion: r.default_region, defaultTimezone: r.default_timezone, amd: r.amd, abandonCapPercent: Number(r.abandon_cap_percent),
  abandonPrompt: r.abandon_prompt, maxRatio: Number(r.max_ratio), retry: r.retry, dispositionActions: r.disposition_actions,
  createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
});

export function statesOf(counts: StateCounts): ListStates {
  const s = counts.byState;
  const total = Object.values(s).reduce((sum, n) => sum + n, 0);
  return {
    total, byState: s, attempted: counts.attempted,
    completed: s.done + s.dnc + s.failed, remaining: s.pending + s.retry + s.callback + s.in_progress,
    penetration: total === 0 ? 0 : Math.round((1000 * counts.attempted) / total) / 10,
  };
}

export const listView = (l: ListRow): ListView => ({
  id: l.id, campaignId: l.campaign_id, name: l.name, importedAt: l.imported_at.toISOString(), importedBy: l.imported_by,
  contactCount: l.contacts, dncCount: l.dnc_contacts, timezones: l.timezones,
});

export const contactView = (c: ContactRow): ContactView => ({
  id: c.id, campaignId: c.campaign_id, listId: c.list_id, line: c.line, number: c.number_e164, rawNumber: c.raw_number, name: c.name,
  timezone: c.timezone, fields: c.fields, state: c.state, attempts: c.attempts, nextAttemptAt: iso(c.next_attempt_at), lastOutcome: c.last_outcome,
  lastAttemptAt: iso(c.last_attempt_at), callbackAgentId: c.callback_agent_id,
});

export const attemptView = (a: AttemptRow): AttemptView => ({
  id: a.id, callId: a.call_id, number: a.number_e164, startedAt: a.started_at.toISOString(), answeredAt: iso(a.answered_at),
  endedAt: iso(a.ended_at), outcome: a.outcome, agentId: a.agent_id, disposition: a.disposition,
});

export const dncView = (d: DncRow): DncView => ({
  number: d.number_e164, campaignId: d.campaign_id, reason: d.reason, source: d.source, addedBy: d.added_by, addedAt: d.added_at.toISOString(),
});
