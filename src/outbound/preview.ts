import { randomUUID } from 'node:crypto';
import type { CallOutcome } from '../campaigns/rules.js';
import type { ClaimedContact } from '../campaigns/service.js';
import type { CampaignView } from '../campaigns/views.js';
import { conflict, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { WriteOp, WriteQueue } from '../core/write-queue.js';
import type { QueueRow } from '../queues/store.js';
import type { CampaignCodes } from './campaign-codes.js';
import { EarlyEnds } from './early-ends.js';
import type { OutboundDialer } from './dialer.js';
import type { OutboundOutcome } from './store.js';

/** A contact the agent skipped comes round again after this long. */
export const skipDelayMs = 15 * 60_000;

export interface PreviewPorts {
  claim: (campaignId: string, n: number, now: Date) => Promise<ClaimedContact[]>;
  isCallable: (campaignId: string, numberE164: string) => Promise<boolean>;
  attemptStarted: (row: { id: string; campaignId: string; contactId: string; numberE164: string; startedAt: Date; callId: string }) => WriteOp;
  attemptAnswered: (attemptId: string, at: Date, agentId: string | null) => WriteOp;
  released: (contact: ClaimedContact) => WriteOp;
  /** The contact back to the state it was taken from, due again at `until`. */
  skipped: (contact: ClaimedContact, until: Date) => WriteOp;
  queue: (queueId: string) => Promise<QueueRow | undefined>;
}

/** The contact an agent previews, and its call once they place it. */
interface Held {
  campaign: CampaignView;
  contact: ClaimedContact;
  /** Set from the moment the agent presses Call (before its id is known): nothing else may touch the contact then. */
  placing: boolean;
  call: { callId: string; attemptId: string; startedAt: Date } | undefined;
}

/**
 * Preview campaigns (docs/outbound.md, "Preview"): the agent asks for the
 * next contact and sees it (name, number, custom fields) before anything
 * is dialled; they call it (their phone first, then the customer, as a
 * click-to-call with origin `campaign`) or skip it (it comes round again
 * after 15 minutes). The call's end is the attempt's, through the
 * campaigns' rules, with the wrap-up code set during it; a code set in the
 * wrap-up is applied after (CampaignCodes). One contact per agent at a
 * time, held in memory: after a restart the campaigns' stale-claim
 * release (at the start of a centralita with a trunk, which preview
 * needs) gives it back.
 */
export class PreviewDialer {
  private readonly held = new Map<string, Held>();
  private readonly byCall = new Map<string, string>();
  /** Agents whose next contact is being claimed: a second Next meanwhile is refused, not a second claim. */
  private readonly claiming = new Set<string>();
  private readonly endedEarly = new EarlyEnds<{ outcome: OutboundOutcome; answeredAt: Date | undefined }>();

  constructor(
    private readonly d: { dialer: OutboundDialer; writes: WriteQueue; logger: Logger; clock: () => Date },
    private readonly ports: PreviewPorts,
    private readonly codes: CampaignCodes,
  ) {
    d.dialer.onEnded((callId, outcome, answeredAt) => this.ended(callId, outcome, answeredAt));
  }

  /** The contact the agent holds in a campaign, if any. */
  holding(agentId: string, campaignId?: string): { campaign: CampaignView; contact: ClaimedContact; callId: string | null } | undefined {
    const held = this.held.get(agentId);
    if (!held || (campaignId && held.campaign.id !== campaignId)) return undefined;
    return { campaign: held.campaign, contact: held.contact, callId: held.call?.callId ?? null };
  }

  /** The agent's contact to preview: the one they hold in this campaign, else the next due one (undefined: none now). 409 when they hold another campaign's. */
  async next(campaign: CampaignView, agentId: string): Promise<ClaimedContact | undefined> {
    const held = this.held.get(agentId);
    if (held && held.campaign.id !== campaign.id) throw conflict(`the agent is previewing a contact of campaign ${held.campaign.name}: call or skip it first`);
    if (held) return held.contact;
    if (this.claiming.has(agentId)) throw conflict('the agent\'s next contact is being fetched');
    this.claiming.add(agentId);
    try {
      for (;;) {
        const [contact] = await this.ports.claim(campaign.id, 1, this.d.clock());
        if (!contact) return undefined;
        // Listed since the claim began: given back (the claim leaves listed numbers out from now on).
        if (!(await this.ports.isCallable(campaign.id, contact.numberE164))) {
          void this.d.writes.enqueue(`campaign contact ${contact.id} released`, this.ports.released(contact));
          continue;
        }
        this.held.set(agentId, { campaign, contact, placing: false, call: undefined });
        return contact;
      }
    } finally {
      this.claiming.delete(agentId);
    }
  }

  /** Dials the contact the agent holds: 404 when none, 409 while its call is on or when the number is listed now. */
  async call(campaignId: string, agentId: string, extension: string): Promise<{ callId: string }> {
    const held = this.heldIn(campaignId, agentId);
    if (held.placing || held.call) throw conflict('the contact is being called');
    held.placing = true;
    const { campaign, contact } = held;
    let callId: string;
    try {
      if (!(await this.ports.isCallable(campaignId, contact.numberE164))) {
        this.held.delete(agentId);
        void this.d.writes.enqueue(`campaign contact ${contact.id} released`, this.ports.released(contact));
        throw conflict(`${contact.numberE164} is on a do-not-call list now: not called, and set aside`);
      }
      const queue = await this.ports.queue(campaign.queueId);
      // Refused (409) when the agent is not available: the contact stays theirs.
      ({ callId } = await this.d.dialer.fromApi({
        agentId, extension, number: contact.numberE164, callerId: campaign.callerId, queueId: campaign.queueId, origin: 'campaign', followState: true,
      }));
      const attemptId = randomUUID();
      held.call = { callId, attemptId, startedAt: this.d.clock() };
      this.codes.connected(agentId, { callId, attemptId, campaign, contact, queue });
    } finally {
      held.placing = false;
    }
    this.byCall.set(callId, agentId);
    // A phone that refused at once ended the call before its id was known here.
    const early = this.endedEarly.take(callId);
    if (early) this.ended(callId, early.outcome, early.answeredAt);
    return { callId };
  }

  /** Gives the held contact back, due again in 15 minutes: 404 when none, 409 while its call is on. */
  skip(campaignId: string, agentId: string): void {
    const held = this.heldIn(campaignId, agentId);
    if (held.placing || held.call) throw conflict('the contact is being called');
    this.held.delete(agentId);
    void this.d.writes.enqueue(`campaign contact ${held.contact.id} skipped`, this.ports.skipped(held.contact, new Date(this.d.clock().getTime() + skipDelayMs)));
  }

  /** The agent left (checked out, removed): their contact is given back as it was. */
  release(agentId: string): void {
    const held = this.held.get(agentId);
    if (!held || held.placing || held.call) return;
    this.held.delete(agentId);
    void this.d.writes.enqueue(`campaign contact ${held.contact.id} released`, this.ports.released(held.contact));
  }

  private heldIn(campaignId: string, agentId: string): Held {
    const held = this.held.get(agentId);
    if (!held || held.campaign.id !== campaignId) throw notFound('previewed contact (ask for the next one first)');
    return held;
  }

  /** The call's end: the attempt's, written in one go (it is not written before: a call the agent did not take is no attempt). */
  private ended(callId: string, outcome: OutboundOutcome, answeredAt: Date | undefined): void {
    const agentId = this.byCall.get(callId);
    if (!agentId) {
      // Maybe ours, ended before its id was known here (call() takes it up).
      this.endedEarly.note(callId, { outcome, answeredAt });
      return;
    }
    this.byCall.delete(callId);
    const held = this.held.get(agentId);
    if (!held?.call || held.call.callId !== callId) return;
    const { campaign, contact, call } = held;
    if (outcome === 'agent_no_answer' || outcome === 'cancelled') {
      // The agent did not take their own call (or hung up before the customer answered): no attempt
      // is counted, and the agent still holds the contact.
      held.call = undefined;
      return;
    }
    this.held.delete(agentId);
    const result = campaignOutcome(outcome);
    const ops = [
      this.ports.attemptStarted({ id: call.attemptId, campaignId: campaign.id, contactId: contact.id, numberE164: contact.numberE164, startedAt: call.startedAt, callId }),
      ...(answeredAt ? [this.ports.attemptAnswered(call.attemptId, answeredAt, agentId)] : []),
      ...this.codes.end(agentId, call.attemptId, campaign, contact, { outcome: result, agentId: result === 'answered' ? agentId : null }),
    ];
    void this.d.writes.enqueue(`campaign attempt ${call.attemptId} (preview) ended`, ops);
  }
}

/** A preview call's end as the campaigns' rules name it. */
function campaignOutcome(outcome: OutboundOutcome): CallOutcome {
  if (outcome === 'answered' || outcome === 'busy' || outcome === 'no_answer') return outcome;
  return 'failed';
}
