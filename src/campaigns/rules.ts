import { localTime, weekdays, type Weekday } from '../core/time-zone.js';

/**
 * The campaigns' rules, pure (test/unit/campaign-rules.test.ts): what a
 * contact becomes after a call or a wrap-up code, and whether a moment is
 * within a campaign's calling hours in a time zone. docs/campaigns.md
 * says the same in prose.
 */

export const campaignModes = ['preview', 'progressive', 'predictive'] as const;
export type CampaignMode = (typeof campaignModes)[number];
export const campaignStates = ['draft', 'running', 'paused', 'finished'] as const;
export type CampaignState = (typeof campaignStates)[number];
export const contactStates = ['pending', 'in_progress', 'retry', 'callback', 'done', 'dnc', 'failed'] as const;
export type ContactState = (typeof contactStates)[number];
/** How a dial ended. `failed`: the network refused it (congestion, an unallocated number…). */
export const callOutcomes = ['answered', 'busy', 'no_answer', 'machine', 'abandoned', 'failed'] as const;
export type CallOutcome = (typeof callOutcomes)[number];
export const retryOutcomes = ['busy', 'no_answer', 'machine', 'abandoned', 'failed'] as const;
export type RetryOutcome = (typeof retryOutcomes)[number];
export const amdActions = ['hangup', 'message', 'agent'] as const;
export const dispositionActionNames = ['done', 'retry', 'callback', 'dnc'] as const;

/** Calling windows per weekday, "HH:MM-HH:MM" (start included, end not; 24:00 ends the day), in the contact's time zone. */
export type Hours = Partial<Record<Weekday, string[]>>;
export interface RetryRule { maxAttempts: number; delayMinutes: number }
export type RetryRules = Partial<Record<RetryOutcome, RetryRule>>;
export type DispositionAction =
  | { action: 'done' }
  /** Call again after delayMinutes, while the contact has had fewer than maxAttempts (default 3) calls. */
  | { action: 'retry'; delayMinutes: number; maxAttempts?: number }
  /** Call back at the moment the agent gave, else after delayMinutes (default a day); sameAgent: the agent who set it takes it. */
  | { action: 'callback'; delayMinutes?: number; sameAgent?: boolean }
  /** Never again: the number goes on the campaign's do-not-call list (or the global one). */
  | { action: 'dnc'; global?: boolean };
/** A queue wrap-up code → what it does to the contact; a code not named is `done`. */
export type DispositionActions = Record<string, DispositionAction>;
/** An answering machine: hang up, leave the prompt after the beep, or put it through to an agent as a person. */
export interface AmdPolicy { action: (typeof amdActions)[number]; messagePrompt?: string }

export const defaultRetryMaxAttempts = 3;
export const defaultCallbackMinutes = 24 * 60;

/** Where a contact stands (the columns nextContactState reads). */
export interface ContactProgress { state: ContactState; attempts: number; callbackAgentId: string | null }

/**
 * What happened: a dial that ended (it counts as an attempt; an answered
 * one may carry the wrap-up code set during it), or a wrap-up code set
 * after the attempt was counted (no new attempt).
 */
export type AttemptResult =
  | { outcome: CallOutcome; disposition?: string | null; callbackAt?: Date | null; agentId?: string | null }
  | { disposition: string; callbackAt?: Date | null; agentId?: string | null };

/** The contact's new columns, and the do-not-call list its number goes on (if any). */
export interface ContactChange {
  state: ContactState;
  attempts: number;
  nextAttemptAt: Date | null;
  callbackAgentId: string | null;
  /** Set when the result was a dial (not a later wrap-up code). */
  lastOutcome?: CallOutcome;
  lastAttemptAt?: Date;
  dnc: 'campaign' | 'global' | null;
}

const minutesAfter = (now: Date, minutes: number): Date => new Date(now.getTime() + minutes * 60_000);

