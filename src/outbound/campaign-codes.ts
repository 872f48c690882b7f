import type { AttemptResult, ContactChange, ContactProgress } from '../campaigns/rules.js';
import type { ClaimedContact } from '../campaigns/service.js';
import type { CampaignView } from '../campaigns/views.js';
import type { WriteOp, WriteQueue } from '../core/write-queue.js';
import type { OutsideCall, OutsideCalls } from '../queues/dispositions.js';
import type { QueueRow } from '../queues/store.js';

export type AttemptEnd = (campaign: CampaignView, contact: ContactProgress & Pick<ClaimedContact, 'id' | 'numberE164'>, attemptId: string, result: AttemptResult, now: Date) => { ops: WriteOp[]; change: ContactChange };

/** An agent's last campaign call, for its wrap-up code: until the agent's next one. */
interface Handled extends OutsideCall {
  campaign: CampaignView;
  claimed: ClaimedContact;
  /** The contact as the attempt's end left it (a code set in the wrap-up starts from there); undefined while the call is on. */
  after: ContactProgress | undefined;
}

/**
 * Campaign calls' wrap-up codes (docs/campaigns.md, "Wrap-up codes on
 * campaign calls"), for the dialers that put persons through (progressive
 * and predictive lines, preview calls), offered to the queues'
 * dispositions as OutsideCalls: the campaign's queue's codes, set from the
 * desk page or the API. During the call the code waits for the attempt's
 * end (`end` takes it); in the wrap-up after it, it is applied at once to
 * the contact as the end left it, by the campaign's dispositionActions.
 */
export class CampaignCodes implements OutsideCalls {
  private readonly handled = new Map<string, Handled>();

  constructor(private readonly d: {
    writes: WriteQueue; clock: () => Date; attemptEnd: AttemptEnd;
    /** The agent's state and call now: a code is taken only during the call or its wrap-up. */
    agentPhase: (agentId: string) => { status: string; callId: string | null };
  }) {}

  /** A person put through to the agent: this call takes the codes of `queue` (none when the queue is gone). */
  connected(agentId: string, call: { callId: string; attemptId: string; campaign: CampaignView; contact: ClaimedContact; queue: QueueRow | undefined }): void {
    if (!call.queue) return void this.handled.delete(agentId);
    const { campaign, contact } = call;
    this.handled.set(agentId, {
      callId: call.callId, agentId, queue: call.queue, ref: call.attemptId, code: null, campaign, after: undefined,
      claimed: contact, contact: { campaign: campaign.name, name: contact.name, number: contact.numberE164, fields: contact.fields },
    });
  }

  /** The ops of the attempt's end, with the code set during the call (if any); the contact's state after it is kept for a code in the wrap-up. */
  end(agentId: string | null, attemptId: string, campaign: CampaignView, contact: ClaimedContact, result: Omit<Extract<AttemptResult, { outcome: unknown }>, 'disposition'>): WriteOp[] {
    const handled = agentId ? this.handled.get(agentId) : undefined;
    const ours = handled?.ref === attemptId ? handled : undefined;
    const { ops, change } = this.d.attemptEnd(campaign, contact, attemptId, { ...result, disposition: ours?.code ?? null }, this.d.clock());
    if (ours) ours.after = progress(change);
    return ops;
  }

  ofAgent(agentId: string): OutsideCall | undefined {
    const handled = this.handled.get(agentId);
    const phase = this.d.agentPhase(agentId);
    return handled && phase.callId === handled.callId && (phase.status === 'on_call' || phase.status === 'wrap_up') ? handled : undefined;
  }

  ofCall(callId: string): OutsideCall | undefined {
    for (const handled of this.handled.values()) if (handled.callId === callId) return this.ofAgent(handled.agentId);
    return undefined;
  }

  set(call: OutsideCall, code: string): void {
    const handled = this.handled.get(call.agentId);
    if (!handled || handled.callId !== call.callId) return;
    handled.code = code;
    // Still on the call: end() takes it. (A person gone before the agent was put through leaves no handled call: ofCall finds none.)
    if (!handled.after) return;
    // From the contact as the attempt's end left it, whatever an earlier code did (a do-not-call mark made stays).
    const { ops } = this.d.attemptEnd(handled.campaign, { ...handled.claimed, ...handled.after }, handled.ref, { disposition: code, agentId: call.agentId }, this.d.clock());
    void this.d.writes.enqueue(`campaign attempt ${handled.ref} wrap-up code ${code}`, ops);
  }
}

const progress = (change: ContactChange): ContactProgress => ({ state: change.state, attempts: change.attempts, callbackAgentId: change.callbackAgentId });
