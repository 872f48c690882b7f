import { randomUUID } from 'node:crypto';
import type { AgentView } from '../agents/service.js';
import type { QueueRow, QueuesStore } from './store.js';
import { chooseAgents, type Candidate, type CallerNeeds } from './strategy.js';
import { byServiceOrder, legArg, legMark, partiesOf, type Entry, type QueueEntries } from './entries.js';
import { beside } from '../asterisk/media-servers.js';

/** Database reads shared by one dispatch pass: a queue's members, an agent's row. */
interface PassReads {
  /** Per queue: its members free at the start of the pass (not busy, not reserved, available). */
  free: Map<string, ReturnType<QueuesStore['members']>>;
  agents: Map<string, Promise<AgentView | undefined>>;
  /** Agents with a caller of the queues (ringing or talking) at the start of the pass. */
  busy: Set<string>;
}

/**
 * Matches waiting callers with free agents: the queue's strategy picks
 * available, qualified members; their phones are rung with ARI
 * (channels.create + dial); the first to answer is bridged with the caller.
 * Offers are written as they happen.
 */
export class Dispatcher {
  private dispatching = false;
  private dispatchAgain = false;
  /** Agents chosen for an offer whose ringing is still being set up. */
  private readonly reserved = new Set<string>();
  private readonly lastOffered = new Map<string, Date>();

  constructor(private readonly q: QueueEntries) {}

