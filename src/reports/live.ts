import type { AgentsService } from '../agents/service.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { QueuesService } from '../queues/service.js';
import type { Thresholds } from '../queues/store.js';
import type { ReportsService } from './service.js';

export interface LiveQueue {
  queueId: string; name: string; waiting: number; longestWaitSeconds: number | null;
  agents: Record<'available' | 'ringing' | 'on_call' | 'wrap_up' | 'paused' | 'logged_out', number>;
  today: {
    offered: number; answered: number; abandoned: number; serviceLevel: number | null; serviceLevelSeconds: number;
    /** % of 4-5 on the post-call survey's CSAT question today (null: no answer yet), and how many answered it. */
    csat: number | null; csatAnswers: number;
  };
  /** The queue's amber and red limits, for the wallboard's colours. */
  thresholds: Thresholds;
}
export interface LiveAgent { agentId: string; name: string; team: string | null; status: string; reason: string | null; since: string | null; secondsInState: number | null }
export interface LiveCall { callId: string; callerNumber: string; queueId: string; queue: string; agentId: string; agent: string; enteredAt: string; answeredAt: string | null; secondsConnected: number | null;
  /** On hold since (null when not), and for how long. */
  holdSince: string | null; secondsOnHold: number | null;
}
export interface LiveStats { at: string; timezone: string; queues: LiveQueue[]; agents: LiveAgent[]; calls: LiveCall[] }

/** What the wallboard needs from the queues and calls besides the figures. */
export interface LiveSources {
  queues: QueuesService;
  agents: AgentsService;
  reports: ReportsService;
  /** Queue calls with an agent now. */
  connected: () => { callId: string; queueId: string; agentId: string; enteredAt: string; holdSince: string | null }[];
  callerNumber: (callId: string) => string | undefined;
}

declare module '../core/events.js' {
  interface DomainEvents {
    /** The wallboard figures, at most every 2 s while anything changes. */
    'stats.live': LiveStats;
  }
}

/** Figures for the wallboard now: queues (waiting, agents by state, today) and agents (state, time in it). */
export async function liveStats({ queues, agents, reports, connected, callerNumber }: LiveSources, now = new Date()): Promise<LiveStats> {
  const [list, people, today, csat] = await Promise.all([queues.list(), agents.listAgents(false), reports.today(now), reports.csatToday(now)]);
  const secondsSince = (since: string | null): number | null => (since ? Math.max(0, Math.round((now.getTime() - Date.parse(since)) / 100) / 10) : null);
  const liveQueues = await Promise.all(list.map(async (q): Promise<LiveQueue> => {
    const live = await queues.live(q.id);
    const byState = { available: 0, ringing: 0, on_call: 0, wrap_up: 0, paused: 0, logged_out: 0 };
    for (const a of live.agents) byState[a.status as keyof typeof byState] += 1;
    const figures = today.get(q.id);
    return {
      queueId: q.id, name: q.name, waiting: live.waiting.length,
      longestWaitSeconds: live.waiting.length ? Math.max(...live.waiting.map((w) => w.waitSeconds)) : null,
      agents: byState,
      today: {
        offered: figures?.offered ?? 0, answered: figures?.answered ?? 0, abandoned: figures?.abandoned ?? 0,
        serviceLevel: figures?.serviceLevel ?? null, serviceLevelSeconds: q.serviceLevelSeconds,
        csat: csat.get(q.id)?.csat ?? null, csatAnswers: csat.get(q.id)?.csatAnswers ?? 0,
      },
      thresholds: q.thresholds,
    };
  }));
  const queueNames = new Map(list.map((q) => [q.id, q.name]));
  const agentNames = new Map(people.map((a) => [a.id, a.name]));
  const calls = connected().map((c): LiveCall => {
    const state = agents.stateOf(c.agentId);
    const answeredAt = state.status === 'on_call' && state.callId === c.callId ? state.since : null;
    return {
      callId: c.callId, callerNumber: callerNumber(c.callId) ?? '', queueId: c.queueId, queue: queueNames.get(c.queueId) ?? '',
      agentId: c.agentId, agent: agentNames.get(c.agentId) ?? '', enteredAt: c.enteredAt, answeredAt, secondsConnected: secondsSince(answeredAt),
      holdSince: c.holdSince, secondsOnHold: secondsSince(c.holdSince),
    };
  });
  return {
    at: now.toISOString(),
    timezone: reports.timezone,
    queues: liveQueues,
    calls,
    agents: people.map((a) => {
      const s = agents.stateOf(a.id);
      return { agentId: a.id, name: a.name, team: a.team, status: s.status, reason: s.reason, since: s.since, secondsInState: secondsSince(s.since) };
    }),
  };
}

/**
 * Pushes `stats.live` on the bus (and so on /api/v1/events) every `everyMs`
 * while agents or queues change or callers wait (`changing`), and once more
 * after the last change; nothing while all is quiet.
 */
export function pushLiveStats(bus: EventBus, compute: () => Promise<LiveStats>, logger: Logger, changing: () => boolean = () => false, everyMs = 2000): () => void {
  let dirty = false;
  let running = false;
  let failing = false;
  const markDirty = (): void => { dirty = true; };
  const offAgents = bus.on('agent.state', markDirty);
  const offQueues = bus.on('queue.entry', markDirty);
  const offCalls = bus.on('queue.call', markDirty);
  const timer = setInterval(() => {
    // Callers waiting: their waits grow, so the figures change by themselves.
    if (changing()) dirty = true;
    if (!dirty || running) return;
    dirty = false;
    running = true;
    compute().then((stats) => {
      failing = false;
      bus.emit('stats.live', stats);
    }, (err: unknown) => {
      // Once per failure spell (a database outage would say it every 2 s).
      if (!failing) logger.warn({ err }, 'live figures not computed');
      failing = true;
    }).finally(() => { running = false; });
  }, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    offAgents();
    offQueues();
    offCalls();
  };
}
