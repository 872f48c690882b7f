import { randomUUID } from 'node:crypto';
import type { Ari } from '../asterisk/ari.js';
import { isGone, type AriHelpers } from '../asterisk/ari-helpers.js';
import type { ChannelRegistry } from '../asterisk/registry.js';
import type { StasisRouter } from '../asterisk/stasis-router.js';
import type { Media } from '../asterisk/media.js';
import type { CallsService } from '../calls/service.js';
import { conflict, forbidden, notFound } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { WriteOp, WriteQueue } from '../core/write-queue.js';
import type { QueuesStore } from '../queues/store.js';
import type { Pause, RecordingPolicy, RecordingRow, RecordingsStore } from './store.js';
import { Finalizer, inProgressFolder } from './finalize.js';

export { inProgressFolder } from './finalize.js';
const snoopArg = 'recording';
const defaultRetentionDays = 365;

interface Active {
  id: string; callId: string; name: string; snoopId: string; startedAt: Date; agentIds: string[]; pauses: Pause[]; pausedSince: Date | null; finalizing: boolean;
  /** Stops we asked for to move to a new snoop channel: their RecordingFinished is not the end. */
  rotations: number;
  /** Asterisk accepted `channels.record` (until then a missing live recording is not a lost one). */
  recording?: boolean;
}

/** Why a recording is lost or incomplete: it did not start, Asterisk reported it failed, a transfer interrupted it, or its file was not found. */
export const recordingFailures = ['not_started', 'asterisk_failed', 'interrupted', 'file_missing'] as const;
export type RecordingFailure = (typeof recordingFailures)[number];

/**
 * Why a recording was not made, which is no failure: the caller hung up
 * before it could start (the call had ended, or the snoop found no channel).
 */
export const recordingSkips = ['caller_gone'] as const;
export type RecordingSkip = (typeof recordingSkips)[number];

declare module '../core/events.js' {
  interface DomainEvents {
    /** A recording that will not be complete (internal: metrics count them). */
    'recording.failed': { recordingId: string; callId: string; reason: RecordingFailure };
    /** A recording stored complete, with its integrity hash (webhooks). */
    'recording.completed': { recordingId: string; callId: string; queueId: string | null; agentIds: string[]; seconds: number; bytes: number; sha256: string; at: string };
    /** A recording not made, and rightly so (internal: metrics count them apart from failures). */
    'recording.skipped': { recordingId: string; callId: string; reason: RecordingSkip };
  }
}

/** What the recordings need from other capabilities, given at construction (app.ts). */
export interface RecordingPorts {
  /** The recording policy of the route a call came in on, null when it has none (the IVR's routes). */
  routePolicy(did: string): Promise<RecordingPolicy | null>;
}

export interface ReconcileReport { adopted: number; stillRecording: number; missing: number; orphans: string[] }

/**
 * Call recordings. A recorded call gets a snoop channel on the caller's leg
 * (spy both ways), which Asterisk records to <recordings>/in-progress/<id>.wav:
 * it follows the caller through transfers and barges, and goes on if
 * centralita dies. When it ends, the file gets its paused parts back as
 * silence and moves atomically to YYYY/MM/DD/<call-id>.wav (link, so it
 * never overwrites), with its size, duration and sha256 on the row.
 */
export class RecordingService {
  private readonly active = new Map<string, Active>();
  private readonly byCall = new Map<string, string>();
  /** Snoop channels hung up at a transfer, waiting to be destroyed (their audiohook detached). */
  private readonly snoopGone = new Map<string, () => void>();
  private reconciling: Promise<ReconcileReport> | undefined;
  lastReconcile: ReconcileReport | undefined;
  private readonly finalizer: Finalizer;

