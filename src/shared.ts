import type { Kysely } from 'kysely';
import type { Ami } from './asterisk/media-ami.js';
import type { Ari } from './asterisk/ari.js';
import type { AriHelpers } from './asterisk/ari-helpers.js';
import type { Bridge, Channel } from './asterisk/ari-types.generated.js';
import type { DigitCollector } from './asterisk/dtmf.js';
import type { Media } from './asterisk/media.js';
import type { ChannelRegistry } from './asterisk/registry.js';
import type { AsteriskSite } from './asterisk/site.js';
import type { StasisRouter } from './asterisk/stasis-router.js';
import type { Capability, CapabilityName } from './core/capability.js';
import type { Config } from './core/config.js';
import type { DatabaseHandle } from './core/db.js';
import type { EventBus } from './core/events.js';
import type { HttpApp } from './core/http.js';
import type { LastKnownGood } from './core/last-known-good.js';
import type { HaStatus } from './core/lease.js';
import type { Logger } from './core/logger.js';
import type { WriteQueue } from './core/write-queue.js';
import type { Database } from './db-schema.js';

/**
 * The infrastructure every capability is built from (app.ts makes it once,
 * before the capabilities): configuration, database and write queue, the
 * bus, the call layer, HTTP.
 */
export interface Shared {
  config: Config;
  logger: Logger;
  /** The time IVR schedules see; tests inject it. */
  clock: () => Date;
  database: DatabaseHandle<Database>;
  db: Kysely<Database>;
  writes: WriteQueue;
  bus: EventBus;
  /** The call path's reads kept in memory (database outages, hot reads). */
  lastKnown: LastKnownGood;
  ari: Ari;
  ami: Ami;
  ariHelpers: AriHelpers;
  /** The registry of channels and bridges. */
  channels: ChannelRegistry;
  /** The one StasisStart handler. */
  stasis: StasisRouter;
  media: Media;
  digits: DigitCollector;
  site: AsteriskSite;
  http: HttpApp;
  /** Active/standby (docs/ha.md): this instance's role; a single instance is always the one that acts. */
  ha: HaStatus;
  /** Every capability's part of a (re)connection's reconciliation, in module order (Assembly.reconcile). */
  reconcile(view: ReconcileView): Promise<ReadonlySet<string>>;
}

/** What each (re)connection to Asterisk lists, for the capabilities' reconciliation. */
export interface ReconcileView { channels: Channel[]; bridges: Bridge[]; listedAt: Date }

/** A capability of centralita: see Capability (src/core/capability.ts) and docs/architecture.md. */
export type Module<Name extends CapabilityName, Needs extends CapabilityName = never> = Capability<Shared, ReconcileView, Name, Needs>;
