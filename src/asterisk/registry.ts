import type { Bridge, Channel } from './ari-types.generated.js';
import type { AriClient } from './ari.js';
import type { AriPort } from './ari-helpers.js';

/** What a channel is to a call, from its Stasis kind (StasisRouter.claim names it). */
export type ChannelRole = 'caller' | 'agent' | 'supervisor' | 'snoop';

export interface RegisteredChannel {
  id: string;
  /** Its first Stasis argument (did, feature, queue-leg…). */
  kind: string;
  role: ChannelRole | undefined;
  /** The bridge it is in now, if any. */
  bridgeId: string | undefined;
  /** When an event last told of it (ms): a rebuild keeps what is newer than its listing. */
  seenAt: number;
}

/**
 * Who is on a call the call layer knows: a queue call (linked by the queues
 * when it connects) or an agent's direct call, one made or taken on the desk
 * phone outside the application (found by DirectCalls when asked).
 */
export interface CallParties {
  kind: 'queue' | 'direct' | 'outbound';
  callId: string;
  agentId: string;
  /** The agent's channel: their queue leg, or their desk phone's own channel on a direct call. */
  agentChannelId: string;
  /** The caller's channel, where centralita drives it (queue calls). */
  callerChannelId?: string;
  /** The call's mixing bridge in our application (queue calls); a direct call's bridge is the dialplan's. */
  bridgeId?: string;
  /** The other party's desk phone, when a direct call is with one (found in the dialplan's bridge). */
  peerExtension?: string;
  /** The queue entry and its queue (queue calls). */
  entryId?: string;
  queueId?: string;
}

export interface RegisteredBridge {
  id: string;
  type: Bridge['bridge_type'];
  channels: Set<string>;
  seenAt: number;
}

/**
 * The live map of centralita's channels and bridges: which channels are in
 * the application, what each is to its call (caller, agent, supervisor,
 * snoop) and who is bridged with whom. It is kept from ARI's events
 * (StasisStart through the router, bridge entries and exits, ends) and,
 * because Asterisk replays nothing missed while the socket was down,
 * rebuilt from ARI's channel and bridge lists on every (re)connection
 * (`rebuild`, fed with the listing the calls' reconciliation makes).
 * It also knows who is on each call connected to an agent (`linkCall`,
 * `callOf`): the queues link their calls as they connect, DirectCalls the
 * agents' direct calls when asked; monitoring and recording read them here.
 * Memory only: nothing here needs to survive a restart.
 */
export class ChannelRegistry {
  private readonly channels = new Map<string, RegisteredChannel>();
  private readonly bridges = new Map<string, RegisteredBridge>();
  private readonly roles = new Map<string, ChannelRole>();
  private readonly bridgeWaits = new Map<string, Set<() => void>>();
  private readonly calls = new Map<string, CallParties>();
  /** When each call was linked (ms): a direct call linked after a listing was taken is not judged by it. */
  private readonly linkedAt = new Map<string, number>();
  private readonly linkedListeners = new Set<(call: CallParties) => void>();
  private readonly endedListeners = new Set<(call: CallParties) => void>();
  /** Channels that ended since the connection began: a listing taken before their end must not bring them back. */
  private endedSinceConnect: Set<string> | undefined;

  constructor(ari: AriPort & Pick<AriClient, 'onConnected'>) {
    ari.onConnected(() => { this.endedSinceConnect = new Set(); });
    ari.on('ChannelEnteredBridge', (event) => {
      if (event.channel) this.entered(event.channel.id, event.bridge);
    });
    ari.on('ChannelLeftBridge', (event) => this.left(event.channel.id, event.bridge.id));
    ari.on('BridgeDestroyed', (event) => {
      const bridge = this.bridges.get(event.bridge.id);
      for (const id of bridge?.channels ?? []) {
        const channel = this.channels.get(id);
        if (channel?.bridgeId === event.bridge.id) channel.bridgeId = undefined;
      }
      this.bridges.delete(event.bridge.id);
    });
    // A channel stops being ours when it leaves the application (hung up, or
    // handed to the dialplan) or is destroyed, whichever ARI tells first.
    ari.on('StasisEnd', (event) => this.forget(event.channel.id));
    ari.on('ChannelDestroyed', (event) => this.forget(event.channel.id));
  }

