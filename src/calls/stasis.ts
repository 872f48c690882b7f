import type { AriClient } from '../asterisk/ari.js';
import { AriError } from '../asterisk/ari.js';
import type { Channel } from '../asterisk/ari-types.generated.js';
import { hangupCauseText } from '../asterisk/causes.js';
import { parseCallEntry } from '../asterisk/entry.js';
import type { Logger } from '../core/logger.js';
import type { CallsService } from './service.js';

/**
 * What happens on a call once it is answered, by how it entered. Each
 * handler owns the channel until its promise settles; the channel is then
 * hung up if it is still there.
 */
export interface CallRoutes {
  /** 'released' when the channel was handed on (e.g. transferred) and must stay up. */
  did(channel: Channel, did: string): Promise<void | 'released'>;
  feature(channel: Channel, code: string): Promise<void>;
}

/** A channel that is already gone answers 404; that is a hang-up race, not a fault. */
export const isChannelGone = (err: unknown): boolean => err instanceof AriError && err.status === 404;

/**
 * ARI events → the calls service. Every call that enters through the dialplan
 * (a DID or a feature code) gets a row; its digits and its end are recorded;
 * then the route for its kind of entry takes it.
 */
export function registerCallHandlers(ari: AriClient, calls: CallsService, logger: Logger, routes: CallRoutes): void {
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

  const hangup = (channelId: string): Promise<void> =>
    ari.request('channels.hangup', { channelId, reason: 'normal' }).catch((err: unknown) => {
      if (!isChannelGone(err)) logger.warn({ err, channelId }, 'hang-up failed');
    });

  ari.on('StasisStart', async (event) => {
    const entry = parseCallEntry(event.args);
    if (entry.kind === 'other') return;
    const channel = event.channel;
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
    // A channel's events stop at StasisEnd, and with them ChannelDestroyed,
    // which carries the hangup cause; an explicit subscription keeps them coming.
    void ari.request('applications.subscribe', { applicationName: ari.app, eventSource: `channel:${channel.id}` })
      .catch((err: unknown) => logger.debug({ err, channelId: channel.id }, 'channel subscription failed'));
    let outcome: void | 'released' = undefined;
    try {
      await ari.request('channels.answer', { channelId: channel.id });
      calls.callAnswered(channel.id, new Date());
      outcome = await (entry.kind === 'did' ? routes.did(channel, entry.did) : routes.feature(channel, entry.code));
    } catch (err) {
      if (!isChannelGone(err)) logger.error({ err, channelId: channel.id, entry }, 'call handling failed');
    }
    if (outcome !== 'released' && calls.isTracked(channel.id)) await hangup(channel.id);
  });

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
        if (isChannelGone(err)) endCall(channelId, new Date(event.timestamp), 0);
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

  ari.onConnected(async () => {
    const listedAt = new Date();
    const channels = await ari.request('channels.list', {});
    await calls.reconcile(new Set(channels.map((c) => c.id)), listedAt);
  });
}
