import type { Bridge, Channel } from '../asterisk/ari-types.generated.js';
import type { Language } from '../ivr/flow.js';
import type { OpenEntryRow, QueueRow } from './store.js';
import { legMark, partiesOf, type Entry, type QueueEntries } from './entries.js';

export interface QueueReconcileReport { adopted: number; resumed: number; closed: number; legsHungUp: number; agentsCorrected: number }

/** The engine's parts reconciliation moves callers through. */
export interface ReconcilePorts {
  callerGone: (channelId: string) => Promise<void>;
  connectedLegGone: (legId: string) => void;
  hold: (entry: Entry) => Promise<void>;
  startWaiting: (entry: Entry) => void;
  dispatch: () => void;
  /** Consults and handed-over calls brought in line, those of an earlier process taken up (consult.ts), before agents' states are judged. */
  consults: (view: { channels: Channel[]; bridges: Bridge[] }) => Promise<number>;
}

/**
 * Brings entries in line with what Asterisk has. `view` is one listing of
 * channels and bridges taken after the calls were reconciled; `language` is
 * the language of callers whose call row has none. After a restart of
 * centralita, calls already bridged with an agent are adopted (they go on
 * and end properly), callers still waiting or ringing are resumed (back on
 * hold, offered again), and entries whose caller is gone are closed; after a
 * restart of Asterisk every entry's caller is gone.
 */
export async function reconcileEntries(
  q: QueueEntries, ports: ReconcilePorts, view: { channels: Channel[]; bridges: Bridge[]; listedAt: Date }, language: Language,
): Promise<QueueReconcileReport> {
  const { store, agents, helpers, bus, logger } = q.deps;
  const report: QueueReconcileReport = { adopted: 0, resumed: 0, closed: 0, legsHungUp: 0, agentsCorrected: 0 };
  const alive = new Map(view.channels.map((c) => [c.id, c]));
  // 1. Entries this process holds (a reconnection: Asterisk restarted, or the socket dropped).
  for (const entry of [...q.entries.values()]) {
    if (!alive.has(entry.call.channelId)) {
      await ports.callerGone(entry.call.channelId);
      report.closed += 1;
      continue;
    }
    if (entry.state === 'connected' && entry.connected && !alive.has(entry.connected.legId)) ports.connectedLegGone(entry.connected.legId);
    for (const legId of [...entry.legs.keys()]) {
      if (!alive.has(legId)) await q.apply(entry, { type: 'legLost', legId });
    }
    q.step(entry, { type: 'offerAborted' });
  }
  // 2. Entries an earlier process left open.
  const open = await store.openEntries();
  for (const row of open) {
    if (q.entries.has(row.id)) continue;
    const queue = await store.get(row.queue_id);
    const caller = alive.get(row.channel_id);
    if (!caller || !queue) {
      await closeLeftEntry(q, row, view.listedAt);
      report.closed += 1;
      continue;
    }
    const entry = entryOf(q, row, queue, row.language === 'en' || row.language === 'es' ? row.language : language);
    const bridge = view.bridges.find((b) => b.channels.includes(row.channel_id));
    const legId = bridge?.channels.find((id) => id.startsWith(`${row.id}${legMark}`));
    if (row.answered_by && bridge && legId && bridge.bridge_type === 'mixing') {
      q.step(entry, { type: 'adopt' });
      entry.connected = { agentId: row.answered_by, legId, bridgeId: bridge.id };
      q.add(entry);
      if (agents.stateOf(row.answered_by).callId !== row.call_id) {
        await q.settleAgent(row.answered_by, { type: 'answer', callId: row.call_id });
      }
      bus.emit('queue.connected', partiesOf(entry)!);
      report.adopted += 1;
      continue;
    }
    // Waiting or ringing (or answered but never bridged): the caller goes back on hold.
    if (row.answered_by) {
      q.write(`queue entry ${row.id} not bridged`, store.updateEntry(row.id, { answered_at: null, answered_by: null, wait_seconds: null }));
    }
    await store.endOpenOffers(row.id, view.listedAt, 'failed').catch((err: unknown) => {
      logger.warn({ err, entryId: row.id }, 'could not close the offers of a resumed caller');
    });
    if (bridge) await helpers.destroyBridge(bridge.id);
    q.add(entry);
    await ports.hold(entry);
    ports.startWaiting(entry);
    logger.info({ entryId: entry.id, callId: row.call_id }, 'a waiting caller resumed after a restart');
    report.resumed += 1;
  }
  // 3. Calls handed over to a colleague (no agent, the entry closed): their colleague is on them.
  report.adopted += await ports.consults(view);
  // 4. Agent legs nobody owns now (ringing when the earlier process died), and empty bridges it left.
  const owned = new Set([...q.entries.values()].flatMap((e) => [...e.legs.keys(), ...(e.connected ? [e.connected.legId] : [])]));
  for (const channel of view.channels) {
    if (channel.id.includes(legMark) && !owned.has(channel.id)) {
      await helpers.hangup(channel.id);
      report.legsHungUp += 1;
    }
  }
  for (const bridge of view.bridges) {
    if (bridge.channels.length === 0 && /^(queue|call)-/.test(bridge.name)) await helpers.destroyBridge(bridge.id);
  }
  // 5. Agents whose state names a call or an offer that is no more.
  const busy = q.busyAgents();
  for (const state of agents.allStates()) {
    const command = state.status === 'ringing' && !busy.has(state.agentId)
      ? { type: 'withdraw' as const }
      : state.status === 'on_call' && state.callId !== null && !busy.has(state.agentId) ? { type: 'callEnded' as const, wrapUpEndsAt: null } : undefined;
    if (!command) continue;
    // Refused only when the agent's state moved on meanwhile: then it needs no correcting.
    await agents.command(state.agentId, command, 'system').then(() => { report.agentsCorrected += 1; }, () => undefined);
  }
  if (Object.values(report).some((n) => n > 0)) logger.info(report, 'queues reconciled with Asterisk');
  ports.dispatch();
  return report;
}