  constructor(
    private readonly ari: Ari,
    private readonly helpers: AriHelpers,
    router: StasisRouter,
    private readonly channels: ChannelRegistry,
    private readonly store: RecordingsStore,
    private readonly queues: QueuesStore,
    private readonly calls: CallsService,
    private readonly ports: RecordingPorts,
    private readonly writes: WriteQueue,
    recordingsDir: string,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    /** Asterisk on another host: files come through ARI's stored recordings API instead of the shared folder. */
    viaAri = false,
  ) {
    this.finalizer = new Finalizer({ ari, helpers, store, writes, recordingsDir, viaAri, logger, failed: (id, callId, reason) => this.failed(id, callId, reason),
      completed: (done) => this.bus.emit('recording.completed', { ...done, at: new Date().toISOString() }),
    });
    // The recorder's snoops: snoopAndRecord waits for their StasisStart (intoStasis).
    router.claim(snoopArg, { role: 'snoop' });
    ari.on('ChannelDestroyed', (event) => this.snoopGone.get(event.channel.id)?.());
    ari.on('RecordingFinished', (event) => void this.finished(event.recording.name, null));
    ari.on('RecordingFailed', (event) => void this.finished(event.recording.name, event.recording.cause ?? 'failed'));
    bus.on('queue.entry', (entry) => {
      if (entry.event === 'answered' && entry.agentId) {
        void this.onAnswered(entry.callId, entry.queueId, entry.agentId).catch((err: unknown) => this.logger.error({ err, callId: entry.callId }, 'could not start the call recording'));
      }
    });
    ari.onConnected(() => {
      void this.reconcile().catch((err: unknown) => this.logger.error({ err }, 'recording reconciliation failed'));
    });
  }

  /** An agent answered a queue call: record it when the route's or the queue's policy says so. */
  private async onAnswered(callId: string, queueId: string, agentId: string): Promise<void> {
    const current = this.byCall.get(callId);
    if (current) {
      const rec = this.active.get(current)!;
      this.addAgent(rec, agentId);
      await this.rotate(rec);
      return;
    }
    const queue = await this.queues.get(queueId);
    const policy = await this.policyOf(callId, queue?.recording_policy ?? 'never');
    if (policy !== 'always') return;
    if ((queue?.recording_sample_percent ?? 100) < 100 && Math.random() * 100 >= queue!.recording_sample_percent) return;
    await this.start(callId, queueId, agentId, queue?.recording_retention_days ?? defaultRetentionDays);
  }

  /**
   * An agent's outbound call was answered (src/outbound): recorded when the
   * queue it was made for records its calls; a call made for no queue is not.
   */
  async recordOutbound(callId: string, queueId: string | null, agentId: string): Promise<void> {
    if (!queueId) return;
    await this.onAnswered(callId, queueId, agentId);
  }

  /** The route's policy for the call's DID wins over the queue's. */
  private async policyOf(callId: string, queuePolicy: RecordingPolicy): Promise<RecordingPolicy> {
    const did = this.calls.liveCall(callId)?.did;
    // A failed read (a database outage) falls back to the queue's policy.
    const route = did ? await this.ports.routePolicy(did).catch(() => null) : null;
    return route ?? queuePolicy;
  }

  /**
   * A caller's comment at a post-call survey (surveys/runner.ts): a
   * recording of its own kind, on the caller's channel (a prompt has played;
   * the beep, up to maxSeconds, # ends it). Resolves once Asterisk has
   * finished it; the file is then stored like a call's (finished()).
   */
  async recordComment(comment: { recordingId: string; callId: string; channelId: string; queueId: string | null; maxSeconds: number }, media: Media): Promise<void> {
    // The queue's retention (a failed read, during an outage: the default).
    const queue = comment.queueId ? await this.queues.get(comment.queueId).catch((err: unknown) => {
      this.logger.warn({ err, queueId: comment.queueId }, 'could not read the queue\'s recording retention; the comment keeps the default');
      return undefined;
    }) : undefined;
    const name = `${inProgressFolder}/${comment.recordingId}`;
    this.write(comment.recordingId, 'comment started', this.store.insert({
      id: comment.recordingId, call_id: comment.callId, queue_id: comment.queueId, agent_ids: [], asterisk_name: name, path: null, status: 'recording',
      started_at: new Date(), ended_at: null, duration_seconds: null, bytes: null, sha256: null, paused_since: null,
      retention_days: queue?.recording_retention_days ?? defaultRetentionDays, deleted_at: null, note: null, kind: 'survey_comment',
    }));
    this.finalizer.ensureInProgressFolder();
    try {
      await media.record(comment.channelId, name, { maxDurationSeconds: comment.maxSeconds, beep: true, terminateOn: '#' });
    } catch (err) {
      const gone = await this.callerLeft(comment.callId, comment.channelId);
      this.write(comment.recordingId, gone ? 'skipped' : 'failed', this.store.update(comment.recordingId, gone
        ? { status: 'skipped', ended_at: new Date(), note: 'caller_gone: the caller hung up before the comment could be recorded' }
        : { status: 'failed', ended_at: new Date(), note: `did not start: ${(err as Error).message}` }));
      if (!gone) throw err;
    }
  }

