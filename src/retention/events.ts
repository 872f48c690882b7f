import type { Kysely } from 'kysely';
import { AgentsStore } from '../agents/store.js';
import { CallsStore } from '../calls/store.js';
import { WebhooksStore } from '../webhooks/store.js';
import type { Logger } from '../core/logger.js';
import { scheduleJob } from '../core/schedule.js';
import type { Database } from '../db-schema.js';
import { IvrStore } from '../ivr/store.js';
import { QueuesStore } from '../queues/store.js';
import { RecordingsStore } from '../recording/store.js';
import { OutboundStore } from '../outbound/store.js';
import { SurveysStore } from '../surveys/store.js';
import { markEventsPurged } from '../reports/purged.js';

/** Every day at 03:45 server time: after the recordings' retention (03:15), so a call whose recordings have just gone can go too. */
export const eventRetentionSchedule = '45 3 * * *';

/** Rows deleted by one run. */
export interface EventPurgeReport {
  cutoff: string;
  /** The reports' watermark this run moved to (undefined: it deleted nothing): the rollups up to it are never rebuilt. */
  purgedBefore: string | undefined;
  calls: number;
  callEvents: number;
  ivrTraces: number;
  queueEntries: number;
  queueOffers: number;
  agentStates: number;
  /** Old calls kept whole: a recording of theirs is still kept. */
  callsKeptForRecordings: number;
  /** Old calls whose events went but whose row stays: the rows of deleted recordings (and their audit), a callback request or a caller's message refer to it. */
  callRowsKeptAsReference: number;
  /** Post-call survey responses (with their answers) of the calls that went. */
  surveyResponses: number;
  /** Outbound calls' rows (who placed them, how the dial ended) of the calls that went. */
  outboundCalls: number;
  /** Webhook deliveries made (delivered or dead) before the cutoff: the delivery log's retention. */
  webhookDeliveries: number;
}

/** The stores of the capabilities whose events go, on one connection or transaction. */
function storesOn(db: Kysely<Database>) {
  return {
    calls: new CallsStore(db),
    ivr: new IvrStore(db),
    queues: new QueuesStore(db),
    agents: new AgentsStore(db),
    recordings: new RecordingsStore(db),
    surveys: new SurveysStore(db),
    outbound: new OutboundStore(db),
  };
}

/**
 * Deletes the events older than `days` days at `now`, in batches of `batch`
 * (each one transaction, so a run stopped half-way leaves whole calls):
 * - an ended call that started before the cutoff goes with everything
 *   recorded about it: its events, IVR steps, queue entries and their
 *   offers, its survey responses, its outbound row; a call with a recording (or a survey
 *   comment) still kept stays whole; a call that
 *   rows of other kinds refer to (a deleted recording and its audit, a
 *   callback request, a caller's message) keeps its row as their reference;
 * - agent state changes before the cutoff go, except each agent's latest
 *   one before it (the agent's state when any later range starts) and each
 *   agent's last one (the current state).
 * The report rollups are kept: they are the figures of the time the raw
 * events no longer cover. A delete records nothing in report_dirty; each
 * transaction that deletes moves the reports' watermark (migration 017) to
 * the cutoff, or to the latest moment a deleted row counted at when later (a
 * queue entry, offer or IVR step after the cutoff of a call that started
 * before it): no rollup up to it is rebuilt from what is left, and
 * `source=raw` refuses ranges there.
 */
export async function purgeOldEvents(db: Kysely<Database>, days: number, now = new Date(), batch = 500): Promise<EventPurgeReport> {
  const cutoff = new Date(now.getTime() - days * 86_400_000);
  const report: EventPurgeReport = {
    cutoff: cutoff.toISOString(), purgedBefore: undefined, calls: 0, callEvents: 0, ivrTraces: 0, queueEntries: 0, queueOffers: 0, agentStates: 0,
    callsKeptForRecordings: 0, callRowsKeptAsReference: 0, surveyResponses: 0, outboundCalls: 0, webhookDeliveries: 0,
  };
  /** The reports' watermark to the latest of the cutoff and `moments`, in the deleting transaction. */
  const markPurged = async (trx: Kysely<Database>, moments: Array<Date | undefined>): Promise<void> => {
    const latest = moments.reduce<Date>((max, at) => (at && at > max ? at : max), cutoff);
    await markEventsPurged(trx, latest);
    if (!report.purgedBefore || latest.toISOString() > report.purgedBefore) report.purgedBefore = latest.toISOString();
  };
  const calls = new CallsStore(db);
  for (let after: { startedAt: Date; id: string } | undefined; ;) {
    const page = await calls.endedBefore(cutoff, after, batch);
    if (page.length === 0) break;
    const last = page[page.length - 1]!;
    after = { startedAt: last.started_at, id: last.id };
    await db.transaction().execute(async (trx) => {
      const stores = storesOn(trx);
      const ids = page.map((call) => call.id);
      const recorded = await stores.recordings.callsWithRecordings(ids);
      const referenced = await stores.queues.callsWithWork(ids);
      const going = ids.filter((id) => !recorded.kept.has(id));
      const entries = await stores.queues.deleteEntriesOf(going);
      report.queueEntries += entries.entries;
      report.queueOffers += entries.offers;
      const traces = await stores.ivr.deleteTracesOf(going);
      report.ivrTraces += traces.traces;
      const surveys = await stores.surveys.deleteResponsesOf(going);
      report.surveyResponses += surveys.responses;
      const outbound = await stores.outbound.deleteOf(going);
      report.outboundCalls += outbound;
      const callEvents = await stores.calls.deleteEventsOf(going);
      report.callEvents += callEvents;
      const rowsGoing = going.filter((id) => !recorded.any.has(id) && !referenced.has(id));
      const callRows = await stores.calls.deleteCalls(rowsGoing);
      report.calls += callRows;
      report.callsKeptForRecordings += ids.length - going.length;
      report.callRowsKeptAsReference += going.length - rowsGoing.length;
      if (entries.entries + entries.offers + traces.traces + surveys.responses + outbound + callEvents + callRows > 0) await markPurged(trx, [entries.latest, traces.latest, surveys.latest]);
    });
  }
  for (let deleted = -1; deleted !== 0;) {
    deleted = await db.transaction().execute(async (trx) => {
      const n = await storesOn(trx).agents.deleteStatesBefore(cutoff, batch * 10);
      if (n > 0) await markPurged(trx, []);
      return n;
    });
    report.agentStates += deleted;
  }
  report.webhookDeliveries = await new WebhooksStore(db).purge(cutoff);
  return report;
}

/**
 * With CENTRALITA_EVENT_RETENTION_DAYS set, runs purgeOldEvents daily and
 * logs what each run deleted; returns what stops it (the retention module
 * runs it while the HTTP app runs, from listen to close). Unset: nothing is
 * scheduled, events are kept for ever.
 */
export function scheduleEventRetention(db: Kysely<Database>, days: number | undefined, logger: Logger, held?: () => boolean): (() => Promise<void>) | undefined {
  if (days === undefined) return undefined;
  return scheduleJob('event-retention', eventRetentionSchedule, async () => {
    const started = Date.now();
    const report = await purgeOldEvents(db, days);
    logger.info({ ...report, days, ms: Date.now() - started }, 'event retention run');
  }, logger, held);
}