/** An entry rebuilt from its row (its IVR skills are not stored: the queue's apply). */
function entryOf(q: QueueEntries, row: OpenEntryRow, queue: QueueRow, callLanguage: Language): Entry {
  return {
    id: row.id, call: { channelId: row.channel_id, callId: row.call_id, caller: row.caller_number, did: row.did ?? '' }, queue, priority: row.priority,
    skills: { ...queue.required_skills }, language: queue.language ?? null, callLanguage, announcing: false, enteredAt: row.entered_at,
    holdingBridgeId: undefined, holding: Promise.resolve(), state: 'waiting', legs: new Map(), connected: undefined, timers: [], ringTimer: undefined,
    disposition: row.disposition,
    // A hold going on when the process stopped goes on (an answered call adopted); a waiting caller has none.
    hold: { count: row.hold_count, seconds: Number(row.hold_seconds), since: row.answered_at ? row.hold_started_at : null, by: row.answered_at && row.hold_started_at ? 'phone' : null },
    // Nobody awaits an adopted entry: when it is over the caller's channel is hung up, unless handed on.
    finished: (outcome) => {
      if (outcome !== 'released') void q.deps.helpers.hangup(row.channel_id);
    },
  };
}

/** The largest number of seconds queue_entries' numeric(10,3) columns hold. */
const maxSeconds = 9_999_999;

/** An entry whose caller is gone: closed as the call left it. */
async function closeLeftEntry(q: QueueEntries, row: OpenEntryRow, at: Date): Promise<void> {
  const { store, bus } = q.deps;
  await store.endOpenOffers(row.id, at, 'caller_left');
  await store.apply(store.updateEntry(row.id, {
    left_at: at, outcome: row.answered_at ? 'answered' : 'abandoned',
    // Capped below the column's 10^7 s: an entry left open for months (a database restored from an old backup) still closes.
    ...(row.answered_at ? {} : { wait_seconds: Math.min(maxSeconds, (at.getTime() - row.entered_at.getTime()) / 1000) }),
    // A caller who left on hold while nobody watched: the hold ends with the call, as counted here.
    ...(row.hold_started_at ? { hold_seconds: Math.min(maxSeconds, Number(row.hold_seconds) + Math.max(0, (at.getTime() - row.hold_started_at.getTime()) / 1000)), hold_started_at: null } : {}),
  }));
  bus.emit('queue.entry', { queueId: row.queue_id, entryId: row.id, callId: row.call_id, event: 'left', outcome: row.answered_at ? 'answered' : 'abandoned', at: at.toISOString() });
}
