import { randomUUID } from 'node:crypto';
import { isGone } from '../asterisk/ari-helpers.js';
import type { IvrCall, QueueRequest } from '../ivr/engine.js';
import type { PostCallSurvey, QueueEnginePorts } from './ports.js';
import type { QueueRow } from './store.js';
import { isWaiting } from './entry.js';
import { onwardRequest, type Entry, type QueueEntries } from './entries.js';

/** Stored recordings of messages left at an overflow: <recordings dir>/queue-messages/<entry>.wav */
export const messageFolder = 'queue-messages';

/** What the ways out need of the engine: a new entry in another queue, an IVR flow (once the IVR exists). */
export interface ExitPorts {
  enqueue: (call: IvrCall, queue: QueueRow, request: QueueRequest) => Promise<void | 'released'>;
  runFlow: () => ((call: IvrCall, flowId: string) => Promise<void | 'released'>) | undefined;
  /** The caller's post-call survey when the agent hangs up first (the surveys). */
  afterCall: QueueEnginePorts['afterCall'];
  /** Takes the caller off an API hold (hold.ts). */
  releaseHold: (entry: Entry) => Promise<void>;
  /** Resolves once the channel has left every bridge (the registry), false after the time given. */
  outOfBridge: (channelId: string, timeoutMs: number) => Promise<boolean>;
}

/**
 * The ways a caller leaves a queue other than a transfer: hanging up (while
 * waiting, or at the end of an answered call), asking for a callback, and
 * the queue's overflow (at its maximum wait, or the overflow key).
 */
export class Exits {
  constructor(private readonly q: QueueEntries, private readonly ports: ExitPorts) {}

  /** The caller hung up: abandoned while waiting, or the end of an answered call. */
  async callerGone(channelId: string): Promise<void> {
    const entry = this.q.byCaller(channelId);
    if (!entry) return;
    if (entry.state === 'connected' && entry.connected) {
      // The entry goes first: with no wrap-up the agent is available at
      // once, and the dispatch that follows must not see them as busy here.
      this.q.leave(entry, 'answered');
      await this.q.deps.helpers.hangup(entry.connected.legId);
      await this.q.deps.helpers.destroyBridge(entry.connected.bridgeId);
      await this.q.endAgentCall(entry, entry.connected.agentId, 'call end');
      return;
    }
    await this.q.takeOut(entry);
    this.q.leave(entry, 'abandoned');
  }

  /**
   * The agent hung up first (the phone, the desk page): a caller offered a
   * post-call survey stays on the line. The offer is recorded first (a
   * restart from here finds the caller in the survey, not back in the
   * queue); then, as when the caller hangs up, the entry ends answered, the
   * bridge goes and the agent wraps up; then the survey plays, and the
   * caller's route hangs up at its end. False: no survey (or the caller left
   * meanwhile): the caller's side ends as before.
   */
  async agentLeftFirst(entry: Entry): Promise<boolean> {
    const connected = entry.connected;
    // Asked once per entry: the agent's StasisEnd and a reconciliation may both report the leg gone.
    if (!connected || entry.afterCall) return entry.afterCall === true;
    entry.afterCall = true;
    const { logger, helpers } = this.q.deps;
    let survey: PostCallSurvey | undefined;
    try {
      survey = await this.ports.afterCall({
        callId: entry.call.callId, channelId: entry.call.channelId, did: entry.call.did, entryId: entry.id, queueId: entry.queue.id,
        queueSurvey: entry.queue.survey, agentId: connected.agentId, language: entry.callLanguage,
      });
    } catch (err) {
      logger.warn({ err, callId: entry.call.callId }, 'could not decide on the post-call survey; the call ends');
    }
    // No survey, or the caller hung up meanwhile (callerGone closed the entry).
    if (!survey || this.q.byCaller(entry.call.channelId) !== entry) return false;
    survey.begin();
    if (entry.hold.since !== null) await this.ports.releaseHold(entry);
    this.q.leave(entry, 'answered', false);
    await helpers.destroyBridge(connected.bridgeId);
    // The destroy answers before the caller has left the bridge: a prompt played before then is lost.
    await this.ports.outOfBridge(entry.call.channelId, 2000);
    await this.q.endAgentCall(entry, connected.agentId, 'call end');
    let outcome: Awaited<ReturnType<PostCallSurvey['play']>> | undefined;
    try {
      outcome = await survey.play();
    } catch (err) {
      if (!isGone(err)) logger.error({ err, callId: entry.call.callId }, 'the post-call survey failed');
    }
    // Cut by the loss of the connection, the caller is not hung up: the reconnection's reconciliation takes them up.
    entry.finished(outcome === 'interrupted' ? 'released' : undefined);
    return true;
  }

