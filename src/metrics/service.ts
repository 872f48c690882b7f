import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { agentStatuses } from '../agents/state-machine.js';
import type { AriRequestSample } from '../asterisk/ari.js';
import { statementKinds, type StatementKind } from '../core/db.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { recordingFailures, recordingSkips } from '../recording/service.js';
import { callOutcomes, CallOutcomes, ivrExits } from './outcomes.js';

/**
 * What the metrics read when Prometheus scrapes (gauges), from the services
 * that own it; app.ts wires each one to a service getter.
 */
export interface MetricSources {
  /** The calls in progress now, by direction (inbound: a DID; internal: a feature code). */
  callsInProgress(): { direction: string }[];
  /** Each known agent's status now. */
  agentStatuses(): string[];
  /** Every queue (a database read). */
  queues(): Promise<{ id: string; name: string }[]>;
  /** The waits so far of a queue's callers waiting (or being offered) now (memory). */
  waitSeconds(queueId: string): number[];
  /** A queue's name by its id (labels carry names: dashboards are read by people). */
  queueName(queueId: string): Promise<string | undefined>;
  ariUp(): boolean;
  /** HA: this instance is a standby (it holds no ARI or AMI connection by design). */
  standby?(): boolean;
  amiUp(): boolean;
  /** Several media servers (docs/scale-out.md): each one's state. */
  mediaServers?(): { name: string; up: boolean; lost: boolean }[];
  dbUp(): Promise<boolean>;
  /** Event records waiting for the database (the write queue's backlog). */
  pendingWrites(): number;
  /** The write journal's size on disk. */
  journalBytes(): number;
  recordingsDisk(): Promise<{ freeBytes: number; totalBytes: number }>;
  /** Subscribes to every ARI REST call's outcome; returns the unsubscribe. */
  onAriRequest(handler: (sample: AriRequestSample) => void): () => void;
  /** Subscribes to every database statement sent (by kind); returns the unsubscribe. */
  onDbStatement(handler: (kind: StatementKind) => void): () => void;
}

export interface MetricsOptions {
  /** prom-client's process and Node.js metrics (event-loop delay, memory, CPU, handles); tests leave them out. */
  defaultMetrics?: boolean;
}

/** The gauges read at each scrape, set by refresh() before the registry is written out. */
interface ScrapeGauges {
  calls: Gauge; agents: Gauge; waiting: Gauge; longest: Gauge;
  ari: Gauge; mediaUp: Gauge; mediaLost: Gauge; standby: Gauge; ami: Gauge; db: Gauge; pending: Gauge; journal: Gauge; diskFree: Gauge; diskTotal: Gauge;
}

/**
 * centralita's Prometheus metrics, in a registry of its own (never
 * prom-client's global one: two apps in one process, as in the tests, each
 * count their own). Counters and histograms follow the domain events on the
 * bus; gauges are read from the services at each scrape. Nothing here is
 * kept across a restart: counters start again from 0, which Prometheus'
 * rate() and increase() take as a reset. Every name is listed in
 * docs/observability.md.
 */
export class MetricsService {
  readonly registry = new Registry();
  private readonly outcomes: CallOutcomes;
  private readonly gauges: ScrapeGauges;
  /** The queues listed at the last scrape, for when the database cannot list them (an outage). */
  private lastQueues: { id: string; name: string }[] = [];
  private readonly unsubscribe: Array<() => void> = [];

