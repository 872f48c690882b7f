import { sql, type Generated, type Insertable, type Kysely, type Selectable, type Updateable } from 'kysely';
import type { LastKnownGood } from '../core/last-known-good.js';
import { runWriteOp, type WriteOp } from '../core/write-queue.js';
import type { SurveyOffer } from './survey-offer.js';
import type { Strategy } from './strategy.js';

export type Overflow =
  | { action: 'hangup'; media?: string[] }
  | { action: 'queue'; queueId: string }
  | { action: 'flow'; flowId: string }
  /** Leave a message: a prompt, a beep, a recording up to maxSeconds (or #). */
  | { action: 'message'; media?: string[]; maxSeconds?: number };
export interface Announcements { everySeconds: number; position?: boolean; estimate?: boolean }
/** The wallboard's amber and red limits: service level today (%, lower is worse), longest wait (s), callers waiting. */
export interface Thresholds {
  serviceLevel: { amber: number; red: number }; longestWait: { amber: number; red: number }; waiting: { amber: number; red: number };
}
export const defaultThresholds: Thresholds = { serviceLevel: { amber: 80, red: 60 }, longestWait: { amber: 60, red: 180 }, waiting: { amber: 3, red: 8 } };

export interface QueuesTable {
  id: string; name: string; strategy: Strategy; required_skills: Record<string, number>; language: string | null;
  ring_timeout_seconds: number; wrap_up_seconds: number; max_wait_seconds: number; overflow: Overflow;
  service_level_seconds: number; announcements: Announcements; music_on_hold: string; recording_policy: 'always' | 'never' | 'on_demand';
  recording_sample_percent: number; recording_retention_days: number;
  callback_key: string | null; overflow_key: string | null; extension: string | null;
  /** Callbacks dialled (migration 032): calls per request, minutes between them. */
  callback_max_attempts: number; callback_retry_minutes: number;
  thresholds: Thresholds;
  /** Wrap-up codes (migration 023): the agent sets one per call; `required` holds the wrap-up until it is set. */
  dispositions: Disposition[]; disposition_required: boolean; disposition_max_seconds: number;
  /** Offers an agent may miss in a row before being paused (rona). */
  rona_after_misses: number;
  /** The CRM screen pop's URL template (screen-pop.ts). */
  screen_pop_url: string | null;
  /** The post-call survey it offers (migration 029; surveys/offer.ts). */
  survey: SurveyOffer | null;
  created_at: Generated<Date>;
}
/** A wrap-up code: keyed on the phone (*49 code #), so digits. `outcome` is for campaigns (done, retry, callback, do_not_call…). */
export interface Disposition { code: string; label: string; requiresNote?: boolean; outcome?: string }
export type CallbackStatus = 'pending' | 'in_progress' | 'done' | 'failed' | 'cancelled';
export interface QueueCallbacksTable {
  id: string; queue_id: string; call_id: string | null; caller_number: string; requested_at: Date; status: Generated<CallbackStatus>;
  /** Dialled callbacks (migration 032). */
  attempts: Generated<number>; next_attempt_at: Generated<Date | null>; last_attempt_at: Generated<Date | null>; last_outcome: Generated<string | null>;
  last_call_id: Generated<string | null>; agent_id: Generated<string | null>; scheduled_by: Generated<string | null>;
}
export interface QueueMembersTable { queue_id: string; agent_id: string; penalty: number }
export type Outcome = 'answered' | 'abandoned' | 'overflow' | 'callback' | 'transferred';
export interface QueueEntriesTable {
  id: string; call_id: string; queue_id: string; priority: number; entered_at: Date; answered_at: Date | null;
  answered_by: string | null; left_at: Date | null; outcome: Outcome | null; wait_seconds: number | null;
  /** the queue's service-level threshold when the caller entered: reports of the past do not move when it changes */
  service_level_seconds: number;
  transferred_by: Generated<string | null>; transferred_to: Generated<TransferTarget | null>;
  hold_count: Generated<number>; hold_seconds: Generated<number>; hold_started_at: Generated<Date | null>;
  disposition: Generated<string | null>; disposition_note: Generated<string | null>; disposition_at: Generated<Date | null>;
}
/** Where an agent sends a connected caller. */
/** Where a transfer sent the caller: a queue, a phone, or an external number within the agent's dialing rights. */
export type TransferTarget = { queueId: string } | { extension: string } | { external: string };
export type OfferResult = 'answered' | 'no_answer' | 'caller_left' | 'lost_race' | 'failed';
export interface QueueOffersTable { id: Generated<number>; entry_id: string; agent_id: string; offered_at: Date; ended_at: Date | null; result: OfferResult | null }

