import type { AgentStateChange } from '../agents/service.js';
import { badRequest, conflict, forbidden, HttpError } from '../core/errors.js';
import type { Entry, QueueEntries } from './entries.js';
import type { QueueRow } from './store.js';

/** The code stored when a queue requires one and the wrap-up reached its maximum without it. */
export const noDisposition = 'none';

/** Where a wrap-up code goes: one agent's handling of one call (a queue entry), during the call or its wrap-up. */
interface Handling { entryId: string; callId: string; queue: QueueRow; agentId: string; code: string | null }

/** An agent in wrap-up after a queue call: the entry, and when the wrap-up would end without a required code. */
interface Wrapping extends Handling { usualEnd: Date | null; awaiting: boolean }

export interface DispositionPorts {
  noteEventOfCall: (callId: string, type: string, detail: Record<string, unknown>) => void;
}

/**
 * A call outside the queues that takes a queue's wrap-up codes: a campaign
 * call (src/outbound/campaign-dialer.ts) takes its campaign's queue's.
 * `ref` stands where a queue call has its entry id (the campaign attempt).
 */
export interface OutsideCall {
  callId: string; agentId: string; queue: QueueRow; ref: string; code: string | null;
  /** Whom the call is with, for the desk page: a campaign's contact and its list's fields (the screen pop). */
  contact?: { campaign: string; name: string | null; number: string; fields: Record<string, string> };
}
/** What another capability offers for its calls: found by agent (during the call or its wrap-up) or by call, and the code stored its way. */
export interface OutsideCalls {
  ofAgent(agentId: string): OutsideCall | undefined;
  ofCall(callId: string): OutsideCall | undefined;
  set(call: OutsideCall, code: string, note: string | null, source: string): void;
}

/** Who sets a code: the agent of the call (phone, desk page, API) or a supervisor/admin. */
export interface Setter { role: string; agentId: string | null; source: 'phone' | 'api' }

/**
 * Wrap-up codes (dispositions): per queue a list; the agent sets one for
 * the call during it or in its wrap-up (desk page, API, or *49 code # on
 * the phone). A queue that requires one holds the agent in wrap-up until it
 * is set (then the wrap-up ends at its usual length, or at once if that is
 * past), up to `disposition_max_seconds`, after which `none` is stored and
 * the supervisors see it on the live feed. Stored on the queue entry.
 */
export class Dispositions {
  /** Agents in wrap-up after a queue call, by agent. */
  private readonly wrapping = new Map<string, Wrapping>();

  constructor(private readonly q: QueueEntries, private readonly ports: DispositionPorts, private readonly outside: readonly OutsideCalls[] = []) {
    q.deps.bus.on('agent.state', (change) => this.stateChanged(change));
  }

  /** The agent's wrap-up after the call ends: its end, and whether it waits for a code. */
  wrapUp(entry: Entry, agentId: string): { wrapUpEndsAt: Date | null; awaitingDisposition: boolean } {
    const { queue } = entry;
    const now = Date.now();
    const usualEnd = queue.wrap_up_seconds > 0 ? new Date(now + queue.wrap_up_seconds * 1000) : null;
    const awaiting = queue.disposition_required && !entry.disposition;
    const wrapUpEndsAt = awaiting ? new Date(now + Math.max(queue.wrap_up_seconds, queue.disposition_max_seconds) * 1000) : usualEnd;
    if (wrapUpEndsAt) {
      this.wrapping.set(agentId, {
        entryId: entry.id, callId: entry.call.callId, queue, agentId, code: entry.disposition, usualEnd, awaiting,
      });
    }
    return { wrapUpEndsAt, awaitingDisposition: awaiting };
  }

