import { isGone } from '../asterisk/ari-helpers.js';
import type { Channel } from '../asterisk/ari-types.generated.js';
import { conflict } from '../core/errors.js';
import type { IvrCall, QueueRequest } from '../ivr/engine.js';
import type { QueueRow, TransferTarget } from './store.js';
import { onwardRequest, type Entry, type QueueEntries } from './entries.js';
import { digitTimeoutMs, TransferKeys } from './transfer-keys.js';

/** How a transfer was asked for: keyed (## number #), the phone's TRANSFER key (SIP REFER), or the API. */
export type TransferSource = 'phone' | 'refer' | 'api';

/** What transfers need of the engine: a new entry in another queue, and a note on the call's record. */
export interface TransferPorts {
  enqueue: (call: IvrCall, queue: QueueRow, request: QueueRequest) => Promise<void | 'released'>;
  noteCallEvent: (channelId: string, type: string, detail: Record<string, unknown>) => void;
  /** The phone's attended transfer: the colleague's channel (not ours) joins the caller; false when it could not. */
  attended: (entry: Entry, peer: Channel) => Promise<boolean>;
  /** Whether the agent is consulting a colleague (consult.ts): no blind transfer meanwhile. */
  consulting: (entry: Entry) => boolean;
  /** The caller off hold (hold.ts): a caller is never passed on muted or on music. */
  releaseHold: (entry: Entry) => Promise<void>;
}

/**
 * Blind transfers of a connected queue call, asked for by the API or keyed
 * by the agent on the phone (## number #): to another queue, where a new
 * entry of the same call starts, or to a phone through the dialplan.
 */
export class Transfers {
  /** Transfer keys being pressed on connected agent legs. */
  private readonly keys = new Map<string, { keys: TransferKeys; timer: NodeJS.Timeout | undefined }>();

  constructor(private readonly q: QueueEntries, private readonly ports: TransferPorts) {}

  /** A key the agent pressed during a connected call: ## number # transfers the caller. */
  agentKey(entry: Entry, digit: string): void {
    const legId = entry.connected!.legId;
    const state = this.keys.get(legId) ?? { keys: new TransferKeys(), timer: undefined };
    this.keys.set(legId, state);
    clearTimeout(state.timer);
    const result = state.keys.press(digit, Date.now());
    if (state.keys.keying) {
      state.timer = setTimeout(() => {
        const timedOut = state.keys.timeout();
        if (timedOut.kind === 'number') void this.transferByNumber(entry, timedOut.number);
      }, digitTimeoutMs);
    }
    if (result.kind === 'number') void this.transferByNumber(entry, result.number);
  }

  /**
   * The phone's own TRANSFER key: a blind REFER from the agent's phone,
   * which Asterisk hands to ARI (the leg is made with
   * PJSIP_TRANSFER_HANDLING(ari-only)) as ChannelTransfer. Carried out like
   * a keyed transfer; the phone is told the outcome (its NOTIFY). An
   * attended REFER (Replaces) hands the caller to the colleague the agent
   * called from the phone (`ports.attended`).
   */
  async referred(legId: string, destination: string | undefined, peer: Channel | undefined): Promise<void> {
    const { ari, helpers, logger } = this.q.deps;
    const entry = this.q.connectedByLeg(legId);
    const progress = (states: string) => helpers.quietly('telling the phone how its transfer went', { channelId: legId }, () => ari.request('channels.transfer_progress', { channelId: legId, states }));
    if (entry && !destination && peer) {
      // Attended: the colleague the agent called from the phone takes the caller (consult.ts).
      if (!(await this.ports.attended(entry, peer))) await progress('channel_declined');
      return;
    }
    if (!entry || !destination) {
      logger.info({ legId, destination: destination ?? null }, entry ? 'a transfer from the phone without a destination: declined' : 'a transfer from a phone not on a queue call: declined');
      await progress('channel_declined');
      return;
    }
    const number = /^(?:sip:)?(\+?[0-9]{2,20})(?:@.*)?$/.exec(destination)?.[1];
    // Accepted: the phone is told before its leg is hung up (its NOTIFY says 200), as Asterisk's own transfers do.
    const done = number ? await this.transferByNumber(entry, number, 'refer', () => progress('channel_answered').then(() => undefined)) : false;
    if (!done) await progress('channel_declined');
  }

  forgetKeys(legId: string): void {
    clearTimeout(this.keys.get(legId)?.timer);
    this.keys.delete(legId);
  }

  /** Stopping: the key timers stop. */
  stop(): void {
    for (const key of this.keys.values()) clearTimeout(key.timer);
  }

