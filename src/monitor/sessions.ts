import { randomUUID } from 'node:crypto';
import type { CallParties } from '../asterisk/registry.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { WriteOp, WriteQueue } from '../core/write-queue.js';
import type { EndReason, MonitorMode, MonitorStore, SegmentRow, SegmentSource, SessionRow, SessionStatus } from './store.js';

declare module '../core/events.js' {
  interface DomainEvents {
    /** A monitoring session changed: supervisors and admins only (the agent must not know). */
    'monitor.session': MonitorSessionView & { event: SessionEvent };
  }
}

export type SessionEvent = 'ringing' | 'started' | 'mode' | 'call' | 'ended';

export interface SegmentView { mode: MonitorMode; callId: string; source: SegmentSource; startedAt: string; endedAt: string | null }
export interface MonitorSessionView {
  id: string; supervisorId: string; agentId: string; callId: string; currentCallId: string | null; extension: string;
  source: 'api' | 'phone'; follow: boolean; status: SessionStatus; mode: MonitorMode;
  createdAt: string; answeredAt: string | null; endedAt: string | null; endReason: EndReason | null;
  segments: SegmentView[];
}

export interface Segment { id: string; mode: MonitorMode; callId: string; source: SegmentSource; startedAt: Date; endedAt: Date | null }

export interface Session {
  id: string;
  supervisorId: string;
  agentId: string;
  firstCallId: string;
  extension: string;
  source: 'api' | 'phone';
  follow: boolean;
  mode: MonitorMode;
  status: SessionStatus;
  createdAt: Date;
  answeredAt: Date | null;
  endedAt: Date | null;
  endReason: EndReason | null;
  /** The supervisor's channel: a leg we rang (API) or the phone's own call (feature code). */
  channelId: string;
  /** The call being monitored now (from the call registry); undefined between calls (following) or after it ended. */
  call: CallParties | undefined;
  /** Which bridge the supervisor's channel is in. */
  where: 'none' | 'monitor' | 'call';
  monitorBridgeId: string | undefined;
  snoopId: string | undefined;
  snoops: number;
  segments: Segment[];
  dialStatus: string | undefined;
  /** Operations on a session run one after another (keys, API calls, call events); the first waits for the session's row. */
  ops: Promise<void>;
  open: () => void;
  ended: Promise<void>;
  resolveEnded: () => void;
}

export type NewSession = Pick<Session, 'supervisorId' | 'agentId' | 'extension' | 'source' | 'follow' | 'mode' | 'channelId'>;

/**
 * The live monitoring sessions and their audit: each session and each
 * mode's stretch (segment) is written as it happens, through the write
 * queue, and told on the bus (supervisors' and admins' live feed).
 */
export class Sessions {
  private readonly byId = new Map<string, Session>();
  private readonly byChannel = new Map<string, string>();

  constructor(private readonly store: MonitorStore, private readonly writes: WriteQueue, private readonly bus: EventBus, private readonly logger: Logger) {}

  create(init: NewSession, start: Pick<Session, 'call'> & Partial<Pick<Session, 'id' | 'firstCallId' | 'createdAt'>>): Session {
    let resolveEnded!: () => void;
    const ended = new Promise<void>((resolve) => { resolveEnded = resolve; });
    let open!: () => void;
    const ops = new Promise<void>((resolve) => { open = resolve; });
    const session: Session = {
      ...init, call: start.call, id: start.id ?? randomUUID(), firstCallId: start.firstCallId ?? start.call!.callId,
      status: 'ringing', createdAt: start.createdAt ?? new Date(), answeredAt: null, endedAt: null, endReason: null,
      where: 'none', monitorBridgeId: undefined, snoopId: undefined, snoops: 0, segments: [], dialStatus: undefined,
      ops, open, ended, resolveEnded,
    };
    this.byId.set(session.id, session);
    this.byChannel.set(session.channelId, session.id);
    return session;
  }

  forget(session: Session): void {
    this.byId.delete(session.id);
    this.byChannel.delete(session.channelId);
  }

  get(id: string): Session | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  all(): Session[] {
    return [...this.byId.values()];
  }