  /** Offers waiting callers to free agents until no more matches can be made. */
  async dispatch(): Promise<void> {
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.dispatchAgain = false;
        const waiting = [...this.q.entries.values()].filter((e) => e.state === 'waiting').sort(byServiceOrder);
        const taken = new Set<string>();
        const reads: PassReads = { free: new Map(), agents: new Map(), busy: this.q.busyAgents() };
        for (const entry of waiting) {
          const needs = { skills: entry.skills, language: entry.language };
          const candidates = (await this.candidates(entry.queue, needs, reads)).filter((c) => !taken.has(c.agentId));
          const chosen = chooseAgents(entry.queue.strategy, candidates, needs);
          if (chosen.length === 0 || entry.state !== 'waiting') continue;
          const agentIds = chosen.map((c) => c.agentId);
          for (const id of agentIds) {
            taken.add(id);
            this.reserved.add(id);
          }
          // Offers are made side by side: each takes a few ARI round trips,
          // and made one after another they fell behind callers arriving at
          // 100 a second. The reservation keeps the agents out of the next
          // passes until their state says they are ringing (or not).
          this.q.step(entry, { type: 'offer' });
          this.offer(entry, agentIds).then(() => {
            for (const id of agentIds) this.reserved.delete(id);
            // Nobody could be rung: the caller waits again for the next agent.
            if (entry.state === 'waiting') void this.dispatch();
          }, (err: unknown) => {
            // Not retried at once (a fault that repeats would spin): the
            // caller waits for the next dispatch (an agent freed, a caller in).
            for (const id of agentIds) this.reserved.delete(id);
            this.q.deps.logger.error({ err, entryId: entry.id }, 'queue offer failed');
            this.q.step(entry, { type: 'offerAborted' });
          });
        }
      } while (this.dispatchAgain);
    } catch (err) {
      this.q.deps.logger.error({ err }, 'queue dispatch failed');
    } finally {
      this.dispatching = false;
    }
  }

  /**
   * The queue's members free to take a caller with these needs. Under load
   * this runs for every waiting caller on every dispatch, so each database
   * read is made at most once per dispatch pass (`reads`), and an agent's row
   * is read only for its skills, when the caller needs some: an available
   * agent is checked in, and only a checked-out agent can be deactivated.
   */
  private async candidates(queue: QueueRow, needs: CallerNeeds, reads: PassReads): Promise<Candidate[]> {
    const { store, agents } = this.q.deps;
    let freeRead = reads.free.get(queue.id);
    if (!freeRead) {
      reads.free.set(queue.id, freeRead = store.members(queue.id).then((members) => members.filter((m) =>
        !reads.busy.has(m.agent_id) && !this.reserved.has(m.agent_id) && agents.presence(m.agent_id).status === 'available')));
    }
    // Checked again: an agent's state may have changed during the pass.
    const available = (await freeRead).filter((m) => agents.presence(m.agent_id).status === 'available');
    if (available.length === 0) return [];
    const calls = queue.strategy === 'fewest_calls' ? await store.answeredSince(startOfDay()) : new Map<string, number>();
    const needsSkills = Object.keys(needs.skills).length > 0 || needs.language !== null;
    const agentRead = (agentId: string): Promise<AgentView | undefined> => {
      let read = reads.agents.get(agentId);
      // Rejects only for an agent deleted meanwhile (404): no candidate then.
      if (!read) reads.agents.set(agentId, read = agents.getAgent(agentId).catch(() => undefined));
      return read;
    };
    const rows = needsSkills ? await Promise.all(available.map((m) => agentRead(m.agent_id))) : [];
    const result: Candidate[] = [];
    available.forEach((m, i) => {
      const agent = rows[i];
      const state = agents.presence(m.agent_id);
      if ((needsSkills && !agent?.active) || !state.extension) return;
      result.push({
        agentId: m.agent_id, penalty: m.penalty, idleSince: state.since ?? new Date(0), callsToday: calls.get(m.agent_id) ?? 0,
        lastOfferedAt: this.lastOffered.get(`${queue.id}:${m.agent_id}`) ?? null, skills: agent?.skills ?? {},
      });
    });
    return result;
  }

  /**
   * The queue's members free now for a consult (consult.ts), best first by
   * its strategy, without `exclude` (the consulting agent). The caller of a
   * consult has no skills of their own to match.
   */
  async freeAgents(queue: QueueRow, exclude: string): Promise<string[]> {
    const reads: PassReads = { free: new Map(), agents: new Map(), busy: this.q.busyAgents() };
    const needs: CallerNeeds = { skills: {}, language: null };
    const candidates = (await this.candidates(queue, needs, reads)).filter((c) => c.agentId !== exclude);
    const ordered: string[] = [];
    // The strategy picks one (or all, ringall) at a time: asked again without those already picked.
    for (let left = candidates; left.length > 0;) {
      const chosen = chooseAgents(queue.strategy, left, needs).map((c) => c.agentId);
      if (chosen.length === 0) break;
      ordered.push(...chosen);
      left = left.filter((c) => !chosen.includes(c.agentId));
    }
    return ordered;
  }

  /** Rings the chosen agents' phones, side by side with other offers; the entry is offering. */
  private async offer(entry: Entry, agentIds: string[]): Promise<void> {
    const { ari, helpers, agents, site, store, logger } = this.q.deps;
    for (const agentId of agentIds) {
      // An agent offered a call is available, so checked in at a phone.
      const extension = agents.stateOf(agentId).extension ?? '';
      try {
        await agents.command(agentId, { type: 'offer', callId: entry.call.callId }, 'system');
      } catch {
        continue; // the agent changed state meanwhile (409) or was deleted (404): not rung
      }
      this.lastOffered.set(`${entry.queue.id}:${agentId}`, new Date());
      // The entry's id is in the leg's: after a restart its legs are found by it.
      const legId = `${entry.id}${legMark}${randomUUID().slice(0, 8)}`;
      try {
        // Dial is refused (409) until the leg is in Stasis.
        // Beside the caller: a call lives on one media server (docs/scale-out.md).
        const leg = await beside(ari, entry.call.channelId, () => helpers.intoStasis(legId, () => ari.request('channels.create', {
          endpoint: site.phone(extension), app: ari.app, appArgs: `${legArg},${entry.id}`, channelId: legId,
          // The phone's TRANSFER key (REFER) comes to ARI (ChannelTransfer), not to Asterisk's own transfer.
          variables: { 'CALLERID(name)': `${entry.queue.name}: ${entry.call.caller}`, 'PJSIP_TRANSFER_HANDLING()': 'ari-only' },
        })));
        // Not offering any more (the caller left, or a faster agent answered): the leg is hung up.
        if (entry.state !== 'offering') {
          await this.q.apply(entry, { type: 'legRinging', legId: leg.id, agentId });
          continue;
        }
        this.q.step(entry, { type: 'legRinging', legId: leg.id, agentId });
        const offeredAt = new Date();
        this.q.write(`queue offer ${entry.id} ${agentId}`, store.insertOffer({ entry_id: entry.id, agent_id: agentId, offered_at: offeredAt, ended_at: null, result: null }));
        this.q.announce(entry, 'offered', { agentId });
        // caller: the agent's phone shows the caller's number (connected line).
        await ari.request('channels.dial', { channelId: leg.id, caller: entry.call.channelId, timeout: entry.queue.ring_timeout_seconds });
      } catch (err) {
        logger.warn({ err, agentId, entryId: entry.id }, 'could not ring the agent');
        await this.q.apply(entry, { type: 'legFailed', legId, agentId });
      }
    }
    await this.q.apply(entry, { type: 'offersDone' });
  }

  /** Nobody answered in time: those agents are paused (RONA) and the caller goes to the next. */
  async ringTimeout(entry: Entry): Promise<void> {
    await this.q.apply(entry, { type: 'ringTimeout' });
  }

  /** An agent's phone answered: the other phones stop ringing and the caller is bridged with this agent. */
  async legAnswered(legId: string): Promise<void> {
    const entry = this.q.byLeg(legId);
    const agentId = entry?.legs.get(legId);
    if (!entry || !agentId) return;
    if ((await this.q.apply(entry, { type: 'legAnswered', legId })).ignored) return;
    const { ari, helpers, agents, store, bus, logger } = this.q.deps;
    const answeredAt = new Date();
    await agents.command(agentId, { type: 'answer', callId: entry.call.callId }, 'system').catch((err: unknown) => {
      logger.warn({ err: (err as Error).message, agentId }, 'agent state on answer not applied');
    });
    this.q.answered(agentId);
    this.q.endOffer(entry, agentId, 'answered');
    const waitSeconds = (answeredAt.getTime() - entry.enteredAt.getTime()) / 1000;
    this.q.write(`queue entry ${entry.id} answered`, store.updateEntry(entry.id, { answered_at: answeredAt, answered_by: agentId, wait_seconds: waitSeconds }));
    this.q.announce(entry, 'answered', { agentId });
    try {
      await this.q.leaveHold(entry);
      // dtmf_events: a mixing bridge passes keys through without telling
      // ARI; the agent's ## transfer keys must reach us (and not the caller).
      const bridge = await beside(ari, entry.call.channelId, () => ari.request('bridges.create', { type: 'mixing,dtmf_events', name: `call-${entry.call.callId}` }));
      entry.connected = { agentId, legId, bridgeId: bridge.id };
      await ari.request('bridges.addChannel', { bridgeId: bridge.id, channel: entry.call.channelId });
      await ari.request('bridges.addChannel', { bridgeId: bridge.id, channel: legId, absorbDTMF: true });
      // On hold (the agent's HOLD key, or the API) the caller's channel plays its music class: the queue's.
      await helpers.quietly('setting the caller\'s music class', { channelId: entry.call.channelId }, () => ari.request('channels.setChannelVar', {
        channelId: entry.call.channelId, variable: 'CHANNEL(musicclass)', value: entry.queue.music_on_hold,
      }));
      if (entry.state === 'connected') {
        bus.emit('queue.connected', partiesOf(entry)!);
        // The agent's desk page shows the call's controls once the call is bridged.
        bus.emit('queue.call', { queueId: entry.queue.id, entryId: entry.id, callId: entry.call.callId, agentId, event: 'connected', holdSince: null, at: new Date().toISOString() });
      }
      // A supervisor changed the agent's state since their last call: their phone says so (the caller does not hear it).
      if (agents.takeForcedNotice(agentId)) void this.sayForced(legId);
    } catch (err) {
      logger.error({ err, entryId: entry.id }, 'could not bridge the caller with the agent');
      await helpers.hangup(legId);
      await helpers.hangup(entry.call.channelId);
      // The agent answered, but no connected call will free them: there is
      // no bridge (its media server died as the agent answered), or the
      // caller hung up while it was being made (their entry already left as
      // abandoned). Freed here; otherwise the caller's end frees them.
      if (!entry.connected || this.q.byCaller(entry.call.channelId) !== entry) {
        await agents.command(agentId, { type: 'callEnded', wrapUpEndsAt: null }, 'system').catch((failure: unknown) => {
          logger.warn({ err: (failure as Error).message, agentId }, 'agent not freed after a failed bridge');
        });
      }
    }
  }

  /**
   * Tells the agent, on their call's first seconds, that a supervisor changed
   * their state. Played the moment the leg joins the bridge it sometimes
   * fails at once (the leg still settling in the bridge): tried once more.
   */
  private async sayForced(legId: string): Promise<void> {
    const { helpers, media } = this.q.deps;
    for (const delayMs of [0, 300]) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const outcome = await helpers.quietly('telling the agent of a forced state', { channelId: legId }, () => media.playToEnd(legId, ['sound:centralita/agent-state-forced']));
      if (outcome !== 'failed') return;
    }
  }

  /** An agent leg ended before anyone answered it: busy, rejected or unreachable. */
  async legGone(legId: string): Promise<void> {
    const entry = this.q.byLeg(legId);
    this.q.legs.delete(legId);
    if (entry) await this.q.apply(entry, { type: 'legGone', legId });
  }
}

function startOfDay(): Date {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d;
}