export interface QueueMessagesTable { id: string; queue_id: string; call_id: string; caller_number: string; recording_name: string; duration_seconds: number | null; created_at: Date }
export interface QueuesTables {
  queues: QueuesTable; queue_members: QueueMembersTable; queue_entries: QueueEntriesTable; queue_offers: QueueOffersTable;
  queue_callbacks: QueueCallbacksTable; queue_messages: QueueMessagesTable;
}
export type QueueRow = Selectable<QueuesTable>;
export type QueueEntryRow = Selectable<QueueEntriesTable>;
/** What the queues read of a call's record (the calls capability's). */
export interface CallFacts { id: string; channel_id: string; caller_number: string; did: string | null; language: string | null }
export type OpenEntryRow = QueueEntryRow & Omit<CallFacts, 'id'>;

const json = <T>(value: T): T => JSON.stringify(value) as unknown as T;
const jsonFields = ['required_skills', 'overflow', 'announcements', 'thresholds', 'dispositions', 'survey'] as const;
function withJson<T extends Partial<QueuesTable>>(row: T): T {
  const out: Record<string, unknown> = { ...row };
  for (const field of jsonFields) if (out[field] !== undefined && out[field] !== null) out[field] = json(out[field]);
  return out as T;
}

export class QueuesStore {
  /**
   * cache: the reads calls depend on fall back to their last known value while the database is down.
   * calls: port to the calls capability, for the calls of open entries (openEntries); a store made for retention or backup has none.
   */
  constructor(
    private readonly db: Kysely<QueuesTables>,
    private readonly cache?: LastKnownGood,
    private readonly calls?: { facts(callIds: string[]): Promise<CallFacts[]> },
  ) {}

  private read<T>(key: string, load: () => Promise<T>): Promise<T> {
    return this.cache ? this.cache.read(key, load) : load();
  }

  /** A read every call or dispatch makes: served from memory while known current (see LastKnownGood). */
  private readFresh<T>(key: string, load: () => Promise<T>): Promise<T> {
    return this.cache ? this.cache.readFresh(key, load) : load();
  }

  /** A queue changed: its rows under every key (id, name, extension: old and new) and its members. */
  private forgetQueue(id: string): void {
    this.cache?.invalidate('queue:', 'queue-name:', 'queue-extension:', `queue-members:${id}`);
  }

  /** Every queue and its members, into the cache (at start). */
  async warm(remember: (key: string, value: unknown) => void): Promise<void> {
    const members = await this.db.selectFrom('queue_members').selectAll().orderBy('penalty').execute();
    for (const row of await this.list()) {
      remember(`queue:${row.id}`, row);
      remember(`queue-name:${row.name}`, row);
      if (row.extension) remember(`queue-extension:${row.extension}`, row);
      remember(`queue-members:${row.id}`, members.filter((m) => m.queue_id === row.id));
    }
  }

  list(): Promise<QueueRow[]> { return this.db.selectFrom('queues').selectAll().orderBy('name').execute(); }
  get(id: string): Promise<QueueRow | undefined> { return this.readFresh(`queue:${id}`, () => this.db.selectFrom('queues').selectAll().where('id', '=', id).executeTakeFirst()); }
  findByName(name: string): Promise<QueueRow | undefined> {
    return this.readFresh(`queue-name:${name}`, () => this.db.selectFrom('queues').selectAll().where('name', '=', name).executeTakeFirst());
  }
  findByExtension(extension: string): Promise<QueueRow | undefined> {
    return this.readFresh(`queue-extension:${extension}`, () => this.db.selectFrom('queues').selectAll().where('extension', '=', extension).executeTakeFirst());
  }

  async insert(row: Omit<QueuesTable, 'created_at'>): Promise<QueueRow> {
    const inserted = await this.db.insertInto('queues').values(withJson(row)).returningAll().executeTakeFirstOrThrow();
    this.forgetQueue(inserted.id);
    return inserted;
  }

