import { randomUUID } from 'node:crypto';
import { sql, type ColumnType, type Generated, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { WriteOp } from '../core/write-queue.js';
import { ImportTx, json, listedFor } from './import-tx.js';
import type {
  AmdPolicy, CallOutcome, CampaignMode, CampaignState, ContactChange, ContactState, DispositionActions, Hours, RetryRules,
} from './rules.js';

/** numeric columns: pg gives them as text (exact), written as numbers. */
type Numeric = ColumnType<string, number, number>;

export interface CampaignsTable {
  id: string; name: string; queue_id: string; caller_id: string; mode: CampaignMode; state: Generated<CampaignState>;
  hours: Hours; default_region: string; default_timezone: string; amd: AmdPolicy;
  abandon_cap_percent: Numeric; abandon_prompt: string | null; max_ratio: Numeric;
  retry: RetryRules; disposition_actions: DispositionActions;
  created_at: Generated<Date>; updated_at: Generated<Date>;
}
export interface CampaignListsTable {
  id: string; campaign_id: string; name: string; imported_at: Date; imported_by: string | null;
  contacts: number; dnc_contacts: number; timezones: string[];
}
export interface CampaignContactsTable {
  id: string; campaign_id: string; list_id: string; line: number; number_e164: string; raw_number: string; name: string | null;
  timezone: string; fields: Record<string, string>; state: ContactState; attempts: Generated<number>;
  next_attempt_at: Date | null; last_outcome: Generated<CallOutcome | null>; last_attempt_at: Generated<Date | null>;
  callback_agent_id: Generated<string | null>; claimed_at: Generated<Date | null>; claimed_from: Generated<ContactState | null>;
}
export interface CampaignAttemptsTable {
  id: string; campaign_id: string; contact_id: string; call_id: string | null; number_e164: string;
  started_at: Date; answered_at: Date | null; ended_at: Date | null; outcome: CallOutcome | null; agent_id: string | null; disposition: string | null;
}
export type DncSource = 'api' | 'import' | 'disposition';
export interface DncNumbersTable {
  id: string; number_e164: string; campaign_id: string | null; reason: string | null; source: DncSource; added_by: string | null; added_at: Date;
}
export interface CampaignsTables {
  campaigns: CampaignsTable; campaign_lists: CampaignListsTable; campaign_contacts: CampaignContactsTable;
  campaign_attempts: CampaignAttemptsTable; dnc_numbers: DncNumbersTable;
}
export type CampaignRow = Selectable<CampaignsTable>;
export type ListRow = Selectable<CampaignListsTable>;
export type ContactRow = Selectable<CampaignContactsTable>;
export type AttemptRow = Selectable<CampaignAttemptsTable>;
export type DncRow = Selectable<DncNumbersTable>;
export type NewCampaign = Omit<Insertable<CampaignsTable>, 'state' | 'created_at' | 'updated_at'>;
export type NewContact = Omit<CampaignContactsTable, 'attempts' | 'last_outcome' | 'last_attempt_at' | 'callback_agent_id' | 'claimed_at' | 'claimed_from'>;
/** Contacts by state, and how many were called at least once. */
export interface StateCounts { byState: Record<ContactState, number>; attempted: number }

const jsonColumns = ['hours', 'amd', 'retry', 'disposition_actions'] as const;
function withJson<T extends Partial<NewCampaign>>(row: T): T {
  const out: Record<string, unknown> = { ...row };
  for (const column of jsonColumns) if (out[column] !== undefined) out[column] = json(out[column]);
  return out as T;
}
const noCounts = (): Record<ContactState, number> => ({ pending: 0, in_progress: 0, retry: 0, callback: 0, done: 0, dnc: 0, failed: 0 });


/**
 * Campaigns, their contact lists and contacts, the dial attempts and the
 * do-not-call lists. Admin changes are awaited queries; what the dialer
 * writes during calls is built here as WriteOps for the write queue.
 */
export class CampaignsStore {
  constructor(private readonly db: Kysely<CampaignsTables>) {}

  // ---- campaigns ----

  list(): Promise<CampaignRow[]> {
    return this.db.selectFrom('campaigns').selectAll().orderBy('name').execute();
  }

  get(id: string): Promise<CampaignRow | undefined> {
    return this.db.selectFrom('campaigns').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByName(name: string): Promise<CampaignRow | undefined> {
    return this.db.selectFrom('campaigns').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async create(row: NewCampaign): Promise<void> {
    await this.db.insertInto('campaigns').values(withJson(row)).execute();
  }

  async update(id: string, set: Partial<NewCampaign>): Promise<void> {
    await this.db.updateTable('campaigns').set({ ...withJson(set), updated_at: new Date() }).where('id', '=', id).execute();
  }

  /** Moves a campaign from one state to another; false when it was no longer in `from` (a concurrent command won). */
  async transition(id: string, from: CampaignState, to: CampaignState): Promise<boolean> {
    const done = await this.db.updateTable('campaigns').set({ state: to, updated_at: new Date() }).where('id', '=', id).where('state', '=', from).executeTakeFirst();
    return Number(done.numUpdatedRows) === 1;
  }

  /** Whether any contact of the campaign was ever dialled (a campaign with history is kept). */
  async hasAttempts(id: string): Promise<boolean> {
    return (await this.db.selectFrom('campaign_attempts').select('id').where('campaign_id', '=', id).limit(1).executeTakeFirst()) !== undefined;
  }

  /** Deletes a campaign with its lists, contacts and its own do-not-call list (the cascade of migration 031). */
  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('campaigns').where('id', '=', id).execute();
  }

  // ---- lists and contacts ----

  lists(campaignId: string): Promise<ListRow[]> {
    return this.db.selectFrom('campaign_lists').selectAll().where('campaign_id', '=', campaignId).orderBy('imported_at').execute();
  }

  listByName(campaignId: string, name: string): Promise<ListRow | undefined> {
    return this.db.selectFrom('campaign_lists').selectAll().where('campaign_id', '=', campaignId).where('name', '=', name).executeTakeFirst();
  }

  /**
   * The pacing's history (src/campaigns/pacing-cap.ts): persons reached
   * (answered or abandoned) and abandoned, since `dayStart` and since
   * `since30`, over every campaign (the cap is the centre's, as Ofcom counts it).
   */
  async abandonHistory(dayStart: Date, since30: Date): Promise<{ dayHumans: number; dayAbandons: number; rolling30Humans: number; rolling30Abandons: number }> {
    const row = await this.db.selectFrom('campaign_attempts')
      .select([
        sql<string>`count(*) filter (where started_at >= ${dayStart})`.as('dh'),
        sql<string>`count(*) filter (where started_at >= ${dayStart} and outcome = 'abandoned')`.as('da'),
        sql<string>`count(*)`.as('rh'),
        sql<string>`count(*) filter (where outcome = 'abandoned')`.as('ra'),
      ])
      .where('started_at', '>=', since30).where('outcome', 'in', ['answered', 'abandoned'])
      .executeTakeFirst();
    return { dayHumans: Number(row?.dh ?? 0), dayAbandons: Number(row?.da ?? 0), rolling30Humans: Number(row?.rh ?? 0), rolling30Abandons: Number(row?.ra ?? 0) };
  }

  /** Contacts by state and how many were attempted, for a campaign or one of its lists. */
  async counts(campaignId: string, listId?: string): Promise<StateCounts> {
    let query = this.db.selectFrom('campaign_contacts')
      .select(['state', sql<string>`count(*)`.as('n'), sql<string>`count(*) filter (where attempts > 0)`.as('attempted')])
      .where('campaign_id', '=', campaignId);
    if (listId) query = query.where('list_id', '=', listId);
    const byState = noCounts();
    let attempted = 0;
    for (const row of await query.groupBy('state').execute()) {
      byState[row.state] = Number(row.n);
      attempted += Number(row.attempted);
    }
    return { byState, attempted };
  }

  contacts(campaignId: string, filter: { state?: ContactState; listId?: string; limit: number; offset: number }): Promise<ContactRow[]> {
    let query = this.db.selectFrom('campaign_contacts').selectAll().where('campaign_id', '=', campaignId);
    if (filter.state) query = query.where('state', '=', filter.state);
    if (filter.listId) query = query.where('list_id', '=', filter.listId);
    return query.orderBy('list_id').orderBy('line').limit(filter.limit).offset(filter.offset).execute();
  }

  contact(campaignId: string, contactId: string): Promise<ContactRow | undefined> {
    return this.db.selectFrom('campaign_contacts').selectAll().where('campaign_id', '=', campaignId).where('id', '=', contactId).executeTakeFirst();
  }

  attemptsOf(contactId: string): Promise<AttemptRow[]> {
    return this.db.selectFrom('campaign_attempts').selectAll().where('contact_id', '=', contactId).orderBy('started_at').execute();
  }

  /** All the time zones of a campaign's contacts (from its lists: a contact's zone is fixed at import). */
  async zones(campaignId: string): Promise<string[]> {
    const zones = new Set<string>();
    for (const row of await this.db.selectFrom('campaign_lists').select('timezones').where('campaign_id', '=', campaignId).execute()) {
      for (const zone of row.timezones) zones.add(zone);
    }
    return [...zones];
  }

  /**
   * The dialer's claim: up to `n` contacts of the campaign due by `now`
   * (pending, retry, callback; callbacks first, then by due time, then in
   * file order) whose time zone is one of `zones` (those within calling
   * hours now) and whose number is on neither the global nor the
   * campaign's do-not-call list; each marked in_progress in the same
   * statement, rows another claim holds skipped (two dialers never take one
   * contact). Returned with the state each was taken from.
   */
  async claim(campaignId: string, n: number, now: Date, zones: readonly string[]): Promise<ContactRow[]> {
    if (zones.length === 0 || n <= 0) return [];
    const result = await sql<ContactRow>`
      update campaign_contacts c set state = 'in_progress', claimed_at = ${now}, claimed_from = c.state
      from (
        select x.id from campaign_contacts x
        where x.campaign_id = ${campaignId} and x.state in ('pending', 'retry', 'callback') and x.next_attempt_at <= ${now}
          and x.timezone in (${sql.join([...zones])})
          and not exists (select 1 from dnc_numbers d where d.number_e164 = x.number_e164 and (d.campaign_id is null or d.campaign_id = x.campaign_id))
        order by (x.state = 'callback') desc, x.next_attempt_at, x.line
        limit ${n}
        for update skip locked
      ) picked
      where c.id = picked.id
      returning c.*`.execute(this.db);
    return result.rows;
  }

  /**
   * Contacts a dialer took and never ended (a crash, a stop): those claimed
   * before `before` go back to the state they were taken from. For the
   * dialer's start; returns how many.
   */
  async releaseStaleClaims(before: Date): Promise<number> {
    const result = await sql`
      update campaign_contacts set state = coalesce(claimed_from, 'pending'), claimed_at = null, claimed_from = null
      where state = 'in_progress' and claimed_at < ${before}`.execute(this.db);
    return Number(result.numAffectedRows ?? 0);
  }

  /**
   * An import, all or nothing: `work` runs in one transaction, and
   * throwing from it (a bad row found) rolls everything back.
   */
  importing<T>(work: (tx: ImportTx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new ImportTx(trx)));
  }

  // ---- do-not-call ----

  dncList(campaignId: string | null, filter: { number?: string; limit: number; offset: number }): Promise<DncRow[]> {
    let query = this.db.selectFrom('dnc_numbers').selectAll();
    query = campaignId === null ? query.where('campaign_id', 'is', null) : query.where('campaign_id', '=', campaignId);
    if (filter.number) query = query.where('number_e164', '=', filter.number);
    return query.orderBy('added_at', 'desc').orderBy('number_e164').limit(filter.limit).offset(filter.offset).execute();
  }

  /** Whether a number is on the global list or (for a campaign) on the campaign's. */
  async isListed(campaignId: string | null, numberE164: string): Promise<boolean> {
    const row = await sql<{ one: number }>`select 1 as one from dnc_numbers d where d.number_e164 = ${numberE164} and ${listedFor(campaignId)} limit 1`.execute(this.db);
    return row.rows.length > 0;
  }

  /**
   * The global list's number that a number as dialled by hand may be (a
   * click-to-call: no campaign, no region to read it with): the same E.164
   * (`+…` or `00…`), or, for one without its country code, a listed
   * number ending in its digits (at least 6, leading zeros dropped). It
   * errs towards refusing: a national number matches the same digits of
   * any country. A scan of the global list, fine at a person's pace.
   */
  async globalEntryForDialled(dialled: string): Promise<string | undefined> {
    const international = /^(\+|00)([1-9][0-9]{5,})$/.exec(dialled);
    const e164 = international ? `+${international[2]}` : null;
    const national = international ? null : dialled.replace(/^0+/, '');
    if (!e164 && (!national || national.length < 6)) return undefined;
    const row = await sql<{ number: string }>`select number_e164 as number from dnc_numbers
      where campaign_id is null and (number_e164 = ${e164} or (${national}::text is not null and number_e164 like '%' || ${national}::text)) limit 1`.execute(this.db);
    return row.rows[0]?.number;
  }

  /** Adds numbers to a list (those listed already are left as they are) and marks the contacts they apply to; returns the rows added. */
  async dncAdd(rows: Omit<DncNumbersTable, 'id'>[]): Promise<DncRow[]> {
    if (rows.length === 0) return [];
    return this.db.transaction().execute((trx) => new ImportTx(trx).addDnc(rows));
  }

  /**
   * Removes a number from a list; its contacts set aside as dnc that no
   * other list keeps out become callable again (pending, or retry when
   * they had calls), due at `now`. Returns whether it was listed.
   */
  async dncRemove(campaignId: string | null, numberE164: string, now: Date): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      let query = trx.deleteFrom('dnc_numbers').where('number_e164', '=', numberE164);
      query = campaignId === null ? query.where('campaign_id', 'is', null) : query.where('campaign_id', '=', campaignId);
      const removed = await query.executeTakeFirst();
      if (Number(removed.numDeletedRows) === 0) return false;
      await sql`
        update campaign_contacts c set state = case when c.attempts = 0 then 'pending' else 'retry' end, next_attempt_at = ${now}
        where c.number_e164 = ${numberE164} and c.state = 'dnc' ${campaignId === null ? sql`` : sql`and c.campaign_id = ${campaignId}`}
          and not exists (select 1 from dnc_numbers d where d.number_e164 = c.number_e164 and (d.campaign_id is null or d.campaign_id = c.campaign_id))`.execute(trx);
      return true;
    });
  }

  // ---- the dialer's writes (WriteOps: journaled, replayable) ----

  /** A dial begins (the contact was claimed). */
  attemptStarted(row: { id: string; campaignId: string; contactId: string; numberE164: string; startedAt: Date; callId?: string | null; agentId?: string | null }): WriteOp {
    return {
      insert: 'campaign_attempts', onConflictDoNothing: ['id'],
      values: {
        id: row.id, campaign_id: row.campaignId, contact_id: row.contactId, number_e164: row.numberE164, started_at: row.startedAt.toISOString(),
        call_id: row.callId ?? null, agent_id: row.agentId ?? null,
      },
    };
  }

  /** The dial's call record, once it has one. */
  attemptCall(attemptId: string, callId: string): WriteOp {
    return { update: 'campaign_attempts', set: { call_id: callId }, where: { id: attemptId } };
  }

  /** The person (or a machine) answered; agentId: the agent it was put through to, when known. */
  attemptAnswered(attemptId: string, at: Date, agentId?: string | null): WriteOp {
    return { update: 'campaign_attempts', set: { answered_at: at.toISOString(), ...(agentId ? { agent_id: agentId } : {}) }, where: { id: attemptId } };
  }

  /** The dial ended with its outcome (and the wrap-up code, if set by then). */
  attemptEnded(attemptId: string, end: { at: Date; outcome: CallOutcome; agentId?: string | null; disposition?: string | null }): WriteOp {
    return {
      update: 'campaign_attempts',
      set: { ended_at: end.at.toISOString(), outcome: end.outcome, ...(end.agentId ? { agent_id: end.agentId } : {}), ...(end.disposition ? { disposition: end.disposition } : {}) },
      where: { id: attemptId },
    };
  }

  /** The wrap-up code set after the dial ended. */
  attemptDisposition(attemptId: string, code: string): WriteOp {
    return { update: 'campaign_attempts', set: { disposition: code }, where: { id: attemptId } };
  }

  /** The contact's new state (rules.ts, nextContactState); its claim ends. */
  contactChanged(contactId: string, change: ContactChange, onlyFrom?: ContactState): WriteOp {
    return {
      update: 'campaign_contacts',
      set: {
        state: change.state, attempts: change.attempts, next_attempt_at: change.nextAttemptAt?.toISOString() ?? null, callback_agent_id: change.callbackAgentId,
        ...(change.lastOutcome ? { last_outcome: change.lastOutcome } : {}), ...(change.lastAttemptAt ? { last_attempt_at: change.lastAttemptAt.toISOString() } : {}),
        claimed_at: null, claimed_from: null,
      },
      where: { id: contactId, ...(onlyFrom ? { state: onlyFrom } : {}) },
    };
  }

  /** A claimed contact the dialer did not dial after all: back to the state it was taken from. */
  contactReleased(contactId: string, claimedFrom: ContactState): WriteOp {
    return { update: 'campaign_contacts', set: { state: claimedFrom, claimed_at: null, claimed_from: null }, where: { id: contactId, state: 'in_progress' } };
  }

  /** A previewed contact the agent skipped: back to the state it was taken from, due again at `until` (behind the others due now). */
  contactSkipped(contactId: string, claimedFrom: ContactState, until: Date): WriteOp {
    return {
      update: 'campaign_contacts', set: { state: claimedFrom, claimed_at: null, claimed_from: null, next_attempt_at: until.toISOString() },
      where: { id: contactId, state: 'in_progress' },
    };
  }

  /** A number on a do-not-call list (a wrap-up code's `dnc`); campaignId null: the global list. Listed already: nothing changes. */
  markDnc(numberE164: string, campaignId: string | null, source: DncSource, at: Date, addedBy: string | null = null, reason: string | null = null): WriteOp {
    return {
      insert: 'dnc_numbers', onConflictDoNothing: ['campaign_id', 'number_e164'],
      values: { id: randomUUID(), number_e164: numberE164, campaign_id: campaignId, reason, source, added_by: addedBy, added_at: at.toISOString() },
    };
  }
}
