import { watchPhones } from './agents/presence.js';
import { agentRoutes } from './agents/routes.js';
import { AgentsService } from './agents/service.js';
import { featureCodeRoute, PhoneLogin } from './agents/stasis.js';
import { isMonitorCode, monitorFeatureRoute } from './monitor/phone.js';
import { monitorRoutes } from './monitor/routes.js';
import { MonitorService } from './monitor/service.js';
import { MonitorStore } from './monitor/store.js';
import { liveStats, pushLiveStats } from './reports/live.js';
import { reportRoutes } from './reports/routes.js';
import { scheduleRollups } from './reports/schedule.js';
import { ReportsService } from './reports/service.js';
import { webRoutes } from './web/routes.js';
import { securityRoutes } from './security/routes.js';
import { SecurityService } from './security/service.js';
import { SecurityStore } from './security/store.js';
import { AgentsStore } from './agents/store.js';
import { AmiClient } from './asterisk/ami.js';
import { AriClient } from './asterisk/ari.js';
import { AriHelpers } from './asterisk/ari-helpers.js';
import { ChannelRegistry } from './asterisk/registry.js';
import { DirectCalls } from './asterisk/direct-calls.js';
import { StasisRouter } from './asterisk/stasis-router.js';
import { DigitCollector } from './asterisk/dtmf.js';
import { Media } from './asterisk/media.js';
import { AsteriskSite } from './asterisk/site.js';
import { installAuth } from './auth/http.js';
import { tokenRoutes } from './auth/routes.js';
import { AuthService } from './auth/service.js';
import { TokenStore } from './auth/store.js';
import { callRoutes } from './calls/routes.js';
import { CallsService } from './calls/service.js';
import { registerCallHandlers } from './calls/stasis.js';
import { CallsStore } from './calls/store.js';
import { redactedConfig, type Config } from './core/config.js';
import { openDatabase, type DatabaseHandle } from './core/db.js';
import { EventBus } from './core/events.js';
import { createHttpApp, reloadTls, type HttpApp } from './core/http.js';
import { journalPathIn } from './core/journal.js';
import { LastKnownGood } from './core/last-known-good.js';
import { LatePort } from './core/late-port.js';
import { createLogger, type Logger } from './core/logger.js';
import { appliedSchema, migrate } from './core/migrate.js';
import { metricsRoutes } from './metrics/routes.js';
import { MetricsService } from './metrics/service.js';
import { AllowList, OutboundPolicy } from './core/outbound.js';
import { buildInfo } from './core/version.js';
import { WriteQueue } from './core/write-queue.js';
import type { Database } from './db-schema.js';
import { healthRoutes } from './health/routes.js';
import { ivrRoutes } from './ivr/routes.js';
import { IvrService } from './ivr/service.js';
import { IvrStore } from './ivr/store.js';
import type { IvrCall, QueueRequest } from './ivr/engine.js';
import { installLiveFeed } from './live/feed.js';
import { QueueEngine } from './queues/engine.js';
import { recordingCallRoutes } from './recording/call-routes.js';
import { RecordingService } from './recording/service.js';
import { RecordingsStore } from './recording/store.js';
import { queueRoutes } from './queues/routes.js';
import { QueuesService } from './queues/service.js';
import { QueuesStore } from './queues/store.js';
import { promptRoutes } from './prompts/routes.js';
import { PromptsService, promptMedia } from './prompts/service.js';
import { PromptsStore } from './prompts/store.js';
import { recordingsDiskProbe } from './recording/files.js';
import { scheduleRetention } from './recording/retention.js';
import { recordingRoutes } from './recording/routes.js';
import { installEventRetention } from './retention/events.js';

export interface Centralita {
  config: Config;
  logger: Logger;
  http: HttpApp;
  database: DatabaseHandle<Database>;
  ari: AriClient;
  /** The one StasisStart handler: a channel's first Stasis argument says which capability takes it. */
  stasis: StasisRouter;
  ami: AmiClient;
  bus: EventBus;
  writes: WriteQueue;
  /** The call path's reads kept in memory (database outages, hot reads). */
  lastKnown: LastKnownGood;
  calls: CallsService;
  agents: AgentsService;
  recordings: RecordingService;
  monitor: MonitorService;
  reports: ReportsService;
  security: SecurityService;
  /** Connects to Asterisk and listens; resolves with the HTTP address. */
  start(): Promise<string>;
  stop(): Promise<void>;
  /** Reads the TLS certificate and key again (SIGHUP); false when centralita serves plain HTTP. */
  reloadTls(): boolean;
}