  /** Which role channels of a Stasis kind have (set by StasisRouter.claim). */
  setRole(kind: string, role: ChannelRole): void {
    this.roles.set(kind, role);
  }

  /** A channel entered the application (told by the StasisRouter). */
  channelEntered(channelId: string, kind: string): void {
    const known = this.channels.get(channelId);
    this.channels.set(channelId, { id: channelId, kind, role: this.roles.get(kind), bridgeId: known?.bridgeId, seenAt: Date.now() });
  }

  /**
   * Starts again from one listing of Asterisk's channels and bridges: the
   * application's channels (Stasis with our app name) and the bridges they
   * are in. What events told after the listing was taken (`listedAt`) is
   * newer than the listing and kept.
   */
  rebuild(app: string, view: { channels: Channel[]; bridges: Bridge[]; listedAt: Date }): void {
    const since = view.listedAt.getTime();
    const freshChannels = [...this.channels.values()].filter((c) => c.seenAt >= since);
    const freshBridges = [...this.bridges.values()].filter((b) => b.seenAt >= since);
    this.channels.clear();
    this.bridges.clear();
    for (const c of view.channels) {
      const [name, kind] = c.dialplan.app_name === 'Stasis' ? c.dialplan.app_data.split(',') : [];
      if (name !== app || this.endedSinceConnect?.has(c.id)) continue;
      this.channels.set(c.id, { id: c.id, kind: kind ?? '', role: this.roles.get(kind ?? ''), bridgeId: undefined, seenAt: since });
    }
    for (const b of view.bridges) {
      const members = b.channels.filter((id) => this.channels.has(id));
      if (members.length === 0) continue;
      this.bridges.set(b.id, { id: b.id, type: b.bridge_type, channels: new Set(members), seenAt: since });
      for (const id of members) this.channels.get(id)!.bridgeId = b.id;
    }
    for (const b of freshBridges) this.bridges.set(b.id, b);
    for (const c of freshChannels) {
      const listed = this.channels.get(c.id);
      if (listed?.bridgeId && listed.bridgeId !== c.bridgeId) this.bridges.get(listed.bridgeId)?.channels.delete(c.id);
      this.channels.set(c.id, c);
      if (c.bridgeId) this.bridges.get(c.bridgeId)?.channels.add(c.id);
    }
    const listed = new Set(view.channels.map((c) => c.id));
    for (const call of [...this.calls.values()]) {
      // A direct call's channel that ended while the socket was down: its ChannelDestroyed never came.
      if (call.kind !== 'direct' || (this.linkedAt.get(call.callId) ?? 0) >= since) continue;
      if (!listed.has(call.agentChannelId) || this.endedSinceConnect?.has(call.agentChannelId)) this.unlinkCall(call.callId);
    }
    this.endedSinceConnect = undefined;
  }

  // ---- calls: who is on each call ----

  /** A call's parties are known (a queue call connected, a direct call found): replaces what was known of that call. */
  linkCall(call: CallParties): void {
    const before = this.calls.get(call.callId);
    // The same call on to another entry or agent (a transfer whose "left" has not come yet): the old part ended.
    if (before && (before.entryId !== call.entryId || before.agentId !== call.agentId)) this.unlinkCall(before.callId);
    this.calls.set(call.callId, call);
    this.linkedAt.set(call.callId, Date.now());
    for (const listener of [...this.linkedListeners]) listener(call);
  }

  /**
   * A call's agent part ended (hung up, transferred on). With `entryId`,
   * only while the call is still that queue entry's: a call transferred to
   * another queue is already the next entry's.
   */
  unlinkCall(callId: string, entryId?: string): void {
    const call = this.calls.get(callId);
    if (!call || (entryId !== undefined && call.entryId !== entryId)) return;
    this.calls.delete(callId);
    this.linkedAt.delete(callId);
    for (const listener of [...this.endedListeners]) listener(call);
  }

  /** The call, or the agent's call, connected now. */
  callOf(by: { callId: string } | { agentId: string }): CallParties | undefined {
    if ('callId' in by) return this.calls.get(by.callId);
    for (const call of this.calls.values()) if (call.agentId === by.agentId) return call;
    return undefined;
  }

  /** Every direct call known now. */
  directCalls(): CallParties[] {
    return [...this.calls.values()].filter((c) => c.kind === 'direct');
  }

