import type { Logger } from '../core/logger.js';
import type { AriEventOf } from './ari.js';
import type { AriHelpers, AriPort } from './ari-helpers.js';
import type { ChannelRegistry, ChannelRole } from './registry.js';

export type StasisStartEvent = AriEventOf<'StasisStart'>;
export type StasisStartHandler = (event: StasisStartEvent) => void | Promise<void>;

export interface StasisClaim {
  /** What channels of the kind are to their call, for the registry. */
  role?: ChannelRole;
  /** Takes the channel (the did/feature routes run the whole call here). */
  start?: StasisStartHandler;
}

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
 * wait for their StasisStart is settled here first, whatever their kind;
 * the ChannelRegistry learns of each channel, with its kind's role, too.
 */
export class StasisRouter {
  private readonly claims = new Map<string, StasisStartHandler>();

  constructor(ari: AriPort, private readonly helpers: AriHelpers, private readonly registry: ChannelRegistry, private readonly logger: Logger) {
    ari.on('StasisStart', (event) => this.route(event));
  }

  /** Hands every channel whose first Stasis argument is `kind` to `claim.start`. One owner per kind. */
  claim(kind: string, claim: StasisClaim = {}): void {
    if (this.claims.has(kind)) throw new Error(`the Stasis kind ${kind} is claimed twice`);
    this.claims.set(kind, claim.start ?? (() => undefined));
    if (claim.role) this.registry.setRole(kind, claim.role);
  }

  /** The kinds claimed so far: what the application takes. */
  get kinds(): ReadonlySet<string> {
    return new Set(this.claims.keys());
  }

  private async route(event: StasisStartEvent): Promise<void> {
    const channelId = event.channel.id;
    const kind = event.args[0] ?? '';
    const handler = this.claims.get(kind);
    if (handler) this.registry.channelEntered(channelId, kind);
    this.helpers.stasisStarted(channelId);
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
