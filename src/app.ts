import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { agentsModule } from './agents/module.js';
import type { AgentsService } from './agents/service.js';
import { AmiClient } from './asterisk/ami.js';
import { AriClient } from './asterisk/ari.js';
import { MediaAmi, type Ami } from './asterisk/media-ami.js';
import { RoutedAri } from './asterisk/media-servers.js';
import { AriHelpers } from './asterisk/ari-helpers.js';
import { DigitCollector } from './asterisk/dtmf.js';
import { Media } from './asterisk/media.js';
import { ChannelRegistry } from './asterisk/registry.js';
import { AsteriskSite } from './asterisk/site.js';
import { StasisRouter } from './asterisk/stasis-router.js';
import { authModule } from './auth/module.js';
import { dialplanModule } from './calls/dialplan.js';
import { callsModule } from './calls/module.js';
import { campaignsModule } from './campaigns/module.js';
import type { CallsService } from './calls/service.js';
import { Assembly, type AnyCapability } from './core/capability.js';
import { redactedConfig, type Config } from './core/config.js';
import { openDatabase, type DatabaseHandle } from './core/db.js';
import { EventBus } from './core/events.js';
import { createHttpApp, reloadTls, type HttpApp } from './core/http.js';
import { journalPathIn } from './core/journal.js';
import { haStatusOf, Lease, singleInstance } from './core/lease.js';
import { LastKnownGood } from './core/last-known-good.js';
import { createLogger, type Logger } from './core/logger.js';
import { appliedSchema, migrate } from './core/migrate.js';
import { buildInfo } from './core/version.js';
import { WriteQueue } from './core/write-queue.js';
import type { Database } from './db-schema.js';
import { healthModule } from './health/module.js';
import { ivrModule } from './ivr/module.js';
import { liveModule } from './live/module.js';
import { metricsModule } from './metrics/module.js';
import { monitorModule } from './monitor/module.js';
import { outboundModule } from './outbound/module.js';
import type { MonitorService } from './monitor/service.js';
import { promptsModule } from './prompts/module.js';
import { queuesModule } from './queues/module.js';
import { recordingModule } from './recording/module.js';
import type { RecordingService } from './recording/service.js';
import type { QueueEngine } from './queues/engine.js';
import { reportsModule } from './reports/module.js';
import type { ReportsService } from './reports/service.js';
import { retentionModule } from './retention/module.js';
import { securityModule } from './security/module.js';
import { surveysModule } from './surveys/module.js';
import type { SecurityService } from './security/service.js';
import type { UsersService } from './auth/users.js';
import type { ReconcileView, Shared } from './shared.js';
import { webModule } from './web/module.js';
import { webhooksModule } from './webhooks/module.js';

/**
 * centralita's capabilities, in the order they are built: each one's
 * `needs` come before it (test/unit/capabilities.test.ts checks the order
 * and that every table has one owner). To add one: its src/<name>/module.ts
 * and a line here (docs/architecture.md, "Capabilities").
 */
export const capabilities: readonly AnyCapability<Shared, ReconcileView>[] = [
  agentsModule,
  securityModule,
  authModule,
  promptsModule,
  callsModule,
  queuesModule,
  ivrModule,
  monitorModule,
  dialplanModule,
  recordingModule,
  surveysModule,
  campaignsModule,
  outboundModule,
  reportsModule,
  webModule,
  liveModule,
  retentionModule,
  webhooksModule,
  healthModule,
  metricsModule,
];

export interface Centralita {
  config: Config;
  logger: Logger;
  http: HttpApp;
  database: DatabaseHandle<Database>;
  /** ARI for every capability: routed across the media servers (one today; docs/scale-out.md). */
  ari: RoutedAri;
  /** The one StasisStart handler: a channel's first Stasis argument says which capability takes it. */
  stasis: StasisRouter;
  ami: Ami;
  bus: EventBus;
  writes: WriteQueue;
  /** The call path's reads kept in memory (database outages, hot reads). */
  lastKnown: LastKnownGood;
  /** HA (docs/ha.md): the leader lease; none for a single instance. */
  lease: Lease | undefined;
  calls: CallsService;
  agents: AgentsService;
  recordings: RecordingService;
  /** The queues' engine (its reconciliation's last report, for tests and diagnosis). */
  queues: Pick<QueueEngine, 'lastReconcile'>;
  monitor: MonitorService;
  reports: ReportsService;
  security: SecurityService;
  users: UsersService;
  /** Connects to Asterisk and listens; resolves with the HTTP address. */
  start(): Promise<string>;
  stop(): Promise<void>;
  /** Reads the TLS certificate and key again (SIGHUP); false when centralita serves plain HTTP. */
  reloadTls(): boolean;
}