  async update(id: string, change: Partial<Omit<QueuesTable, 'id' | 'created_at'>>): Promise<QueueRow | undefined> {
    const updated = await this.db.updateTable('queues').set(withJson(change)).where('id', '=', id).returningAll().executeTakeFirst();
    this.forgetQueue(id);
    return updated;
  }

  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('queues').where('id', '=', id).execute();
    this.forgetQueue(id);
  }

  async hasEntries(id: string): Promise<boolean> {
    return (await this.db.selectFrom('queue_entries').select('id').where('queue_id', '=', id).limit(1).executeTakeFirst()) !== undefined;
  }

  members(queueId: string): Promise<Selectable<QueueMembersTable>[]> {
    return this.readFresh(`queue-members:${queueId}`, () => this.db.selectFrom('queue_members').selectAll().where('queue_id', '=', queueId).orderBy('penalty').execute());
  }

  async setMembers(queueId: string, members: { agentId: string; penalty: number }[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('queue_members').where('queue_id', '=', queueId).execute();
      if (members.length > 0) await trx.insertInto('queue_members').values(members.map((m) => ({ queue_id: queueId, agent_id: m.agentId, penalty: m.penalty }))).execute();
    });
    this.cache?.invalidate(`queue-members:${queueId}`);
  }

  // The writes of queue entries, offers, callbacks and messages, for the write queue.
  insertEntry(row: Insertable<QueueEntriesTable>): WriteOp { return { insert: 'queue_entries', values: { ...row } }; }

  updateEntry(id: string, change: Updateable<QueueEntriesTable>): WriteOp {
    const values = change.transferred_to ? { ...change, transferred_to: json(change.transferred_to) } : { ...change };
    return { update: 'queue_entries', set: values, where: { id } };
  }

  insertOffer(row: Omit<QueueOffersTable, 'id'>): WriteOp { return { insert: 'queue_offers', values: { ...row } }; }

  endOffer(entryId: string, agentId: string, ended: Date, result: OfferResult): WriteOp {
    return { update: 'queue_offers', set: { ended_at: ended, result }, where: { entry_id: entryId, agent_id: agentId, ended_at: null } };
  }

  /** Applies a write at once, outside the write queue. */
  async apply(op: WriteOp): Promise<void> { await runWriteOp(this.db, op); }

  /** Queue calls each agent answered since `since`. */
  async answeredSince(since: Date): Promise<Map<string, number>> {
    const rows = await this.read(`queue-answered-since:${since.toISOString()}`, () => this.db.selectFrom('queue_entries').select(['answered_by', sql<number>`count(*)::int`.as('n')])
      .where('answered_at', '>=', since).where('answered_by', 'is not', null).groupBy('answered_by').execute());
    return new Map(rows.map((r) => [r.answered_by!, r.n]));
  }

  /** Average talk-plus-wait handle time of recent answered entries, for wait estimates. */
  async recentHandleSeconds(queueId: string): Promise<number | null> {
    const row = await this.read(`queue-handle-seconds:${queueId}`, () => sql<{ avg: number | null }>`
      select avg(extract(epoch from (left_at - answered_at)))::float as avg from (
        select answered_at, left_at from queue_entries
        where queue_id = ${queueId} and outcome = 'answered' and left_at is not null order by entered_at desc limit 50) recent`.execute(this.db));
    return row.rows[0]?.avg ?? null;
  }

  entries(queueId: string, limit: number): Promise<QueueEntryRow[]> {
    return this.db.selectFrom('queue_entries').selectAll().where('queue_id', '=', queueId).orderBy('entered_at', 'desc').limit(limit).execute();
  }

  /** The queue calls an agent answered, latest first, with their wrap-up codes and holds. */
  answeredBy(agentId: string, limit: number): Promise<Pick<QueueEntryRow, 'id' | 'call_id' | 'queue_id' | 'answered_at' | 'left_at' | 'outcome' | 'hold_seconds' | 'disposition' | 'disposition_note'>[]> {
    return this.db.selectFrom('queue_entries')
      .select(['id', 'call_id', 'queue_id', 'answered_at', 'left_at', 'outcome', 'hold_seconds', 'disposition', 'disposition_note'])
      .where('answered_by', '=', agentId).orderBy('answered_at', 'desc').limit(limit).execute();
  }

  offers(entryId: string): Promise<Selectable<QueueOffersTable>[]> {
    return this.db.selectFrom('queue_offers').selectAll().where('entry_id', '=', entryId).orderBy('id').execute();
  }

  insertCallback(row: { id: string; queue_id: string; call_id: string | null; caller_number: string; requested_at: Date; agent_id?: string | null; scheduled_by?: string | null; next_attempt_at?: Date | null }): WriteOp {
    return { insert: 'queue_callbacks', values: { ...row } };
  }

  /** A callback's progress as it is dialled (src/outbound/callbacks.ts). */
  callbackChanged(id: string, set: { status: CallbackStatus; attempts?: number; next_attempt_at?: Date | null; last_attempt_at?: Date; last_outcome?: string; last_call_id?: string | null }): WriteOp {
    return { update: 'queue_callbacks', set: { ...set }, where: { id } };
  }

  /** Pending callbacks due by `now`, oldest first, with their queue's retry settings. */
  dueCallbacks(now: Date, limit: number): Promise<Selectable<QueueCallbacksTable>[]> {
    return this.db.selectFrom('queue_callbacks').selectAll().where('status', '=', 'pending')
      .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
      .orderBy('requested_at').limit(limit).execute();
  }

  /** Callbacks an earlier process left being dialled: pending again (a restart). */
  async releaseCallbacksInProgress(): Promise<number> {
    const result = await this.db.updateTable('queue_callbacks').set({ status: 'pending' }).where('status', '=', 'in_progress').executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  callbacks(queueId: string): Promise<Selectable<QueueCallbacksTable>[]> {
    return this.db.selectFrom('queue_callbacks').selectAll().where('queue_id', '=', queueId).orderBy('requested_at').execute();
  }

  insertMessage(row: QueueMessagesTable): WriteOp {
    return { insert: 'queue_messages', values: { ...row } };
  }

  messages(queueId: string): Promise<Selectable<QueueMessagesTable>[]> {
    return this.db.selectFrom('queue_messages').selectAll().where('queue_id', '=', queueId).orderBy('created_at').execute();
  }

  /** Every caller's message and its recording (relative to the recordings dir, without the extension). */
  messageRecordings(): Promise<Pick<Selectable<QueueMessagesTable>, 'id' | 'recording_name'>[]> {
    return this.db.selectFrom('queue_messages').select(['id', 'recording_name']).orderBy('id').execute();
  }

  /** Of these calls, those a callback request or a caller's message refers to. */
  async callsWithWork(callIds: string[]): Promise<Set<string>> {
    if (callIds.length === 0) return new Set();
    const rows = await this.db.selectFrom('queue_callbacks').select('call_id').where('call_id', 'in', callIds)
      .union(this.db.selectFrom('queue_messages').select('call_id').where('call_id', 'in', callIds)).execute();
    return new Set(rows.flatMap((row) => (row.call_id ? [row.call_id] : [])));
  }

  /**
   * Deletes the queue entries of these calls and the offers made for them.
   * `latest`: the latest moment a deleted row counted at in the reports (an
   * entry's entering or answer, an offer), for the retention's watermark.
   */
  async deleteEntriesOf(callIds: string[]): Promise<{ entries: number; offers: number; latest: Date | undefined }> {
    if (callIds.length === 0) return { entries: 0, offers: 0, latest: undefined };
    const offers = await this.db.deleteFrom('queue_offers')
      .where('entry_id', 'in', this.db.selectFrom('queue_entries').select('id').where('call_id', 'in', callIds)).returning('offered_at').execute();
    const entries = await this.db.deleteFrom('queue_entries').where('call_id', 'in', callIds).returning(['entered_at', 'answered_at']).execute();
    const moments = [...offers.map((o) => o.offered_at), ...entries.flatMap((e) => (e.answered_at ? [e.entered_at, e.answered_at] : [e.entered_at]))];
    const latest = moments.reduce<Date | undefined>((max, at) => (max && max >= at ? max : at), undefined);
    return { entries: entries.length, offers: offers.length, latest };
  }

  /**
   * The wrap-up of whoever took a call handed over after a consult: the
   * queue consulted (transferred_to.queueId), else the queue of the call's
   * last entry; 0 when the call has no entry.
   */
  async wrapUpOfHandedOver(callId: string): Promise<number> {
    const row = (await sql<{ wrap_up_seconds: number }>`
      select q.wrap_up_seconds from queue_entries e
        join queues q on q.id = coalesce((e.transferred_to ->> 'queueId')::uuid, e.queue_id)
      where e.call_id = ${callId} order by e.entered_at desc limit 1`.execute(this.db)).rows[0];
    return row?.wrap_up_seconds ?? 0;
  }

  /** The caller's channel of a call (the calls capability's record). */
  async channelOfCall(callId: string): Promise<string | undefined> {
    if (!this.calls) throw new Error('QueuesStore.channelOfCall needs the calls port');
    return (await this.calls.facts([callId]))[0]?.channel_id;
  }

  /** Entries still open (a caller waiting, ringing or talking), with their call's channel: judged after a restart. */
  async openEntries(): Promise<OpenEntryRow[]> {
    if (!this.calls) throw new Error('QueuesStore.openEntries needs the calls port');
    const entries = await this.db.selectFrom('queue_entries').selectAll().where('left_at', 'is', null).orderBy('entered_at').execute();
    if (entries.length === 0) return [];
    const calls = new Map((await this.calls.facts([...new Set(entries.map((e) => e.call_id))])).map((call) => [call.id, call]));
    // An entry whose call has no record is skipped, as the join it replaces did.
    return entries.flatMap((row) => {
      const call = calls.get(row.call_id);
      if (!call) return [];
      const { id: _callId, ...facts } = call;
      return [{ ...row, ...facts, wait_seconds: row.wait_seconds === null ? null : Number(row.wait_seconds) }];
    });
  }

  /** Closes the offers of an entry still ringing (agent legs a previous run left). */
  async endOpenOffers(entryId: string, at: Date, result: OfferResult): Promise<void> {
    await this.db.updateTable('queue_offers').set({ ended_at: at, result }).where('entry_id', '=', entryId).where('ended_at', 'is', null).execute();
  }
}