/**
 * A contact's next state after a dial or a wrap-up code:
 * - unanswered (busy, no_answer, machine, abandoned, failed): the outcome's
 *   retry rule; `retry` after its delay while the contact's calls (all
 *   outcomes counted, this one included) are fewer than its maxAttempts,
 *   else `failed`; an outcome without a rule is `failed` at once. A
 *   callback's agent is kept for the retry.
 * - answered: the wrap-up code's action (done, retry, callback, dnc); no
 *   code, or a code the campaign does not name: `done`.
 */
export function nextContactState(
  contact: ContactProgress,
  result: AttemptResult,
  campaign: { retry: RetryRules; dispositionActions: DispositionActions },
  now: Date,
): ContactChange {
  const dialled = 'outcome' in result;
  const attempts = dialled ? contact.attempts + 1 : contact.attempts;
  const counted = dialled ? { lastOutcome: result.outcome, lastAttemptAt: now } : {};
  const end = (state: 'done' | 'failed'): ContactChange => ({ state, attempts, nextAttemptAt: null, callbackAgentId: null, dnc: null, ...counted });

  if (dialled && result.outcome !== 'answered') {
    const rule = campaign.retry[result.outcome];
    if (!rule || attempts >= rule.maxAttempts) return end('failed');
    return { state: 'retry', attempts, nextAttemptAt: minutesAfter(now, rule.delayMinutes), callbackAgentId: contact.callbackAgentId, dnc: null, ...counted };
  }
  const code = result.disposition ?? null;
  const action = code === null ? undefined : campaign.dispositionActions[code];
  switch (action?.action) {
    case undefined:
    case 'done':
      return end('done');
    case 'retry':
      if (attempts >= (action.maxAttempts ?? defaultRetryMaxAttempts)) return end('failed');
      return { state: 'retry', attempts, nextAttemptAt: minutesAfter(now, action.delayMinutes), callbackAgentId: null, dnc: null, ...counted };
    case 'callback': {
      const at = result.callbackAt ?? minutesAfter(now, action.delayMinutes ?? defaultCallbackMinutes);
      return {
        state: 'callback', attempts, nextAttemptAt: at < now ? now : at,
        callbackAgentId: action.sameAgent ? result.agentId ?? null : null, dnc: null, ...counted,
      };
    }
    case 'dnc':
      return { state: 'dnc', attempts, nextAttemptAt: null, callbackAgentId: null, dnc: action.global ? 'global' : 'campaign', ...counted };
  }
}

const windowPattern = /^((?:[01][0-9]|2[0-3]):[0-5][0-9])-((?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/;

/** "09:00-21:00" → its start and end, or undefined when it is not a window that ends after it starts. */
export function parseWindow(window: string): { from: string; to: string } | undefined {
  const m = windowPattern.exec(window);
  return m && m[1]! < m[2]! ? { from: m[1]!, to: m[2]! } : undefined;
}

/** What is wrong with calling hours, each problem naming its day (none: fine). */
export function hoursProblems(hours: Hours, at = 'hours'): string[] {
  const problems: string[] = [];
  for (const [day, windows] of Object.entries(hours)) {
    if (!(weekdays as readonly string[]).includes(day)) problems.push(`${at}/${day} is not a weekday (mon..sun)`);
    for (const window of windows ?? []) {
      if (!parseWindow(window)) problems.push(`${at}/${day}: ${JSON.stringify(window)} is not a window HH:MM-HH:MM that ends after it starts (24:00 ends the day)`);
    }
  }
  return problems;
}

/** Whether `now` falls within the hours in a time zone (its own weekday and wall clock there, daylight saving included). */
export function withinHours(hours: Hours, timeZone: string, now: Date): boolean {
  const local = localTime(now, timeZone);
  return (hours[local.weekday] ?? []).some((window) => {
    const w = parseWindow(window);
    return w !== undefined && local.time >= w.from && local.time < w.to;
  });
}

/** Which campaign state a command leads to from each state (start resumes a paused campaign); absent: 409. */
export const transitions: Record<'start' | 'pause' | 'finish', Partial<Record<CampaignState, CampaignState>>> = {
  start: { draft: 'running', paused: 'running' },
  pause: { running: 'paused' },
  finish: { draft: 'finished', running: 'finished', paused: 'finished' },
};