  /**
   * Sets the wrap-up code of a call: its connected entry, or the entry whose
   * wrap-up its agent is in. 404/409 are the caller's (the call unknown, or
   * its wrap-up over), 400 a code the queue does not have or a missing note.
   */
  async set(callId: string, code: string, note: string | undefined, by: Setter): Promise<{ entryId: string; code: string }> {
    const handling = this.handlingOf(callId, by.role === 'agent' ? by.agentId : null);
    if (!handling) return this.setOutside(callId, code, note, by);
    if (by.role === 'agent' && by.agentId !== handling.agentId) throw forbidden('an agent may set the wrap-up code of their own call only');
    checkCode(handling.queue, code, note);
    this.store(handling, code, note?.trim() || null, by.source);
    const entry = this.q.entries.get(handling.entryId);
    if (entry) entry.disposition = code;
    const wrapping = this.wrapping.get(handling.agentId);
    if (wrapping?.entryId === handling.entryId) {
      wrapping.code = code;
      if (wrapping.awaiting) {
        wrapping.awaiting = false;
        // The wrap-up held for the code ends at its usual length, or now if that is past.
        const end = wrapping.usualEnd && wrapping.usualEnd.getTime() > Date.now() ? wrapping.usualEnd : null;
        await this.q.deps.agents.command(handling.agentId, { type: 'dispositionSet', wrapUpEndsAt: end }, 'system').catch((err: unknown) => {
          this.q.deps.logger.warn({ err: (err as Error).message, agentId: handling.agentId }, 'wrap-up end after the code not applied');
        });
      }
    }
    return { entryId: handling.entryId, code };
  }

  /** A campaign call's code (OutsideCalls): the same checks as a queue call's, stored by its capability. */
  private setOutside(callId: string, code: string, note: string | undefined, by: Setter): { entryId: string; code: string } {
    const found = this.findOutside((calls) => calls.ofCall(callId));
    if (!found) throw conflict("the call is neither connected to an agent nor in its agent's wrap-up now");
    const { call } = found;
    if (by.role === 'agent' && by.agentId !== call.agentId) throw forbidden('an agent may set the wrap-up code of their own call only');
    checkCode(call.queue, code, note);
    const trimmed = note?.trim() || null;
    found.calls.set(call, code, trimmed, by.source);
    this.ports.noteEventOfCall(callId, 'disposition', { campaignAttemptId: call.ref, agentId: call.agentId, code, source: by.source, ...(trimmed ? { note: trimmed } : {}) });
    this.q.deps.bus.emit('queue.call', {
      queueId: call.queue.id, entryId: call.ref, callId, agentId: call.agentId, event: 'disposition', holdSince: null, code, at: new Date().toISOString(),
    });
    return { entryId: call.ref, code };
  }

  /** The first outside call a provider finds, with its provider. */
  private findOutside(pick: (calls: OutsideCalls) => OutsideCall | undefined): { calls: OutsideCalls; call: OutsideCall } | undefined {
    for (const calls of this.outside) {
      const call = pick(calls);
      if (call) return { calls, call };
    }
    return undefined;
  }

  /** The phone's *49 code #: the agent's call in wrap-up (or connected). */
  async setByPhone(agentId: string, code: string): Promise<'set' | 'no_call' | 'unknown_code' | 'note_needed'> {
    const wrapping = this.wrapping.get(agentId);
    const callId = wrapping?.callId ?? this.connectedOf(agentId)?.call.callId ?? this.findOutside((calls) => calls.ofAgent(agentId))?.call.callId;
    if (!callId) return 'no_call';
    try {
      await this.set(callId, code, undefined, { role: 'agent', agentId, source: 'phone' });
      return 'set';
    } catch (err) {
      const message = (err as Error).message;
      if (message.startsWith('body/note')) return 'note_needed';
      if (message.startsWith('body/code')) return 'unknown_code';
      if (!(err instanceof HttpError)) this.q.deps.logger.warn({ err, agentId, code }, 'a wrap-up code keyed on the phone could not be set');
      return 'no_call';
    }
  }

