import type { Logger } from '../core/logger.js';
import type { AriEventOf } from './ari.js';
import type { AriHelpers, AriPort } from './ari-helpers.js';

export type StasisStartEvent = AriEventOf<'StasisStart'>;
export type StasisStartHandler = (event: StasisStartEvent) => void | Promise<void>;

/**
 * The one StasisStart handler. Every channel that enters centralita's Stasis
 * application says what it is in its first argument: `did` and `feature`
 * from the dialplan, or the kind centralita gave it when it made it (an
 * agent leg `queue-leg`, a recorder's snoop `recording`, a supervisor's leg
 * `monitor-leg`, a monitoring snoop `monitor-snoop`). Each capability claims
 * its kinds; a channel of a kind nobody claimed (a dialplan mistake, a
 * channel some other tool sent to the app) is hung up and logged, so that
 * nothing sits in the application with nobody driving it.
 *
 * Channels made with `AriHelpers.intoStasis` are told apart by id, so the
 * wait for their StasisStart is settled here first, whatever their kind.
 */
export class StasisRouter {
  private readonly claims = new Map<string, StasisStartHandler>();

  constructor(ari: AriPort, private readonly helpers: AriHelpers, private readonly logger: Logger) {
    ari.on('StasisStart', (event) => this.route(event));
  }

  /** Hands every channel whose first Stasis argument is `kind` to `handler`. One owner per kind. */
  claim(kind: string, handler: StasisStartHandler = () => undefined): void {
    if (this.claims.has(kind)) throw new Error(`the Stasis kind ${kind} is claimed twice`);
    this.claims.set(kind, handler);
  }

  /** The kinds claimed so far (for the reconciliation of channels left by an earlier process). */
  get kinds(): ReadonlySet<string> {
    return new Set(this.claims.keys());
  }

  private async route(event: StasisStartEvent): Promise<void> {
    const channelId = event.channel.id;
    this.helpers.stasisStarted(channelId);
    const kind = event.args[0] ?? '';
    const handler = this.claims.get(kind);
    if (!handler) {
      this.logger.warn({ channelId, args: event.args, caller: event.channel.caller?.number }, 'a channel of a kind nobody handles entered the application; hanging it up');
      await this.helpers.hangup(channelId);
      return;
    }
    try {
      await handler(event);
    } catch (err) {
      this.logger.error({ err, channelId, kind }, 'StasisStart handling failed');
    }
  }
}
