import type { AriHelpers } from '../asterisk/ari-helpers.js';
import type { Bridge, Channel } from '../asterisk/ari-types.generated.js';
import type { DirectCalls } from '../asterisk/direct-calls.js';
import type { WriteQueue } from '../core/write-queue.js';
import type { Logger } from '../core/logger.js';
import { joinsCall, legArg, monitorPrompts, snoopArg, type Connector } from './connector.js';
import type { Sessions } from './sessions.js';
import type { MonitorStore, SegmentRow, SessionRow } from './store.js';

export interface AriView { channels: Channel[]; bridges: Bridge[]; listedAt: Date }

export interface RestartDeps {
  app: string;
  helpers: AriHelpers;
  direct: DirectCalls;
  /** The agent's desk phone extension, to find a direct call. */
  extensionOf: (agentId: string) => Promise<string | null>;
  sessions: Sessions;
  connector: Connector;
  store: MonitorStore;
  writes: WriteQueue;
  logger: Logger;
}

/**
 * On every ARI (re)connection, after the queues have adopted their calls
 * (the view is that reconciliation's listing): live sessions whose
 * supervisor channel is gone (Asterisk restarted) end. A session an
 * earlier process left is adopted when the supervisor's channel is still
 * up: the supervisor stays on the call in the mode they had (put back if
 * the old process died halfway through a switch), and the session goes on
 * as if it had been this process's. Sessions that cannot be adopted are
 * closed and their channels and bridges removed, so no supervisor stays
 * silently attached to an agent. Returns the channels the sessions drive.
 */
export async function reconcileSessions(d: RestartDeps, view: AriView): Promise<ReadonlySet<string>> {
  const { sessions, connector, helpers } = d;
  const alive = new Map(view.channels.map((c) => [c.id, c]));
  for (const session of sessions.all()) {
    if (!alive.has(session.channelId)) void sessions.run(session, () => connector.finish(session, 'asterisk_lost', null));
  }
  const open = (await d.store.openSessions()).filter((row) => !sessions.has(row.id));
  const segments = await d.store.segmentsOf(open.map((row) => row.id));
  for (const row of open) {
    const channel = alive.get(row.supervisor_channel_id ?? '');
    if (channel?.state === 'Up') {
      adopt(d, row, segments.filter((s) => s.session_id === row.id), view);
      continue;
    }
    for (const c of view.channels) {
      if (c.id === row.supervisor_channel_id || c.id.startsWith(`${row.id}-`)) await helpers.hangup(c.id);
    }
    await helpers.destroyBridge(`${row.id}-monitor`);
    await d.writes.enqueue(`monitor session ${row.id} closed after restart`, d.store.closeSession(row.id, view.listedAt, channel ? 'restart' : 'asterisk_lost'));
    d.logger.warn({ sessionId: row.id, supervisorChannel: channel?.state ?? 'gone' }, 'closed a monitoring session left open by an earlier run');
  }
  const driven = new Set<string>();
  for (const session of sessions.all()) {
    driven.add(session.channelId);
    if (session.snoopId) driven.add(session.snoopId);
  }
  // Monitoring channels no session owns (a leg rung or a snoop made just before a crash, before its row was written).
  for (const c of view.channels) {
    const [app, kind] = c.dialplan.app_name === 'Stasis' ? c.dialplan.app_data.split(',') : [];
    const owner = c.id.split('-snoop-')[0]!; // a live session may be making its next snoop right now
    if (app === d.app && (kind === legArg || kind === snoopArg) && !driven.has(c.id) && !sessions.has(owner)) await helpers.hangup(c.id);
  }
  return driven;
}

/** Takes over a session an earlier process left, from what Asterisk shows of it. */
function adopt(d: RestartDeps, row: SessionRow, segments: SegmentRow[], view: AriView): void {
  const { sessions, connector } = d;
  const channelId = row.supervisor_channel_id!;
  const bridgeOf = (id: string): Bridge | undefined => view.bridges.find((b) => b.id === id);
  const monitorBridge = bridgeOf(`${row.id}-monitor`);
  const snoopMark = `${row.id}-snoop-`;
  const snoops = view.channels.filter((c) => c.id.startsWith(snoopMark));
  const last = segments.at(-1);
  const session = sessions.create({
    supervisorId: row.supervisor_id, agentId: row.agent_id, extension: row.extension, source: row.source, follow: row.follow,
    mode: last?.mode ?? 'listen', channelId,
  }, { id: row.id, firstCallId: row.call_id, createdAt: row.created_at, call: undefined });
  session.status = 'active';
  session.answeredAt = row.answered_at ?? view.listedAt;
  session.monitorBridgeId = monitorBridge?.id;
  session.snoops = Math.max(0, ...snoops.map((c) => Number(c.id.slice(snoopMark.length)) || 0));
  session.segments = segments.map((s) => ({ id: s.id, mode: s.mode, callId: s.call_id, source: s.source, startedAt: s.started_at, endedAt: s.ended_at }));
  session.open();
  void d.helpers.subscribe(channelId);
  void sessions.run(session, async () => {
    // The queues have linked their calls by now; a direct call is looked for on the agent's phone.
    const call = await d.direct.find(row.agent_id, await d.extensionOf(row.agent_id));
    session.call = call;
    session.where = monitorBridge?.channels.includes(channelId) ? 'monitor'
      : call?.bridgeId && bridgeOf(call.bridgeId)?.channels.includes(channelId) ? 'call' : 'none';
    const snoopId = session.where === 'monitor' ? monitorBridge!.channels.find((id) => id.startsWith(snoopMark)) : undefined;
    session.snoopId = snoopId;
    d.logger.info({ sessionId: row.id, where: session.where, mode: session.mode, snoopId, callId: call?.callId ?? null }, 'adopted a monitoring session left by an earlier run');
    if (row.status === 'ringing') sessions.answered(session);
    for (const snoop of snoops) if (snoop.id !== snoopId) await d.helpers.hangup(snoop.id);
    sessions.announce(session, 'started');
    const open = session.segments.at(-1);
    // A direct call has an id of this process's: its segment is renewed.
    const intact = open && !open.endedAt && open.callId === call?.callId
      && (joinsCall(call, session.mode) ? session.where === 'call' : session.where === 'monitor' && snoopId !== undefined);
    if (intact) return;
    // The old process died between steps (a switch, a call's end, the next call): finish the step.
    sessions.endSegment(session);
    if (!call) {
      if (session.where === 'call') session.where = 'none';
      await connector.dropSnoop(session);
      if (!session.follow) return connector.finish(session, 'call_ended', null, monitorPrompts.callEnded);
      return;
    }
    await connector.connect(session, session.mode, 'restart');
  });
}