  /** The call the agent is handling (connected, or in its wrap-up): for the desk page's controls. */
  handling(agentId: string): { entryId: string; callId: string; queue: QueueRow; code: string | null; awaiting: boolean; holdSince: Date | null; contact?: OutsideCall['contact'] } | undefined {
    const connected = this.connectedOf(agentId);
    if (connected) return { entryId: connected.id, callId: connected.call.callId, queue: connected.queue, code: connected.disposition, awaiting: false, holdSince: connected.hold.since };
    const wrapping = this.wrapping.get(agentId);
    if (wrapping) return { entryId: wrapping.entryId, callId: wrapping.callId, queue: wrapping.queue, code: wrapping.code, awaiting: wrapping.awaiting, holdSince: null };
    const outside = this.findOutside((calls) => calls.ofAgent(agentId))?.call;
    if (outside) return { entryId: outside.ref, callId: outside.callId, queue: outside.queue, code: outside.code, awaiting: false, holdSince: null, contact: outside.contact };
    return undefined;
  }

  private connectedOf(agentId: string): Entry | undefined {
    for (const entry of this.q.entries.values()) if (entry.state === 'connected' && entry.connected?.agentId === agentId) return entry;
    return undefined;
  }

  private handlingOf(callId: string, agentId: string | null): Handling | undefined {
    const entry = this.q.connectedByCall(callId);
    const connected: Handling | undefined = entry?.connected
      ? { entryId: entry.id, callId, queue: entry.queue, agentId: entry.connected.agentId, code: entry.disposition }
      : undefined;
    if (connected && (!agentId || connected.agentId === agentId)) return connected;
    // A call transferred on is connected elsewhere too: the asking agent's own wrap-up first.
    if (agentId) {
      const own = this.wrapping.get(agentId);
      if (own?.callId === callId) return own;
    }
    for (const wrapping of this.wrapping.values()) if (wrapping.callId === callId) return wrapping;
    // Another agent's connected call: the caller's check answers 403.
    return connected;
  }

  private store(handling: Handling, code: string, note: string | null, source: string): void {
    const at = new Date();
    this.q.write(`queue entry ${handling.entryId} disposition ${code}`, this.q.deps.store.updateEntry(handling.entryId, {
      disposition: code, disposition_note: note, disposition_at: at,
    }));
    this.ports.noteEventOfCall(handling.callId, 'disposition', { entryId: handling.entryId, agentId: handling.agentId, code, source, ...(note ? { note } : {}) });
    this.q.deps.bus.emit('queue.call', {
      queueId: handling.queue.id, entryId: handling.entryId, callId: handling.callId, agentId: handling.agentId, event: 'disposition',
      holdSince: null, code, at: at.toISOString(),
    });
  }

  /** The agent left wrap-up: a required code never set is stored as `none`, for the supervisors to see. */
  private stateChanged(change: AgentStateChange): void {
    const wrapping = this.wrapping.get(change.agentId);
    if (!wrapping || change.status === 'wrap_up') return;
    this.wrapping.delete(change.agentId);
    if (wrapping.code || !wrapping.queue.disposition_required) return;
    this.q.deps.logger.warn({ agentId: wrapping.agentId, callId: wrapping.callId, queue: wrapping.queue.name }, 'wrap-up ended without the required wrap-up code: none recorded');
    this.store(wrapping, noDisposition, null, 'system');
  }
}

/** 400 for a code the queue does not have, or one that needs a note without it. */
function checkCode(queue: QueueRow, code: string, note: string | undefined): void {
  const disposition = queue.dispositions.find((d) => d.code === code);
  if (!disposition) {
    const codes = queue.dispositions.map((d) => d.code).join(', ') || 'none defined';
    throw badRequest(`body/code: queue ${queue.name} has no wrap-up code ${code} (${codes})`);
  }
  if (disposition.requiresNote && !note?.trim()) throw badRequest(`body/note: wrap-up code ${code} (${disposition.label}) needs a note`);
}
