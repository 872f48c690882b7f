import { randomUUID } from 'node:crypto';
import type { EventBus } from '../core/events.js';
import { notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { WriteQueue } from '../core/write-queue.js';
import type { CallEventRow, CallListFilter, CallRow, CallsStore } from './store.js';

export interface CallView {
  id: string;
  channelId: string;
  direction: 'inbound' | 'internal' | 'outbound';
  callerNumber: string;
  callerName: string;
  did: string | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  hangupCause: number | null;
  hangupCauseText: string | null;
  endReason: 'hangup' | 'lost' | null;
  /** A leg placed for another call (an agent's consult of a colleague): that call's id. */
  parentCallId: string | null;
  /** The number a leg called. */
  calledNumber: string | null;
}

export interface CallEventView { type: string; detail: Record<string, unknown>; at: string }

declare module '../core/events.js' {
  interface DomainEvents {
    'call.started': CallView;
    'call.answered': CallView;
    'call.dtmf': { callId: string; digit: string; at: string };
    'call.ended': CallView;
  }
}

export interface CallArrival {
  channelId: string;
  direction: 'inbound' | 'internal' | 'outbound';
  callerNumber: string;
  callerName: string;
  did: string | null;
  language: string | null;
  at: Date;
  /** A leg placed for another call: that call, and the number called. */
  parentCallId?: string;
  calledNumber?: string;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function callView(row: CallRow): CallView {
  return {
    id: row.id, channelId: row.channel_id, direction: row.direction,
    callerNumber: row.caller_number, callerName: row.caller_name, did: row.did,
    startedAt: row.started_at.toISOString(), answeredAt: iso(row.answered_at), endedAt: iso(row.ended_at),
    hangupCause: row.hangup_cause, hangupCauseText: row.hangup_cause_text, endReason: row.end_reason,
    parentCallId: row.parent_call_id, calledNumber: row.called_number,
  };
}

/**
 * The record of every call: rows written as the call progresses (through the
 * write queue, so a database hiccup does not stall the call), and the calls
 * in progress held in memory by channel id. That map is rebuilt on every ARI
 * (re)connection by reconcile(): open rows whose channel still exists are
 * adopted, the others are closed as 'lost'.
 */
export class CallsService {
  private readonly live = new Map<string, CallRow>();

  constructor(
    private readonly store: CallsStore,
    private readonly writes: WriteQueue,
    private readonly bus: EventBus,
    private readonly logger: Logger,
  ) {}

  callArrived(arrival: CallArrival): CallView {
    const row: CallRow = {
      id: randomUUID(), channel_id: arrival.channelId, direction: arrival.direction,
      caller_number: arrival.callerNumber, caller_name: arrival.callerName, did: arrival.did, language: arrival.language,
      started_at: arrival.at, answered_at: null, ended_at: null, hangup_cause: null, hangup_cause_text: null, end_reason: null,
      parent_call_id: arrival.parentCallId ?? null, called_number: arrival.calledNumber ?? null,
    };
    this.live.set(row.channel_id, row);
    void this.writes.enqueue(`call ${row.id} started`, this.store.insertCall(row));
    const view = callView(row);
    this.bus.emit('call.started', view);
    return view;
  }

  /** The id of the call on a channel in progress. */
  callIdOf(channelId: string): string | undefined {
    return this.live.get(channelId)?.id;
  }

  isTracked(channelId: string): boolean {
    return this.live.has(channelId);
  }

  callAnswered(channelId: string, at: Date): void {
    const row = this.live.get(channelId);
    if (!row || row.answered_at) return;
    row.answered_at = at;
    void this.writes.enqueue(`call ${row.id} answered`, this.store.setAnswered(row.id, at));
    this.bus.emit('call.answered', callView(row));
  }

  digitReceived(channelId: string, digit: string, at: Date): void {
    const row = this.live.get(channelId);
    if (!row) return;
    void this.writes.enqueue(`call ${row.id} dtmf`, this.store.insertEvent({ call_id: row.id, type: 'dtmf', detail: { digit }, at }));
    this.bus.emit('call.dtmf', { callId: row.id, digit, at: at.toISOString() });
  }

  /** A call in progress by its id: its channel and DID. */
  liveCall(callId: string): { channelId: string; did: string | null } | undefined {
    for (const row of this.live.values()) if (row.id === callId) return { channelId: row.channel_id, did: row.did };
    return undefined;
  }

  /** Whether a call of that id is going on or was stored (a live call's row may still be in the write queue). */
  async exists(callId: string): Promise<boolean> {
    return this.liveCall(callId) !== undefined || (await this.store.get(callId)) !== undefined;
  }

  /** What other capabilities read of these calls' records. */
  facts(callIds: string[]): ReturnType<CallsStore['facts']> {
    return this.store.facts(callIds);
  }

  /** The ids of the stored calls from this number. */
  idsOfCaller(callerNumber: string): Promise<string[]> {
    return this.store.idsOfCaller(callerNumber);
  }

  /** Notes something that happened on the call, e.g. a prompt played. */
  noteEvent(channelId: string, type: string, detail: Record<string, unknown>, at: Date): void {
    const row = this.live.get(channelId);
    if (!row) return;
    void this.writes.enqueue(`call ${row.id} ${type}`, this.store.insertEvent({ call_id: row.id, type, detail, at }));
  }

  /** An event on a call's record by its id: also after the call ended (a wrap-up code set in wrap-up). */
  noteEventOfCall(callId: string, type: string, detail: Record<string, unknown>, at: Date): void {
    void this.writes.enqueue(`call ${callId} ${type}`, this.store.insertEvent({ call_id: callId, type, detail, at }));
  }

  callEnded(channelId: string, end: { at: Date; cause: number | null; causeText: string | null }): void {
    const row = this.live.get(channelId);
    if (!row) return;
    this.live.delete(channelId);
    this.close(row, { ...end, reason: 'hangup' });
  }

  /**
   * Brings the record in line with the channels Asterisk had at `listedAt`.
   * Called on every ARI (re)connection: events were not delivered while the
   * socket was down, so memory cannot be trusted. Calls that started after
   * the listing are left alone: their channels could not be in it.
   */
  async reconcile(liveChannelIds: ReadonlySet<string>, listedAt: Date): Promise<{ adopted: number; lost: number; adoptedChannels: string[] }> {
    await this.writes.drain();
    const open = await this.store.listOpen();
    const adoptedChannels: string[] = [];
    let adopted = 0;
    let lost = 0;
    const judge = (row: CallRow): void => {
      if (row.started_at >= listedAt || row.ended_at) return;
      if (liveChannelIds.has(row.channel_id)) {
        const holder = this.live.get(row.channel_id);
        if (!holder) {
          this.live.set(row.channel_id, row);
          adoptedChannels.push(row.channel_id);
          adopted += 1;
          return;
        }
        // The call on that channel, or else a newer one holds its id and this
        // one died with the old Asterisk (ids start again after a restart).
        if (holder.id === row.id) return;
      }
      // A call that started after the listing may hold the same channel id
      // (Asterisk restarted within the second): only this call's entry goes.
      if (this.live.get(row.channel_id)?.id === row.id) this.live.delete(row.channel_id);
      this.close(row, { at: listedAt, cause: null, causeText: null, reason: 'lost' });
      lost += 1;
    };
    // The newest first: of two open rows on one channel id, the newer is the call going on.
    for (const row of [...open].sort((a, b) => b.started_at.getTime() - a.started_at.getTime())) {
      const current = this.live.get(row.channel_id);
      judge(current?.id === row.id ? current : row);
    }
    for (const row of [...this.live.values()]) judge(row);
    if (adopted || lost) this.logger.info({ adopted, lost }, 'calls reconciled with Asterisk');
    return { adopted, lost, adoptedChannels };
  }

  liveCalls(): CallView[] {
    return [...this.live.values()].sort((a, b) => a.started_at.getTime() - b.started_at.getTime()).map(callView);
  }

  async list(filter: CallListFilter): Promise<CallView[]> {
    return (await this.store.list(filter)).map(callView);
  }

  /**
   * A leg centralita places for a call in progress (an agent consulting a
   * colleague): a call of its own (internal), tied to the call it serves.
   * Its answer and end are recorded like any call's (ChannelDestroyed).
   */
  legStarted(leg: { channelId: string; parentCallId: string; callerNumber: string; calledNumber: string; at: Date }): CallView {
    return this.callArrived({ ...leg, direction: 'internal', callerName: '', did: null, language: null });
  }

  /** A desk phone's feature-code call that dials an outside number (`*` + number): an outbound call from here on. */
  becameOutbound(channelId: string, calledNumber: string): string | undefined {
    const row = this.live.get(channelId);
    if (!row) return undefined;
    row.direction = 'outbound';
    row.called_number = calledNumber;
    void this.writes.enqueue(`call ${row.id} outbound`, this.store.setOutbound(row.id, calledNumber));
    return row.id;
  }

  async get(id: string): Promise<CallView & { events: CallEventView[]; legs: CallView[] }> {
    const row = await this.store.get(id);
    if (!row) throw notFound('call');
    const [events, legs] = await Promise.all([this.store.events(id), this.store.legsOf(id)]);
    return {
      ...callView(row), events: events.map((e: CallEventRow) => ({ type: e.type, detail: e.detail, at: e.at.toISOString() })), legs: legs.map(callView),
    };
  }

  private close(row: CallRow, end: { at: Date; cause: number | null; causeText: string | null; reason: 'hangup' | 'lost' }): void {
    if (row.ended_at) return;
    row.ended_at = end.at;
    row.hangup_cause = end.cause;
    row.hangup_cause_text = end.causeText;
    row.end_reason = end.reason;
    void this.writes.enqueue(`call ${row.id} ended`, this.store.setEnded(row.id, end));
    this.bus.emit('call.ended', callView(row));
  }
}