  /** Told of every call linked (an agent's next call, for a supervisor following them). */
  onCallLinked(listener: (call: CallParties) => void): void {
    this.linkedListeners.add(listener);
  }

  /** Told of every call whose agent part ended. */
  onCallEnded(listener: (call: CallParties) => void): void {
    this.endedListeners.add(listener);
  }

  channel(channelId: string): RegisteredChannel | undefined {
    return this.channels.get(channelId);
  }

  /** The bridge a channel is in now. */
  bridgeOf(channelId: string): RegisteredBridge | undefined {
    return this.bridges.get(this.channels.get(channelId)?.bridgeId ?? '');
  }

  /** The channels in the same bridge as this one (not itself). */
  bridgedWith(channelId: string): RegisteredChannel[] {
    const bridge = this.bridgeOf(channelId);
    if (!bridge) return [];
    return [...bridge.channels].filter((id) => id !== channelId).map((id) => this.channels.get(id)).filter((c): c is RegisteredChannel => c !== undefined);
  }

  /**
   * Resolves true once the channel is in a bridge of `type` (at once if it
   * is), false after `timeoutMs`.
   */
  inBridge(channelId: string, type: Bridge['bridge_type'], timeoutMs: number): Promise<boolean> {
    return this.waitForBridge(channelId, () => this.bridgeOf(channelId)?.type === type, timeoutMs);
  }

  /**
   * Resolves true once the channel is in no bridge (at once if it is not),
   * false after `timeoutMs`. A bridge destroyed over ARI answers before its
   * channels have left it; a playback started on one of them meanwhile is
   * lost without a word (seen on 22.10: the caller heard nothing).
   */
  outOfBridge(channelId: string, timeoutMs: number): Promise<boolean> {
    return this.waitForBridge(channelId, () => this.bridgeOf(channelId) === undefined, timeoutMs);
  }

  private async waitForBridge(channelId: string, done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return true;
    let timer: NodeJS.Timeout | undefined;
    let waiter: (() => void) | undefined;
    try {
      return await new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
        waiter = () => { if (done()) resolve(true); };
        let set = this.bridgeWaits.get(channelId);
        if (!set) this.bridgeWaits.set(channelId, (set = new Set()));
        set.add(waiter);
      });
    } finally {
      clearTimeout(timer);
      const set = this.bridgeWaits.get(channelId);
      if (set && waiter) {
        set.delete(waiter);
        if (set.size === 0) this.bridgeWaits.delete(channelId);
      }
    }
  }

  private entered(channelId: string, bridge: Bridge): void {
    const now = Date.now();
    let entry = this.bridges.get(bridge.id);
    if (!entry) this.bridges.set(bridge.id, (entry = { id: bridge.id, type: bridge.bridge_type, channels: new Set(), seenAt: now }));
    entry.channels.add(channelId);
    entry.seenAt = now;
    // A channel whose StasisStart this process did not see (it was in the
    // application before a reconnection) is known from here on, of no kind.
    let channel = this.channels.get(channelId);
    if (!channel) this.channels.set(channelId, (channel = { id: channelId, kind: '', role: undefined, bridgeId: undefined, seenAt: now }));
    if (channel.bridgeId && channel.bridgeId !== bridge.id) this.bridges.get(channel.bridgeId)?.channels.delete(channelId);
    channel.bridgeId = bridge.id;
    channel.seenAt = now;
    for (const waiter of [...this.bridgeWaits.get(channelId) ?? []]) waiter();
  }

  private left(channelId: string, bridgeId: string): void {
    this.bridges.get(bridgeId)?.channels.delete(channelId);
    const channel = this.channels.get(channelId);
    if (channel?.bridgeId === bridgeId) {
      channel.bridgeId = undefined;
      channel.seenAt = Date.now();
    }
    for (const waiter of [...this.bridgeWaits.get(channelId) ?? []]) waiter();
  }

  private forget(channelId: string): void {
    this.endedSinceConnect?.add(channelId);
    for (const call of this.calls.values()) {
      if (call.kind === 'direct' && call.agentChannelId === channelId) { this.unlinkCall(call.callId); break; }
    }
    const channel = this.channels.get(channelId);
    if (!channel) return;
    if (channel.bridgeId) this.bridges.get(channel.bridgeId)?.channels.delete(channelId);
    this.channels.delete(channelId);
  }
}