/** How long stop() waits for queued event records to be written (the rest stay in the journal); the systemd unit's TimeoutStopSec is well above it. */
export const stopDrainMs = 5000;
/** How long stop() lets responses still being sent finish before their connections are closed. */
export const stopConnectionsGraceMs = 2000;

export interface CreateOptions {
  logger?: Logger;
  /** The time IVR schedules see; tests inject it. */
  clock?: () => Date;
  /** A database already opened (main.ts waits for it to answer); opened here otherwise. Migrated here either way. */
  database?: DatabaseHandle<Database>;
  /** HA: this instance lost the leader lease to another (main.ts exits, for systemd to start it again as a standby). */
  onFenced?: (why: string) => void;
}

/**
 * Wires the service: the shared infrastructure first (database and write
 * queue, Asterisk's clients and the call layer, HTTP), then the capabilities
 * in order. Tests build it with any config and call start()/stop().
 */
export async function createCentralita(config: Config, options: CreateOptions = {}): Promise<Centralita> {
  const logger = options.logger ?? createLogger(config.logLevel);
  logger.info({ config: redactedConfig(config), version: buildInfo.version, commit: buildInfo.commit }, 'starting centralita');

  const database = options.database ?? await openDatabase<Database>(config, logger);
  // Event records go through a journal in the data directory, so a crash
  // loses none: what it holds is applied before Asterisk is listened to, and
  // before the migrations (its records were made for the schema the database
  // still has: docs/upgrade.md).
  // Active/standby (docs/ha.md): the lease decides who acts; its epoch stamps and fences every write.
  const lease = config.ha ? new Lease(database.db, logger.child({ component: 'ha' }), {
    holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`, address: config.ha.address,
    ttlMs: config.ha.leaseMs, renewMs: Math.max(100, Math.round(config.ha.leaseMs / 4)),
  }) : undefined;
  const ha = lease ? haStatusOf(lease) : singleInstance;
  const writes = new WriteQueue(database.db, logger.child({ component: 'writes' }), { journalPath: journalPathIn(config.dataDir), ...(lease ? { fence: lease } : {}) });
  try {
    const journaled = writes.open(config.databaseUrl ?? `pglite:${config.dataDir}`, await appliedSchema(database.db));
    // All of them before migrating: a record the new schema refused would be lost.
    if (journaled > 0 && !(await writes.drainWithin(60_000))) {
      throw new Error('the write journal\'s records could not all be stored within 60 s: not migrating; the journal is kept for the next start');
    }
    await migrate(database.db, logger);
    const schema = await appliedSchema(database.db);
    if (schema) writes.markSchema(schema);
  } catch (err) {
    writes.close();
    await database.close();
    throw err;
  }

  const bus = new EventBus();
  // Reads calls depend on (routes, flows, queues, agents) outlive a database outage.
  const lastKnown = new LastKnownGood(logger.child({ component: 'db' }));
  // The media servers (docs/scale-out.md): the one configured Asterisk, or
  // several behind Kamailio, each with its ARI and AMI; RoutedAri and
  // MediaAmi present them as one.
  const servers = config.mediaServers ?? [{ name: 'asterisk', ariUrl: config.ari.url, amiHost: config.ami.host }];
  const several = servers.length > 1 || config.mediaServers !== undefined;
  const ari = new RoutedAri(servers.map((server) => ({
    name: server.name,
    ari: new AriClient({ ...config.ari, url: server.ariUrl }, logger.child({ component: 'ari', ...(several ? { server: server.name } : {}) })),
  })), { lostAfterMs: (config.mediaServerLostSeconds ?? 10) * 1000, logger: logger.child({ component: 'ari' }) });
  if (lease) ari.gate = () => lease.held();
  // Phones' device states are all centralita reads from AMI's events.
  const amiOf = (server: { name: string; amiHost: string }) => new AmiClient({ ...config.ami, host: server.amiHost, events: ['DeviceStateChange'] }, logger.child({ component: 'ami', ...(several ? { server: server.name } : {}) }));
  const ami: Ami = servers.length === 1 ? amiOf(servers[0]!) : new MediaAmi(servers.map((server) => ({ name: server.name, ami: amiOf(server) })));
  const media = new Media(ari);
  // The call layer: ARI idioms written once, the one StasisStart handler and
  // the registry of channels and bridges (docs/architecture.md).
  const ariHelpers = new AriHelpers(ari, logger.child({ component: 'ari' }));
  const channels = new ChannelRegistry(ari);
  const stasis = new StasisRouter(ari, ariHelpers, channels, logger.child({ component: 'ari' }));
  const http = await createHttpApp(logger, { trustProxy: config.trustProxy, ...(config.tls ? { tls: config.tls } : {}) });

  // Then each capability in order: store → service → ARI handlers, then the
  // auth guard and every module's routes (docs/architecture.md, "Capabilities").
  const assembly = new Assembly<Shared, ReconcileView>(capabilities);
  await assembly.build({
    config, logger, clock: options.clock ?? (() => new Date()), database, db: database.db, writes, bus, lastKnown,
    ari, ami, ariHelpers, channels, stasis, media, digits: new DigitCollector(ari, media), site: new AsteriskSite(config.site), http, ha,
    reconcile: (view) => assembly.reconcile(view),
  }, lease ? 'when-told' : 'with-http');

  let stopped = false;
  return {
    config, logger, http, database, ari, stasis, ami, bus, writes, lastKnown, lease,
    calls: assembly.get('calls').service,
    agents: assembly.get('agents').service,
    recordings: assembly.get('recording').service,
    queues: assembly.get('queues').engine,
    monitor: assembly.get('monitor').service,
    reports: assembly.get('reports').service,
    security: assembly.get('security').service,
    users: assembly.get('auth').users,
    async start() {
      // Listen first: a second copy started by mistake fails on the port
      // before it can take the Stasis application from the running one.
      const address = await http.listen({ host: config.host, port: config.port });
      if (!lease) {
        ari.start();
        ami.start();
        return address;
      }
      // A standby serves reads and keeps the agents' states fresh; the leader acts.
      const agents = assembly.get('agents').service;
      let warming: Promise<void> | undefined;
      const warm = setInterval(() => {
        if (lease.role !== 'standby' || lease.fenced || warming) return;
        warming = agents.load().then(() => agents.stop(), (err: unknown) => logger.debug({ err }, 'standby: agent states not refreshed'))
          .finally(() => { warming = undefined; });
      }, 2000);
      warm.unref();
      lease.onLeader(async () => {
        clearInterval(warm);
        // A refresh under way would stop the timers the load below starts.
        await warming;
        // What the previous leader left: agent states and timers, lockouts, cached reads.
        await agents.load();
        await assembly.get('security').service.load();
        lastKnown.invalidateAll();
        ari.start();
        ami.start();
        assembly.startJobs();
      });
      lease.onFenced((why) => {
        clearInterval(warm);
        void ari.stop();
        void ami.stop();
        void assembly.stopJobs();
        options.onFenced?.(why);
      });
      lease.start();
      return address;
    },
    reloadTls() {
      if (!config.tls) return false;
      reloadTls(http, config.tls);
      logger.info({ cert: config.tls.certFile }, 'TLS certificate reloaded');
      return true;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      assembly.closing();
      // Idle connections close at once; a response still streaming (a
      // browser's <audio> reading a recording slowly) gets a moment, then its
      // connection is cut: a stop must not wait on a client.
      const cut = setTimeout(() => http.server.closeAllConnections(), stopConnectionsGraceMs);
      await http.close();
      clearTimeout(cut);
      assembly.stop();
      await Promise.all([ari.stop(), ami.stop()]);
      await writes.drainWithin(stopDrainMs);
      if (writes.pending > 0) logger.error({ pending: writes.pending }, 'stopping with event records not written; they stay in the journal for the next start');
      // Its records stored, the leader hands over at once (a standby need not wait for the lease to run out).
      await lease?.release();
      writes.close();
      await database.close();
    },
  };
}