  constructor(bus: EventBus, private readonly sources: MetricSources, private readonly logger: Logger, options: MetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers });

    // Calls: outcomes, IVR time and queue waits from the events; in progress at the scrape.
    const finished = new Counter({ name: 'centralita_calls_finished_total', help: 'Calls that ended, by outcome (docs/observability.md)', labelNames: ['outcome'], registers });
    const ivr = new Histogram({
      name: 'centralita_ivr_duration_seconds', help: 'Time a DID call spent in its IVR flow, from its arrival until it was handed to a queue or an extension, or hung up',
      labelNames: ['exit'], buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300], registers,
    });
    const wait = new Histogram({
      name: 'centralita_queue_wait_seconds', help: 'Time callers waited in a queue, by queue and how the wait ended (answered, abandoned, overflow, callback)',
      labelNames: ['queue', 'outcome'], buckets: [1, 5, 10, 20, 30, 60, 120, 300, 600], registers,
    });
    // Every known label value from the start, at 0: increase() sees the first one.
    for (const outcome of callOutcomes) finished.inc({ outcome }, 0);
    for (const exit of ivrExits) ivr.zero({ exit });
    this.outcomes = new CallOutcomes({
      finished: (outcome) => finished.inc({ outcome }),
      ivr: (exit, s) => ivr.observe({ exit }, s),
      wait: (queueId, outcome, s) => {
        // a queue whose name cannot be read now (deleted, an outage) is labelled by its id
        void sources.queueName(queueId).catch(() => undefined).then((name) => wait.observe({ queue: name ?? queueId, outcome }, s));
      },
    });
    this.unsubscribe.push(
      bus.on('call.started', (call) => this.outcomes.started(call)),
      bus.on('call.ended', (call) => this.outcomes.ended(call)),
      bus.on('ivr.left', (left) => this.outcomes.leftIvr(left.callId, left.exit, left.at)),
      bus.on('queue.entry', (entry) => this.outcomes.queueEntry(entry)),
      bus.on('queue.connected', (parties) => this.outcomes.connected(parties.callId)),
    );

    // ARI: every REST call's time, and the failed ones.
    const ariSeconds = new Histogram({
      name: 'centralita_ari_request_duration_seconds', help: 'ARI REST calls by operation (as named in Asterisk\'s API description, e.g. channels.hangup), answered or not',
      labelNames: ['operation'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
    });
    const ariErrors = new Counter({
      name: 'centralita_ari_errors_total', help: 'ARI REST calls that failed, by operation and HTTP status (0: no answer: timeout, connection refused); a 404 is often a caller already gone',
      labelNames: ['operation', 'status'], registers,
    });
    this.unsubscribe.push(sources.onAriRequest((sample) => {
      ariSeconds.observe({ operation: sample.operation }, sample.seconds);
      if (!sample.ok) ariErrors.inc({ operation: sample.operation, status: String(sample.status) });
    }));

    // Database statements by kind: what each call costs in round trips to Postgres (the benchmark reads it too).
    const statements = new Counter({
      name: 'centralita_db_statements_total', help: 'Statements sent to the database, answered or failed, by kind (select, insert, update, delete, transaction: begin/commit/rollback, other)',
      labelNames: ['kind'], registers,
    });
    for (const kind of statementKinds) statements.inc({ kind }, 0);
    this.unsubscribe.push(sources.onDbStatement((kind) => statements.inc({ kind })));

    const failed = new Counter({ name: 'centralita_recordings_failed_total', help: 'Recordings that will not be complete, by reason (not_started, asterisk_failed, interrupted, file_missing)', labelNames: ['reason'], registers });
    for (const reason of recordingFailures) failed.inc({ reason }, 0);
    this.unsubscribe.push(bus.on('recording.failed', ({ reason }) => failed.inc({ reason })));
    const skipped = new Counter({ name: 'centralita_recordings_skipped_total', help: 'Recordings not made, and rightly so, by reason (caller_gone: the caller hung up before it could start); not failures', labelNames: ['reason'], registers });
    for (const reason of recordingSkips) skipped.inc({ reason }, 0);
    this.unsubscribe.push(bus.on('recording.skipped', ({ reason }) => skipped.inc({ reason })));

    this.gauges = {
      calls: gauge('centralita_calls_in_progress', 'Calls in progress now, by direction (inbound: to a DID; internal: a feature code)', ['direction']),
      agents: gauge('centralita_agents', 'Agents by state now (logged_out: agents who have a state and are not checked in)', ['state']),
      waiting: gauge('centralita_queue_callers_waiting', 'Callers waiting in each queue now (ringing an agent included)', ['queue']),
      longest: gauge('centralita_queue_longest_wait_seconds', 'The longest current wait in each queue (0 when nobody waits)', ['queue']),
      ari: gauge('centralita_ari_up', '1 while the ARI events socket is connected'),
      mediaUp: gauge('centralita_media_server_up', 'Several media servers: 1 while the server\'s ARI events socket is connected (docs/scale-out.md)', ['server']),
      mediaLost: gauge('centralita_media_server_lost', 'Several media servers: 1 once the server was unreachable long enough that its calls were ended', ['server']),
      standby: gauge('centralita_ha_standby', '1 while this instance is an HA standby (no ARI or AMI connection by design; docs/ha.md), else 0'),
      ami: gauge('centralita_ami_up', '1 while logged in to AMI'),
      db: gauge('centralita_db_up', '1 when the database answered a trivial query within 1 s at this scrape'),
      pending: gauge('centralita_write_queue_pending', 'Event records waiting to be written to the database (grows during an outage)'),
      journal: gauge('centralita_write_journal_bytes', 'Size of the write journal file (write-journal.jsonl)'),
      diskFree: gauge('centralita_recordings_disk_free_bytes', 'Free space for centralita on the recordings folder\'s disk (0 when the folder cannot be read)'),
      diskTotal: gauge('centralita_recordings_disk_total_bytes', 'Size of the recordings folder\'s disk (0 when the folder cannot be read)'),
    };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text (Prometheus' text format 0.0.4), gauges read now. */
  async text(): Promise<string> {
    this.outcomes.sweep(Date.now());
    await this.refresh();
    return this.registry.metrics();
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** Reads every gauge from its source; the slow reads (database, disk) side by side. */
  private async refresh(): Promise<void> {
    const { sources, gauges: g } = this;
    const [queues, dbUp, disk] = await Promise.all([
      this.listQueues(),
      // a failed ping is the database being down, which this gauge says
      sources.dbUp().catch(() => false),
      sources.recordingsDisk().catch((err: unknown) => {
        this.logger.debug({ err }, 'the recordings disk could not be read for metrics');
        return { freeBytes: 0, totalBytes: 0 };
      }),
    ]);
    const counts = (gauge: Gauge, label: string, known: readonly string[], values: string[]): void => {
      gauge.reset();
      for (const value of known) gauge.set({ [label]: value }, 0);
      for (const value of values) gauge.inc({ [label]: value });
    };
    counts(g.calls, 'direction', ['inbound', 'internal'], sources.callsInProgress().map((c) => c.direction));
    counts(g.agents, 'state', agentStatuses, sources.agentStatuses());
    g.waiting.reset();
    g.longest.reset();
    for (const q of queues) {
      const waits = sources.waitSeconds(q.id);
      g.waiting.set({ queue: q.name }, waits.length);
      g.longest.set({ queue: q.name }, waits.length ? Math.max(...waits) : 0);
    }
    g.ari.set(sources.ariUp() ? 1 : 0);
    for (const server of sources.mediaServers?.() ?? []) {
      g.mediaUp.set({ server: server.name }, server.up ? 1 : 0);
      g.mediaLost.set({ server: server.name }, server.lost ? 1 : 0);
    }
    g.standby.set(sources.standby?.() ? 1 : 0);
    g.ami.set(sources.amiUp() ? 1 : 0);
    g.db.set(dbUp ? 1 : 0);
    g.pending.set(sources.pendingWrites());
    g.journal.set(sources.journalBytes());
    g.diskFree.set(disk.freeBytes);
    g.diskTotal.set(disk.totalBytes);
  }

  private async listQueues(): Promise<{ id: string; name: string }[]> {
    try {
      this.lastQueues = await this.sources.queues();
    } catch (err) {
      this.logger.debug({ err }, 'queues not listed for metrics; the last listing stands');
    }
    return this.lastQueues;
  }
}
