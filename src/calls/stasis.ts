import type { Ari } from '../asterisk/ari.js';
import { isGone, type AriHelpers } from '../asterisk/ari-helpers.js';
import type { ChannelRegistry } from '../asterisk/registry.js';
import type { StasisRouter, StasisStartEvent } from '../asterisk/stasis-router.js';
import type { Bridge, Channel } from '../asterisk/ari-types.generated.js';
import { hangupCauseText } from '../asterisk/causes.js';
import { parseCallEntry, type CallEntry } from '../asterisk/entry.js';
import type { Logger } from '../core/logger.js';
import type { CallsService } from './service.js';

/**
 * What happens on a call once it is answered, by how it entered. Each
 * handler owns the channel until its promise settles; the channel is then
 * hung up if it is still there.
 */
export interface CallRoutes {
  /**
   * 'released' when the channel was handed on (e.g. transferred) and must stay up.
   * `resumed`: an earlier process had the call (a restart); it goes on where it was.
   */
  did(channel: Channel, did: string, resumed?: boolean): Promise<void | 'released'>;
  feature(channel: Channel, code: string): Promise<void>;
  /**
   * After each (re)connection's reconciliation of calls: the other
   * capabilities judge what they held; returns the channels they drive now.
   */
  reconciled?(view: { channels: Channel[]; bridges: Bridge[]; listedAt: Date }): Promise<ReadonlySet<string>>;
}

/**
 * ARI events → the calls service. Every call that enters through the dialplan
 * (a DID or a feature code) gets a row; its digits and its end are recorded;
 * then the route for its kind of entry takes it.
 */