  /**
   * What a number keyed by an agent reaches: a queue's extension first, then
   * a phone, then (with `agentId`) an external number within that agent's
   * dialing rights.
   */
  async resolveNumber(number: string, agentId?: string): Promise<{ target: TransferTarget; queue?: QueueRow } | undefined> {
    const { store, agents } = this.q.deps;
    // Queue extensions and phones are short numbers; a longer one can only be external.
    const short = /^[0-9]{2,8}$/.test(number);
    const queue = short ? await store.findByExtension(number) : undefined;
    if (queue) return { target: { queueId: queue.id }, queue };
    if (short && await this.phoneExists(number)) return { target: { extension: number } };
    return agentId !== undefined && await agents.mayDial(agentId, number) ? { target: { external: number } } : undefined;
  }

  async phoneExists(extension: string): Promise<boolean> {
    return this.q.deps.ari.request('endpoints.get', { tech: 'PJSIP', resource: extension }).then(() => true, (err: unknown) => {
      // 404: Asterisk has no such phone. Anything else is logged, and the number is treated as unknown.
      if (!isGone(err)) this.q.deps.logger.warn({ err, extension }, 'could not look up a phone');
      return false;
    });
  }

  /** A transfer to a number keyed (or REFERred) by the agent; false when it was not made. */
  private async transferByNumber(entry: Entry, number: string, source: TransferSource = 'phone', accepted?: () => Promise<void>): Promise<boolean> {
    const { logger, helpers, media } = this.q.deps;
    const legId = entry.connected?.legId;
    if (entry.state !== 'connected' || !legId) return false;
    const resolved = await this.resolveNumber(number, entry.connected!.agentId).catch((err: unknown) => {
      logger.warn({ err, entryId: entry.id, number }, 'could not look up the number keyed for a transfer');
      return undefined;
    });
    if (!resolved) {
      // Only the agent hears it; the caller stays on the line.
      logger.info({ entryId: entry.id, number }, 'an agent keyed a transfer to a number that is no queue or phone, and outside their dialing rights');
      await helpers.quietly('playing "invalid" to the agent', { channelId: legId }, () => media.play(legId, ['sound:pbx-invalid']));
      return false;
    }
    return this.transfer(entry.call.callId, resolved.target, source, accepted).then(() => true, (err: unknown) => {
      logger.warn({ err, entryId: entry.id }, 'transfer failed');
      return false;
    });
  }

  /**
   * Blind transfer: the caller leaves the agent (who goes to wrap-up) for
   * another queue, where a new entry of the same call starts, or for a phone
   * or an external number through the dialplan (CENTRALITA_TRANSFER_CONTEXT
   * dials it as the site does: its trunk for external numbers). The entry is
   * closed as `transferred` with its target.
   */
  async transfer(callId: string, target: TransferTarget, source: TransferSource, accepted?: () => Promise<void>): Promise<void> {
    const { ari, helpers, store, logger, site } = this.q.deps;
    const entry = this.q.connectedByCall(callId);
    if (!entry?.connected) throw conflict('the call is not connected to an agent of a queue');
    const next = 'queueId' in target ? await store.get(target.queueId) : undefined;
    if ('queueId' in target && !next) throw conflict(`no queue ${target.queueId}`);
    if (entry.state !== 'connected') throw conflict('the call ended meanwhile');
    if (this.ports.consulting(entry)) throw conflict('the agent is consulting a colleague: complete or cancel the consult first');
    if (entry.hold.since) await this.ports.releaseHold(entry);
    const { agentId, legId, bridgeId } = entry.connected;
    this.q.write(`queue entry ${entry.id} transferred`, store.updateEntry(entry.id, { transferred_by: agentId, transferred_to: target }));
    this.ports.noteCallEvent(entry.call.channelId, 'transferred', { fromQueueId: entry.queue.id, entryId: entry.id, agentId, source, to: target });
    this.forgetKeys(legId);
    this.q.leave(entry, 'transferred', false);
    await helpers.removeFromBridge(bridgeId, entry.call.channelId);
    await helpers.destroyBridge(bridgeId);
    await accepted?.();
    await helpers.hangup(legId);
    await this.q.endAgentCall(entry, agentId, 'transfer');
    // The caller's next part: the flow that queued them resolves when it ends.
    const onward = async (): Promise<void | 'released'> => {
      if (next) return this.ports.enqueue(entry.call, next, onwardRequest(entry, next));
      if ('extension' in target || 'external' in target) {
        const extension = 'extension' in target ? target.extension : target.external;
        await ari.request('channels.continueInDialplan', { channelId: entry.call.channelId, context: site.transferContext, extension, priority: 1 });
        return 'released';
      }
    };
    void onward().catch((err: unknown) => {
      // Gone: the caller hung up during the transfer; there is nobody to take on.
      if (!isGone(err)) logger.error({ err, entryId: entry.id }, 'transfer failed after the agent left');
    }).then((outcome) => entry.finished(outcome));
  }
}