  /** The session whose supervisor channel this is. */
  ofChannel(channelId: string): Session | undefined {
    return this.byId.get(this.byChannel.get(channelId) ?? '');
  }

  /** Runs `work` after the session's earlier operations; errors are logged, never thrown to the event loop. */
  run(session: Session, work: () => Promise<void>): Promise<void> {
    const next = session.ops.then(work).catch((err: unknown) => {
      this.logger.error({ err, sessionId: session.id }, 'monitoring operation failed');
    });
    session.ops = next;
    return next;
  }

  // ---- the audit ----

  insert(session: Session, role: 'admin' | 'supervisor' | 'phone', tokenId: string | null): void {
    const row = {
      id: session.id, supervisor_id: session.supervisorId, agent_id: session.agentId, call_id: session.firstCallId, extension: session.extension,
      source: session.source, requested_by_token: tokenId, requested_by_role: role, follow: session.follow, supervisor_channel_id: session.channelId,
      status: session.status, created_at: session.createdAt, answered_at: session.answeredAt, ended_at: null, end_reason: null, ended_by_token: null,
    };
    this.write(session, 'started', this.store.insertSession(row));
  }

  answered(session: Session): void {
    const answeredAt = session.answeredAt!;
    this.write(session, 'answered', this.store.updateSession(session.id, { status: 'active', answered_at: answeredAt }));
  }

  ended(session: Session, reason: EndReason, endedByToken: string | null): void {
    const endedAt = session.endedAt!;
    this.write(session, 'ended', this.store.updateSession(session.id, { status: 'ended', ended_at: endedAt, end_reason: reason, ended_by_token: endedByToken }));
  }

  startSegment(session: Session, mode: MonitorMode, callId: string, source: SegmentSource): void {
    this.endSegment(session);
    const segment: Segment = { id: randomUUID(), mode, callId, source, startedAt: new Date(), endedAt: null };
    session.segments.push(segment);
    this.write(session, `segment ${mode}`, this.store.insertSegment({
      id: segment.id, session_id: session.id, mode, call_id: callId, source, started_at: segment.startedAt, ended_at: null,
    }));
  }

  endSegment(session: Session): void {
    const open = session.segments.at(-1);
    if (!open || open.endedAt) return;
    open.endedAt = new Date();
    const at = open.endedAt;
    this.write(session, `segment ${open.mode} ended`, this.store.endSegment(open.id, at));
  }

  announce(session: Session, event: SessionEvent): void {
    this.bus.emit('monitor.session', { ...viewOf(session), event });
  }

  private write(session: Session, what: string, op: WriteOp): void {
    void this.writes.enqueue(`monitor session ${session.id} ${what}`, op);
  }
}

export function viewOf(session: Session): MonitorSessionView {
  return {
    id: session.id, supervisorId: session.supervisorId, agentId: session.agentId, callId: session.firstCallId,
    currentCallId: session.call?.callId ?? null, extension: session.extension, source: session.source, follow: session.follow,
    status: session.status, mode: session.mode, createdAt: session.createdAt.toISOString(),
    answeredAt: session.answeredAt?.toISOString() ?? null, endedAt: session.endedAt?.toISOString() ?? null, endReason: session.endReason,
    segments: session.segments.map((s) => ({ mode: s.mode, callId: s.callId, source: s.source, startedAt: s.startedAt.toISOString(), endedAt: s.endedAt?.toISOString() ?? null })),
  };
}

export function rowView(row: SessionRow, segments: SegmentRow[]): MonitorSessionView {
  return {
    id: row.id, supervisorId: row.supervisor_id, agentId: row.agent_id, callId: row.call_id, currentCallId: null, extension: row.extension,
    source: row.source, follow: row.follow, status: row.status, mode: segments.at(-1)?.mode ?? 'listen',
    createdAt: row.created_at.toISOString(), answeredAt: row.answered_at?.toISOString() ?? null, endedAt: row.ended_at?.toISOString() ?? null,
    endReason: row.end_reason,
    segments: segments.map((s) => ({ mode: s.mode, callId: s.call_id, source: s.source, startedAt: s.started_at.toISOString(), endedAt: s.ended_at?.toISOString() ?? null })),
  };
}