export function registerCallHandlers(
  ari: Ari, layer: { helpers: AriHelpers; router: StasisRouter; registry: ChannelRegistry }, calls: CallsService, logger: Logger, routes: CallRoutes,
): void {
  const { helpers, router, registry } = layer;
  // Asterisk 22 reports a remote BYE's cause (16) on a ChannelHangupRequest
  // and then cause 0 on ChannelDestroyed, so the last non-zero cause is kept.
  const hangupCauses = new Map<string, number>();
  // Digits keyed on feature-code calls include agents' PINs: never stored.
  const secretDigits = new Set<string>();

  const endCall = (channelId: string, at: Date, reportedCause: number): void => {
    const cause = reportedCause || hangupCauses.get(channelId) || null;
    hangupCauses.delete(channelId);
    secretDigits.delete(channelId);
    calls.callEnded(channelId, { at, cause, causeText: cause ? hangupCauseText(cause) : null });
  };

  const hangup = (channelId: string): Promise<void> => helpers.hangup(channelId, 'normal');

  /** The route for the call's kind of entry takes the channel; it is hung up when the route is done with it. */
  const drive = async (channel: Channel, entry: CallEntry & { kind: 'did' | 'feature' }, resumed = false): Promise<void> => {
    let outcome: void | 'released' = undefined;
    try {
      outcome = await (entry.kind === 'did' ? routes.did(channel, entry.did, resumed) : routes.feature(channel, entry.code));
    } catch (err) {
      if (!isGone(err)) logger.error({ err, channelId: channel.id, entry }, 'call handling failed');
    }
    if (outcome !== 'released' && calls.isTracked(channel.id)) await hangup(channel.id);
  };

  // Calls the dialplan sends: `did,<number>` and `feature,<code>`.
  const arrived = async (event: StasisStartEvent): Promise<void> => {
    const entry = parseCallEntry(event.args);
    const channel = event.channel;
    if (entry.kind === 'other') {
      // The dialplan sent a number or code that is not one: nobody can take it.
      logger.warn({ channelId: channel.id, args: event.args }, 'a call entered with arguments that are not a DID or a feature code; hanging it up');
      await hangup(channel.id);
      return;
    }
    if (entry.kind === 'feature') secretDigits.add(channel.id);
    calls.callArrived({
      channelId: channel.id,
      direction: entry.kind === 'did' ? 'inbound' : 'internal',
      callerNumber: channel.caller.number,
      callerName: channel.caller.name,
      did: entry.kind === 'did' ? entry.did : null,
      language: channel.language || null,
      at: new Date(event.timestamp),
    });
    // ChannelDestroyed carries the hangup cause: it must come after StasisEnd too.
    void helpers.subscribe(channel.id);
    try {
      await ari.request('channels.answer', { channelId: channel.id });
      calls.callAnswered(channel.id, new Date());
    } catch (err) {
      if (!isGone(err)) logger.error({ err, channelId: channel.id, entry }, 'answering the call failed');
      if (calls.isTracked(channel.id)) await hangup(channel.id);
      return;
    }
    await drive(channel, entry);
  };
  router.claim('did', { role: 'caller', start: arrived });
  router.claim('feature', { role: 'caller', start: arrived });

  ari.on('ChannelDtmfReceived', (event) => {
    if (calls.isTracked(event.channel.id) && !secretDigits.has(event.channel.id)) calls.digitReceived(event.channel.id, event.digit, new Date(event.timestamp));
  });

  // Should ChannelDestroyed not come (the subscription lost a race with the
  // hang-up), StasisEnd still closes the call, without a cause.
  ari.on('StasisEnd', (event) => {
    const channelId = event.channel.id;
    if (!calls.isTracked(channelId)) return;
    setTimeout(() => {
      if (!calls.isTracked(channelId)) return;
      ari.request('channels.get', { channelId }).catch((err: unknown) => {
        if (isGone(err)) endCall(channelId, new Date(event.timestamp), 0);
      });
    }, 3000).unref();
  });

  ari.on('ChannelHangupRequest', (event) => {
    if (event.cause && calls.isTracked(event.channel.id)) hangupCauses.set(event.channel.id, event.cause);
  });

  // Each dial made for a call (a queue ringing an agent, a transfer to a
  // phone through the dialplan) and how it ended.
  ari.on('Dial', (event) => {
    const callerId = event.caller?.id;
    if (!callerId || !event.dialstatus || !calls.isTracked(callerId)) return;
    calls.noteEvent(callerId, 'dial', { peer: event.peer.name, status: event.dialstatus }, new Date(event.timestamp));
  });

  ari.on('ChannelDestroyed', (event) => endCall(event.channel.id, new Date(event.timestamp), event.cause));

  // Every (re)connection: the record is brought in line with Asterisk's
  // channels, then the queues with its bridges (routes.reconciled); calls
  // still in our application that nobody drives any more (an earlier process
  // had them in its IVR or feature codes) start their route again.
  ari.onConnected(async () => {
    const listedAt = new Date();
    const channels = await ari.request('channels.list', {});
    const { adoptedChannels } = await calls.reconcile(new Set(channels.map((c) => c.id)), listedAt);
    // Adopted calls' ChannelDestroyed must keep coming (queues end entries on it).
    for (const channelId of adoptedChannels) {
      void helpers.subscribe(channelId);
    }
    const bridges = await ari.request('bridges.list', {});
    // The registry of channels and bridges starts again from this listing, before the capabilities judge theirs.
    registry.rebuild(ari.app, { channels, bridges, listedAt });
    const driven = await routes.reconciled?.({ channels, bridges, listedAt });
    const bridged = new Set(bridges.flatMap((b) => b.channels));
    for (const channel of channels) {
      if (!adoptedChannels.includes(channel.id) || bridged.has(channel.id) || driven?.has(channel.id)) continue;
      const [app, ...args] = channel.dialplan.app_name === 'Stasis' ? channel.dialplan.app_data.split(',') : [];
      const entry = parseCallEntry(args);
      if (app !== ari.app || entry.kind === 'other') continue;
      if (entry.kind === 'feature') secretDigits.add(channel.id);
      calls.noteEvent(channel.id, 'resumed', { after: 'restart' }, listedAt);
      logger.info({ channelId: channel.id, entry }, 'a call left in our application by an earlier run is taken up again');
      void drive(channel, entry, true);
    }
  });
}