  /**
   * The call's conversation is over but its caller stays (a post-call
   * survey): its recording ends here, so the survey is not in it.
   */
  async conversationOver(callId: string): Promise<void> {
    const id = this.byCall.get(callId);
    const rec = id ? this.active.get(id) : undefined;
    if (!rec || rec.finalizing) return;
    await this.ari.request('recordings.stop', { recordingName: rec.name }).catch((err: unknown) => {
      if (!isGone(err)) throw err;
    });
    await this.hangUpSnoop(rec.snoopId, rec.id);
  }

  /** The recordings of a call, oldest first. */
  rowsOf(callId: string): Promise<RecordingRow[]> {
    return this.store.byCall(callId);
  }

  /** POST /calls/:id/recording: an agent on the call, a supervisor or an admin starts it. */
  async startOnDemand(callId: string, principal: { role: string; agentId: string | null }): Promise<RecordingRow | { id: string }> {
    const connected = this.channels.callOf({ callId });
    if (connected?.kind !== 'queue' || connected.queueId === undefined) {
      if (this.calls.liveCall(callId)) throw conflict('only a call connected to an agent of a queue can be recorded');
      throw notFound('call in progress');
    }
    if (principal.role === 'agent' && principal.agentId !== connected.agentId) throw forbidden('an agent may record only their own call');
    const existing = this.byCall.get(callId);
    if (existing) throw conflict(`the call is already being recorded (recording ${existing})`);
    const queue = await this.queues.get(connected.queueId);
    if ((await this.policyOf(callId, queue?.recording_policy ?? 'never')) === 'never') throw conflict('recording is turned off for this call\'s queue or route');
    const id = await this.start(callId, connected.queueId, connected.agentId, queue?.recording_retention_days ?? defaultRetentionDays);
    if (!id) throw conflict('the caller hung up before the recording could start');
    return { id };
  }

  async pause(callId: string, principal: { role: string; agentId: string | null }): Promise<{ id: string; pausedSince: string }> {
    const rec = this.activeFor(callId, principal);
    if (rec.pausedSince) throw conflict('the recording is already paused');
    await this.ari.request('recordings.pause', { recordingName: rec.name });
    rec.pausedSince = new Date();
    const since = rec.pausedSince;
    this.write(rec.id, 'paused', this.store.update(rec.id, { paused_since: since }));
    return { id: rec.id, pausedSince: since.toISOString() };
  }

  async resume(callId: string, principal: { role: string; agentId: string | null }): Promise<{ id: string; pauses: Pause[] }> {
    const rec = this.activeFor(callId, principal);
    if (!rec.pausedSince) throw conflict('the recording is not paused');
    await this.ari.request('recordings.unpause', { recordingName: rec.name });
    rec.pauses.push({ from: rec.pausedSince.toISOString(), to: new Date().toISOString() });
    rec.pausedSince = null;
    const pauses = [...rec.pauses];
    this.write(rec.id, 'resumed', this.store.update(rec.id, { paused_since: null, pauses }));
    return { id: rec.id, pauses };
  }

  private activeFor(callId: string, principal: { role: string; agentId: string | null }): Active {
    const id = this.byCall.get(callId);
    const rec = id ? this.active.get(id) : undefined;
    if (!rec) {
      if (this.calls.liveCall(callId)) throw conflict('the call is not being recorded');
      throw notFound('call in progress');
    }
    const connected = this.channels.callOf({ callId });
    if (principal.role === 'agent' && (!connected || connected.agentId !== principal.agentId)) throw forbidden('an agent may pause only their own call\'s recording');
    return rec;
  }

