import { randomUUID } from 'node:crypto';
import type { Channel } from './ari-types.generated.js';
import type { AriClient } from './ari.js';
import { isGone, type AriHelpers, type AriPort } from './ari-helpers.js';
import type { CallParties, ChannelRegistry } from './registry.js';
import { defaultSite, type AsteriskSite } from './site.js';

/**
 * An agent's direct calls: calls made or taken on the desk phone outside
 * centralita's application (desk phone to desk phone through the dialplan,
 * a carrier call an IVR transferred to the phone). Asterisk bridges those
 * itself, so centralita learns of one only when it needs it (a supervisor
 * asks to listen): the agent's desk phone channel that is up and not in our
 * application. The call is then linked in the registry under an id of its
 * own, and its channel subscribed to, so that its end (ChannelDestroyed)
 * unlinks it. The subscriptions are made again on each (re)connection; the
 * registry's rebuild drops the calls whose channel ended meanwhile.
 */
export class DirectCalls {
  constructor(
    private readonly ari: AriPort & Pick<AriClient, 'onConnected'>,
    private readonly helpers: AriHelpers,
    private readonly registry: ChannelRegistry,
    private readonly site: AsteriskSite = defaultSite,
  ) {
    ari.onConnected(async () => {
      for (const call of registry.directCalls()) await helpers.subscribe(call.agentChannelId);
    });
  }

  /** The call the agent is on now: a linked one (queue or direct) first, else the desk phone's direct call, if any. */
  async find(agentId: string, extension: string | null): Promise<CallParties | undefined> {
    const known = this.registry.callOf({ agentId });
    if (known || !extension) return known;
    const channels = await this.ari.request('channels.list', {});
    const channel = channels.find((c) => c.state === 'Up' && this.site.extensionOfChannel(c) === extension && !this.ours(c));
    if (!channel) return undefined;
    // Asked twice at once: the first one's link stands (checked again below, after the bridge listing).
    // Who is on the other end: a supervisor must not listen to their own call, nor to another team's agent.
    const bridge = (await this.ari.request('bridges.list', {})).find((b) => b.channels.includes(channel.id));
    const peerId = bridge?.channels.find((id) => id !== channel.id);
    const peer = channels.find((c) => c.id === peerId);
    const peerExtension = peer ? this.site.extensionOfChannel(peer) : undefined;
    const again = this.registry.callOf({ agentId });
    if (again) return again;
    const call: CallParties = { kind: 'direct', callId: randomUUID(), agentId, agentChannelId: channel.id, ...(peerExtension ? { peerExtension } : {}) };
    this.registry.linkCall(call);
    await this.helpers.subscribe(channel.id);
    // It may have ended between the listing and the subscription, whose
    // ChannelDestroyed then never comes.
    const still = await this.ari.request('channels.get', { channelId: channel.id }).catch((err: unknown) => {
      if (isGone(err)) return undefined;
      throw err;
    });
    if (!still) {
      this.registry.unlinkCall(call.callId);
      return undefined;
    }
    return call;
  }

  private ours(channel: Channel): boolean {
    return channel.dialplan.app_name === 'Stasis' && channel.dialplan.app_data.split(',')[0] === this.ari.app;
  }
}