/** How long stop() waits for queued event records to be written (the rest stay in the journal); the systemd unit's TimeoutStopSec is well above it. */
export const stopDrainMs = 5000;

export interface CreateOptions {
  logger?: Logger;
  /** The time IVR schedules see; tests inject it. */
  clock?: () => Date;
  /** A database already opened (main.ts waits for it to answer); opened here otherwise. Migrated here either way. */
  database?: DatabaseHandle<Database>;
}

/**
 * Wires the service: core first (database, Asterisk, HTTP), then each
 * capability's store → service → ARI handlers → routes. Tests build it with
 * any config and call start()/stop().
 */
export async function createCentralita(config: Config, options: CreateOptions = {}): Promise<Centralita> {
  const logger = options.logger ?? createLogger(config.logLevel);
  logger.info({ config: redactedConfig(config), version: buildInfo.version, commit: buildInfo.commit }, 'starting centralita');

  const database = options.database ?? await openDatabase<Database>(config, logger);
  // Event records go through a journal in the data directory, so a crash
  // loses none: what it holds is applied before Asterisk is listened to, and
  // before the migrations (its records were made for the schema the database
  // still has: docs/upgrade.md).
  const writes = new WriteQueue(database.db, logger.child({ component: 'writes' }), { journalPath: journalPathIn(config.dataDir) });
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
  const ari = new AriClient(config.ari, logger.child({ component: 'ari' }));
  // Phones' device states are all centralita reads from AMI's events.
  const ami = new AmiClient({ ...config.ami, events: ['DeviceStateChange'] }, logger.child({ component: 'ami' }));
  const media = new Media(ari);
  // The call layer: ARI idioms written once, the one StasisStart handler and
  // the registry of channels and bridges (docs/architecture.md).
  const ariHelpers = new AriHelpers(ari, logger.child({ component: 'ari' }));
  const channels = new ChannelRegistry(ari);
  const stasis = new StasisRouter(ari, ariHelpers, channels, logger.child({ component: 'ari' }));
  const site = new AsteriskSite(config.site);
  const digits = new DigitCollector(ari, media);
  const http = await createHttpApp(logger, { trustProxy: config.trustProxy, ...(config.tls ? { tls: config.tls } : {}) });

  const agentsStore = new AgentsStore(database.db, lastKnown);
  const agents = new AgentsService(agentsStore, writes, bus, logger.child({ component: 'agents' }), {
    directCallWrapUpSeconds: config.directCallWrapUpSeconds,
  });
  await agents.load();

  const auth = new AuthService(new TokenStore(database.db), config.adminToken, bus, (id) => agents.access(id), logger.child({ component: 'auth' }), config.authFailuresPerMinute);
  // Offboarding: the tokens of an agent who lost access stop working at once.
  bus.on('agent.access.removed', ({ agentId, change }) => void auth.revokeBoundTo(agentId, change));
  installAuth(http, auth);
  tokenRoutes(http, auth);

  watchPhones(ami, agents, logger.child({ component: 'agents' }), site);
  agentRoutes(http, agents);

  const prompts = new PromptsService(new PromptsStore(database.db), config.promptsDir);
  promptRoutes(http, prompts);

  const calls = new CallsService(new CallsStore(database.db), writes, bus, logger.child({ component: 'calls' }));
  const queuesStore = new QueuesStore(database.db, lastKnown, { facts: (callIds) => calls.facts(callIds) });
  const queuesLogger = logger.child({ component: 'queues' });
  // Queues overflow into IVR flows, and IVR flows end in queues: the queues
  // get the IVR through a port bound once the IVR exists (docs/architecture.md).
  const ivrFlows = new LatePort<Pick<IvrService, 'runFlowById' | 'flowExists'>>('ivr flows');
  const queueEngine = new QueueEngine(ari, ariHelpers, stasis, channels, media, queuesStore, agents, bus, writes, queuesLogger, {
    runFlow: (call, flowId) => ivrFlows.get().runFlowById(call, flowId),
    noteCallEvent: (channelId, type, detail) => calls.noteEvent(channelId, type, detail, new Date()),
  }, site);
  const queues = new QueuesService(queuesStore, queueEngine, agents, media, queuesLogger, {
    flowExists: (flowId) => ivrFlows.get().flowExists(flowId),
    callExists: (callId) => calls.exists(callId),
  });
  queueRoutes(http, queues);

  const ivrLogger = logger.child({ component: 'ivr' });
  const ivrStore = new IvrStore(database.db, lastKnown);
  const ivr = new IvrService(ivrStore, writes, calls, media, {
    ari, digits, logger: ivrLogger, promptMedia, transferContext: site.transferContext,
    clock: options.clock ?? (() => new Date()),
    queue: (call: IvrCall, request: QueueRequest) => queues.enterFromIvr(call, request),
    outbound: new OutboundPolicy(new AllowList(config.lookupAllow), { setting: 'CENTRALITA_LOOKUP_ALLOW' }),
  }, ivrLogger, config.defaultLanguage, (name) => prompts.exists(name), (idOrName) => queues.queueExists(idOrName), bus);
  ivrRoutes(http, ivr);
  ivrFlows.bind(ivr);
  // The phone PIN lockout: its memory is rebuilt from its tables (the journal's
  // writes applied above) before any phone is answered.
  const security = new SecurityService(new SecurityStore(database.db), writes, logger.child({ component: 'security' }));
  await security.load();
  securityRoutes(http, security);
  const phoneLogin = new PhoneLogin(media, digits, agents, security, logger.child({ component: 'agents' }));
  const agentFeatures = featureCodeRoute(media, digits, agents, logger.child({ component: 'agents' }), phoneLogin, site);
  const monitorLogger = logger.child({ component: 'monitor' });
  const monitor = new MonitorService({
    ari, helpers: ariHelpers, router: stasis, registry: channels, direct: new DirectCalls(ari, ariHelpers, channels, site), media, agents, calls,
    store: new MonitorStore(database.db), writes, bus, logger: monitorLogger,
  }, { sameTeamOnly: config.monitorSameTeamOnly, followAgent: config.monitorFollowAgent, site });
  monitorRoutes(http, monitor);
  const monitorFeatures = monitorFeatureRoute(media, digits, agents, monitor, phoneLogin, monitorLogger, site);
  registerCallHandlers(ari, { helpers: ariHelpers, router: stasis, registry: channels }, calls, logger.child({ component: 'calls' }), {
    did: (channel, did, resumed) => (resumed ? ivr.resumeDid(channel, did) : ivr.answerDid(channel, did)),
    feature: (channel, code) => (isMonitorCode(code) ? monitorFeatures(channel, code) : agentFeatures(channel, code)),
    reconciled: async (view) => {
      await queueEngine.reconcile(view, config.defaultLanguage);
      // Monitoring sessions follow the queue calls they listen to: adopted after them.
      const supervised = await monitor.reconcile(view).catch((err: unknown) => {
        monitorLogger.error({ err }, 'monitoring reconciliation failed');
        return new Set<string>();
      });
      return new Set([...queueEngine.callerChannels(), ...supervised]);
    },
  });
  callRoutes(http, calls);
  const recordingsStore = new RecordingsStore(database.db);
  await lastKnown.warm([agentsStore, queuesStore, ivrStore]);
  const recordings = new RecordingService(ari, ariHelpers, stasis, channels, recordingsStore, queuesStore, calls, {
    // The route's policy, cached with the route (kept while the database is down).
    routePolicy: async (did) => (await ivrStore.getRoute(did))?.recording_policy ?? null,
  }, writes, config.recordingsDir, bus, logger.child({ component: 'recording' }), config.recordingsViaAri);
  recordingCallRoutes(http, recordings);
  const reports = new ReportsService(database.db, { timezone: config.timezone, shortAbandonSeconds: config.shortAbandonSeconds }, logger.child({ component: 'reports' }));
  const live = () => liveStats({
    queues, agents, reports,
    connected: () => queueEngine.connectedCalls(),
    callerNumber: (callId) => calls.liveCalls().find((c) => c.id === callId)?.callerNumber,
  });
  reportRoutes(http, reports, live, () => agents.listPauseReasons());
  webRoutes(http, { agents, calls, ivr, engine: queueEngine, queues });
  const liveFeed = installLiveFeed(http, bus, auth);

  const recordingLogger = logger.child({ component: 'recording' });
  recordingRoutes(http, {
    store: recordingsStore, recordingsDir: config.recordingsDir, agentsHearOwn: config.agentsHearOwnRecordings, logger: recordingLogger, bus,
    callsOfCaller: (number) => calls.idsOfCaller(number),
  });
  // Retention runs while the HTTP app does: from listen (start) to close (stop).
  let stopRetention: (() => Promise<void>) | undefined;
  http.addHook('onReady', async () => {
    stopRetention = scheduleRetention(recordingsStore, config.recordingsDir, recordingLogger);
  });
  http.addHook('onClose', async () => stopRetention?.());
  installEventRetention(http, database.db, config.eventRetentionDays, logger.child({ component: 'retention' }));
  // Rollups every quarter hour, and the wallboard figures pushed while things change.
  let stopRollups: (() => void) | undefined;
  http.addHook('onReady', async () => {
    stopRollups = scheduleRollups(reports, logger.child({ component: 'reports' }));
    const stopPush = pushLiveStats(bus, live, logger.child({ component: 'reports' }), () => queueEngine.waitingCount > 0);
    const previous = stopRollups;
    stopRollups = () => { previous(); stopPush(); };
  });
  http.addHook('onClose', async () => stopRollups?.());

  healthRoutes(http, {
    db: () => database.ping(),
    ari: () => ari.state,
    ami: () => ami.state === 'up',
    pendingWrites: () => writes.pending,
    recordingsDisk: recordingsDiskProbe(config.recordingsDir, config.recordingsMinFreeMb * 1024 * 1024),
    build: buildInfo,
  });

  // Prometheus: counters from the bus's events, gauges read from the services at each scrape.
  const metrics = new MetricsService(bus, {
    callsInProgress: () => calls.liveCalls(),
    agentStatuses: () => agents.allStates().map((s) => s.status),
    queues: () => queues.list(),
    waitSeconds: (queueId) => queueEngine.waiting(queueId).map((w) => w.waitSeconds),
    queueName: async (queueId) => (await queues.findQueue(queueId))?.name,
    ariUp: () => ari.state === 'up',
    amiUp: () => ami.state === 'up',
    dbUp: () => database.ping(),
    pendingWrites: () => writes.pending,
    journalBytes: () => writes.journalBytes,
    recordingsDisk: recordingsDiskProbe(config.recordingsDir, 0),
    onAriRequest: (handler) => ari.onRequest(handler),
    onDbStatement: (handler) => database.onStatement?.(handler) ?? (() => undefined),
  }, logger.child({ component: 'metrics' }));
  metricsRoutes(http, metrics, { auth, token: config.metricsToken, behindProxy: config.trustProxy.length > 0 });
  http.addHook('onClose', async () => metrics.stop());

  let stopped = false;
  return {
    config, logger, http, database, ari, stasis, ami, bus, writes, lastKnown, calls, agents, recordings, monitor, reports, security,
    async start() {
      // Listen first: a second copy started by mistake fails on the port
      // before it can take the Stasis application from the running one.
      const address = await http.listen({ host: config.host, port: config.port });
      ari.start();
      ami.start();
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
      liveFeed.close();
      await http.close();
      agents.stop();
      queueEngine.stop();
      await Promise.all([ari.stop(), ami.stop()]);
      await writes.drainWithin(stopDrainMs);
      if (writes.pending > 0) logger.error({ pending: writes.pending }, 'stopping with event records not written; they stay in the journal for the next start');
      writes.close();
      await database.close();
    },
  };
}