  /** Starts recording the call: the recording's id, or undefined when the caller hung up before it could start (a `skipped` row). */
  private async start(callId: string, queueId: string | null, agentId: string, retentionDays: number): Promise<string | undefined> {
    const call = this.calls.liveCall(callId);
    const id = randomUUID();
    const rec: Active = { id, callId, name: `${inProgressFolder}/${id}`, snoopId: randomUUID(), startedAt: new Date(), agentIds: [agentId], pauses: [], pausedSince: null, finalizing: false, rotations: 0 };
    this.active.set(id, rec);
    this.byCall.set(callId, id);
    // The row goes first (through the write queue, so a short database
    // outage does not stop the recording): a crash from here on leaves a
    // row that the next start reconciles.
    this.write(id, 'started', this.store.insert({
      id, call_id: callId, queue_id: queueId, agent_ids: rec.agentIds, asterisk_name: rec.name, path: null, status: 'recording',
      started_at: rec.startedAt, ended_at: null, duration_seconds: null, bytes: null, sha256: null, paused_since: null,
      retention_days: retentionDays, deleted_at: null, note: null,
    }));
    if (!call) return this.callerGone(rec, false);
    this.finalizer.ensureInProgressFolder();
    try {
      await this.snoopAndRecord(call.channelId, rec, 'fail');
    } catch (err) {
      if (await this.callerLeft(callId, call.channelId)) return this.callerGone(rec, true);
      this.logger.error({ err, callId, recordingId: id }, 'the call recording did not start');
      this.forget(rec);
      this.write(id, 'failed', this.store.update(id, { status: 'failed', ended_at: new Date(), note: `did not start: ${(err as Error).message}` }));
      this.failed(id, callId, 'not_started');
      await this.helpers.hangup(rec.snoopId);
      throw err;
    }
    this.logger.info({ callId, recordingId: id }, 'recording the call');
    return id;
  }

  /**
   * Whether the caller's channel is gone: the call ended here, or Asterisk
   * no longer knows the channel (its hang-up event may not have come yet).
   * Asked after a recording failed to start; a caller who hangs up between
   * the failure and this question is taken for gone too.
   */
  private async callerLeft(callId: string, channelId: string): Promise<boolean> {
    if (!this.calls.liveCall(callId)) return true;
    return this.ari.request('channels.get', { channelId }).then(() => false, (err: unknown) => isGone(err));
  }

  /**
   * The caller hung up before the recording could start: nothing was there
   * to record, which is no failure (not counted in recording.failed). The
   * row stays, `skipped` with the reason in its note, so that a call its
   * policy said to record shows why it has no recording.
   */
  private async callerGone(rec: Active, snoopMade: boolean): Promise<undefined> {
    this.forget(rec);
    this.write(rec.id, 'skipped', this.store.update(rec.id, { status: 'skipped', ended_at: new Date(), note: 'caller_gone: the caller hung up before the recording could start' }));
    this.bus.emit('recording.skipped', { recordingId: rec.id, callId: rec.callId, reason: 'caller_gone' });
    this.logger.info({ callId: rec.callId, recordingId: rec.id }, 'the caller hung up before the recording could start');
    // A snoop made on the caller ends with the caller's channel: "already gone" (404) is the expected answer.
    if (snoopMade) await this.helpers.hangup(rec.snoopId);
    return undefined;
  }

  /**
   * A recorded caller reached another agent (a transfer): the snoop moves to
   * a fresh channel appending to the same file. Asterisk 22.10's snoop loses
   * what the caller hears once the caller has changed bridges, so without
   * this the second agent would be missing from the recording.
   */
  private async rotate(rec: Active): Promise<void> {
    const call = this.calls.liveCall(rec.callId);
    if (!call || rec.finalizing) return;
    const oldSnoop = rec.snoopId;
    rec.rotations += 1;
    rec.recording = false;
    try {
      await this.ari.request('recordings.stop', { recordingName: rec.name });
    } catch (err) {
      rec.rotations -= 1;
      rec.recording = true; // not stopped: still going on the old snoop
      this.logger.warn({ err, recordingId: rec.id }, 'could not move the recording to a new snoop channel');
      return;
    }
    if (oldSnoop) await this.hangUpSnoop(oldSnoop, rec.id);
    rec.snoopId = randomUUID();
    try {
      await this.snoopAndRecord(call.channelId, rec, 'append');
      if (rec.pausedSince) await this.ari.request('recordings.pause', { recordingName: rec.name });
    } catch (err) {
      this.logger.error({ err, recordingId: rec.id }, 'the recording could not go on after the transfer; finishing what was recorded');
      void this.finished(rec.name, `stopped at a transfer: ${(err as Error).message}`);
    }
  }