  /** The caller pressed the callback key: the request is stored and the call ends. */
  async leaveCallback(entry: Entry): Promise<void> {
    await this.q.takeOut(entry);
    const requestedAt = new Date();
    this.q.write(`queue callback ${entry.id}`, this.q.deps.store.insertCallback({
      id: randomUUID(), queue_id: entry.queue.id, call_id: entry.call.callId, caller_number: entry.call.caller, requested_at: requestedAt,
    }));
    this.q.leave(entry, 'callback', false);
    await this.q.deps.media.playToEnd(entry.call.channelId, ['sound:auth-thankyou']);
    entry.finished();
  }

  /** Max wait reached, or the overflow key: the queue's overflow action takes the caller. */
  async overflow(entry: Entry): Promise<void> {
    if (!isWaiting(entry.state)) return;
    const { media, store, logger } = this.q.deps;
    await this.q.takeOut(entry);
    const action = entry.queue.overflow;
    this.q.leave(entry, 'overflow', false);
    let outcome: void | 'released' = undefined;
    try {
      if (action.action === 'hangup') {
        await media.playToEnd(entry.call.channelId, action.media ?? ['sound:tt-allbusy']);
      } else if (action.action === 'queue') {
        const next = await store.get(action.queueId);
        if (next) outcome = await this.ports.enqueue(entry.call, next, onwardRequest(entry, next));
      } else if (action.action === 'flow') {
        const runFlow = this.ports.runFlow();
        if (runFlow) outcome = await runFlow(entry.call, action.flowId);
        else await media.playToEnd(entry.call.channelId, ['sound:tt-allbusy']);
      } else {
        await this.takeMessage(entry, action.media ?? ['sound:vm-intro'], action.maxSeconds ?? 60);
      }
    } catch (err) {
      // Gone: the caller hung up during the overflow's action.
      if (!isGone(err)) logger.error({ err, entryId: entry.id }, 'overflow failed');
    }
    entry.finished(outcome);
  }

  /** The caller leaves a message after the beep; it is stored as a recording and a row. */
  private async takeMessage(entry: Entry, prompt: string[], maxSeconds: number): Promise<void> {
    const { media, store, logger } = this.q.deps;
    if ((await media.playToEnd(entry.call.channelId, prompt)) === 'channel_gone') return;
    const name = `${messageFolder}/${entry.id}`;
    const result = await media.record(entry.call.channelId, name, { maxDurationSeconds: maxSeconds, beep: true, terminateOn: '#' });
    if (result.outcome === 'failed') {
      logger.error({ entryId: entry.id }, 'recording the caller\'s message failed');
      return;
    }
    const createdAt = new Date();
    this.q.write(`queue message ${entry.id}`, store.insertMessage({
      id: randomUUID(), queue_id: entry.queue.id, call_id: entry.call.callId, caller_number: entry.call.caller,
      recording_name: name, duration_seconds: result.durationSeconds, created_at: createdAt,
    }));
    if (result.outcome === 'done') await media.playToEnd(entry.call.channelId, ['sound:auth-thankyou']);
  }
}