  /**
   * Hangs up a snoop channel and waits until Asterisk has destroyed it. A
   * snoop's audiohook leaves the spied channel only as the snoop channel is
   * torn down (after its StasisEnd); a new snoop attached to the same
   * channel before that never gets what the channel hears (seen on 22.10.1
   * in about half the transfers; docs/asterisk-notes.md).
   */
  private async hangUpSnoop(snoopId: string, recordingId: string): Promise<void> {
    const destroyed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 2000);
      this.snoopGone.set(snoopId, () => { clearTimeout(timer); resolve(true); });
    });
    try {
      const hungUp = await this.ari.request('channels.hangup', { channelId: snoopId }).then(() => true, (err: unknown) => {
        if (isGone(err)) return false;
        throw err;
      });
      if (hungUp && !(await destroyed)) this.logger.warn({ recordingId, snoopId }, 'the old recording snoop was not destroyed within 2 s; the new one may miss what the caller hears');
    } catch (err) {
      this.logger.warn({ err, recordingId, snoopId }, 'could not hang up the old recording snoop');
    } finally {
      this.snoopGone.delete(snoopId);
    }
  }

  /** A snoop's ChannelDestroyed comes after its StasisEnd only with a subscription; a transfer waits for it (hangUpSnoop). */
  private subscribeToSnoop(snoopId: string): Promise<void> {
    return this.helpers.subscribe(snoopId);
  }

  private async snoopAndRecord(channelId: string, rec: Active, ifExists: 'fail' | 'append'): Promise<void> {
    // A snoop made before the caller changes bridges loses what the caller
    // hears, so it waits (at most 3 s) for the caller to be in the agent's
    // mixing bridge, which the queue is making as the answer is announced.
    await this.channels.inBridge(channelId, 'mixing', 3000);
    const snoopId = rec.snoopId;
    await this.helpers.intoStasis(snoopId, () => this.ari.request('channels.snoopChannel', {
      channelId, spy: 'both', whisper: 'none', app: this.ari.app, appArgs: snoopArg, snoopId,
    }));
    await this.ari.request('channels.record', {
      channelId: snoopId, name: rec.name, format: 'wav', ifExists, maxDurationSeconds: 0, maxSilenceSeconds: 0, beep: false, terminateOn: 'none',
    });
    rec.recording = true;
    await this.subscribeToSnoop(snoopId);
  }

  private addAgent(rec: Active, agentId: string): void {
    if (rec.agentIds.includes(agentId)) return;
    rec.agentIds.push(agentId);
    const agentIds = [...rec.agentIds];
    this.write(rec.id, 'agent', this.store.update(rec.id, { agent_ids: agentIds }));
  }

  /** Asterisk finished (or failed) a recording: ours are named in-progress/<id>. */
  private async finished(name: string, failure: string | null): Promise<void> {
    if (!name.startsWith(`${inProgressFolder}/`)) return;
    const id = name.slice(inProgressFolder.length + 1);
    const rec = this.active.get(id);
    if (rec && rec.rotations > 0 && !failure?.startsWith('stopped at a transfer')) {
      rec.rotations -= 1;
      return;
    }
    if (rec?.finalizing) return;
    if (rec) rec.finalizing = true;
    await this.writes.drain(); // never rejects: it waits for the queue to be idle
    const row = await this.store.get(id).catch((err: unknown) => {
      this.logger.error({ err, recordingId: id }, 'could not read a finished recording\'s row');
      return undefined;
    });
    if (!row) {
      this.logger.error({ recordingId: id }, 'a recording finished that has no row; its file stays in place');
      if (rec) this.forget(rec);
      return;
    }
    if (rec && rec.pausedSince) rec.pauses.push({ from: rec.pausedSince.toISOString(), to: new Date().toISOString() });
    const pauses = rec ? rec.pauses : row.pauses.concat(row.paused_since ? [{ from: row.paused_since.toISOString(), to: new Date().toISOString() }] : []);
    if (failure) this.logger.error({ recordingId: id, cause: failure }, 'Asterisk reports the recording failed; keeping what was written');
    await this.finalizer.finalize({ ...row, agent_ids: rec?.agentIds ?? row.agent_ids, pauses }, new Date(), failure);
    if (rec) this.forget(rec);
  }

  /**
   * On every ARI (re)connection: rows still `recording` are matched with
   * Asterisk's live recordings and the files on disk. Finished files are
   * adopted, rows without a file are marked missing; nothing is deleted.
   */
  reconcile(): Promise<ReconcileReport> {
    this.reconciling ??= this.runReconcile().finally(() => { this.reconciling = undefined; });
    return this.reconciling;
  }

  private async runReconcile(): Promise<ReconcileReport> {
    await this.writes.drain(); // never rejects: it waits for the queue to be idle
    const report: ReconcileReport = { adopted: 0, stillRecording: 0, missing: 0, orphans: [] };
    const open = await this.store.open();
    for (const row of open) {
      const rec = this.active.get(row.id);
      if (rec) {
        // Ours and going, unless Asterisk lost it (a media server lost, or
        // restarted, while we were connected): then its end never comes, and
        // what reached the file is kept as if it had ended now.
        if (rec.finalizing || rec.rotations > 0 || !rec.recording) continue;
        const gone = await this.ari.request('recordings.getLive', { recordingName: row.asterisk_name }).then(() => false, (err: unknown) => isGone(err));
        if (gone) {
          this.logger.warn({ recordingId: row.id, callId: row.call_id }, 'a recording in progress is gone from Asterisk; keeping what was written');
          await this.finished(row.asterisk_name, null);
        }
        continue;
      }
      const live = await this.ari.request('recordings.getLive', { recordingName: row.asterisk_name }).catch((err: unknown) => {
        if (isGone(err)) return undefined;
        throw err;
      });
      if (live && (live.state === 'recording' || live.state === 'paused' || live.state === 'queued')) {
        // Still going (centralita restarted mid-call): its end event will come to this app.
        report.stillRecording += 1;
        // A survey comment records the caller's own channel, not a snoop: nothing to take down at a transfer.
        if (row.kind === 'survey_comment') continue;
        // The snoop it records, so that a transfer can take it down before
        // making the next one (two snoops on the caller at once lose the caller's audio).
        const snoopId = live.target_uri.startsWith('channel:') ? live.target_uri.slice('channel:'.length) : '';
        const rec: Active = { id: row.id, callId: row.call_id, name: row.asterisk_name, snoopId, startedAt: row.started_at, agentIds: row.agent_ids, pauses: row.pauses, pausedSince: row.paused_since, finalizing: false, rotations: 0, recording: true };
        this.active.set(row.id, rec);
        this.byCall.set(row.call_id, row.id);
        if (snoopId) await this.subscribeToSnoop(snoopId);
        continue;
      }
      const info = await this.finalizer.finishedFileInfo(row.asterisk_name);
      if (!info) {
        report.missing += 1;
        await this.store.apply(this.store.update(row.id, { status: 'missing', note: 'found without a file after a restart' }));
        this.failed(row.id, row.call_id, 'file_missing');
        continue;
      }
      report.adopted += 1;
      const pauses = row.pauses.concat(row.paused_since ? [{ from: row.paused_since.toISOString(), to: info.mtime.toISOString() }] : []);
      await this.finalizer.finalize({ ...row, pauses }, info.mtime, null);
    }
    const known = new Set(open.map((r) => `${r.id}.wav`));
    // Orphans are only listed for the report: a listing that fails lists none.
    const files = await this.finalizer.inProgressFiles();
    for (const f of files) {
      if (!f.endsWith('.wav') || known.has(f) || this.active.has(f.slice(0, -4))) continue;
      const row = await this.store.get(f.slice(0, -4)).catch(() => undefined); // unread: reported as an orphan
      if (!row || row.status !== 'complete') report.orphans.push(`${inProgressFolder}/${f}`);
    }
    this.lastReconcile = report;
    if (report.adopted + report.missing + report.orphans.length > 0) this.logger.warn(report, 'recordings reconciled after a restart');
    else if (report.stillRecording > 0) this.logger.info(report, 'recordings still in progress adopted');
    return report;
  }

  private failed(recordingId: string, callId: string, reason: RecordingFailure): void {
    this.bus.emit('recording.failed', { recordingId, callId, reason });
  }

  private forget(rec: Active): void {
    this.active.delete(rec.id);
    if (this.byCall.get(rec.callId) === rec.id) this.byCall.delete(rec.callId);
  }

  private write(id: string, what: string, op: WriteOp, after?: () => Promise<void>): void {
    void this.writes.enqueue(`recording ${id} ${what}`, op, after);
  }
}
