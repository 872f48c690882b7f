import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { ContactState } from './rules.js';
import type { CampaignListsTable, CampaignsTables, DncNumbersTable, DncRow, ListRow, NewContact } from './store.js';

/** A jsonb value as Kysely passes it (JSON text). */
export const json = <T>(value: T): T => JSON.stringify(value) as unknown as T;
/** States the dialer may take a contact from. */
export const dueStates: readonly ContactState[] = ['pending', 'retry', 'callback'];
/** A number's do-not-call rows that apply to a campaign's contacts (its own list and the global one). */
export const listedFor = (campaignId: string | null) => (campaignId === null ? sql`d.campaign_id is null` : sql`(d.campaign_id is null or d.campaign_id = ${campaignId})`);

/** What an import does inside its transaction (store.importing). */
export class ImportTx {
  constructor(private readonly trx: Transaction<CampaignsTables>) {}

  async insertList(row: CampaignListsTable): Promise<void> {
    await this.trx.insertInto('campaign_lists').values({ ...row, timezones: json(row.timezones) }).execute();
  }

  async finishList(id: string, counts: { contacts: number; dncContacts: number; timezones: string[] }): Promise<ListRow> {
    return this.trx.updateTable('campaign_lists')
      .set({ contacts: counts.contacts, dnc_contacts: counts.dncContacts, timezones: json(counts.timezones) })
      .where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  }

  /** Inserts contacts; returns the ids of those stored (a number the campaign has already is not). */
  async insertContacts(rows: NewContact[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const stored = await this.trx.insertInto('campaign_contacts').values(rows.map((r) => ({ ...r, fields: json(r.fields) })))
      .onConflict((oc) => oc.columns(['campaign_id', 'number_e164']).doNothing()).returning('id').execute();
    return new Set(stored.map((r) => r.id));
  }

  /** The contacts of a campaign with these numbers: their list (and its name) and line. */
  async holders(campaignId: string, numbers: string[]): Promise<Map<string, { listId: string; listName: string; line: number }>> {
    if (numbers.length === 0) return new Map();
    const rows = await this.trx.selectFrom('campaign_contacts as c').innerJoin('campaign_lists as l', 'l.id', 'c.list_id')
      .select(['c.number_e164', 'c.list_id', 'l.name', 'c.line']).where('c.campaign_id', '=', campaignId).where('c.number_e164', 'in', numbers).execute();
    return new Map(rows.map((r) => [r.number_e164, { listId: r.list_id, listName: r.name, line: r.line }]));
  }

  /** Which of these numbers a campaign's contacts may not call (the global list and the campaign's; null: the global list only). */
  async listed(campaignId: string | null, numbers: string[]): Promise<Set<string>> {
    if (numbers.length === 0) return new Set();
    const rows = await sql<{ number_e164: string }>`
      select distinct d.number_e164 from dnc_numbers d where d.number_e164 in (${sql.join(numbers)}) and ${listedFor(campaignId)}`.execute(this.trx);
    return new Set(rows.rows.map((r) => r.number_e164));
  }

  /**
   * Adds numbers to a do-not-call list (listed already: left) and sets
   * aside as dnc the contacts not yet done that they apply to (one
   * campaign's, or every campaign's for the global list). Returns the rows added.
   */
  async addDnc(rows: Omit<DncNumbersTable, 'id'>[]): Promise<DncRow[]> {
    if (rows.length === 0) return [];
    const added = await this.trx.insertInto('dnc_numbers').values(rows.map((r) => ({ id: randomUUID(), ...r })))
      .onConflict((oc) => oc.columns(['campaign_id', 'number_e164']).doNothing()).returningAll().execute();
    for (const [campaignId, numbers] of groupBy(added)) {
      let query = this.trx.updateTable('campaign_contacts').set({ state: 'dnc', next_attempt_at: null })
        .where('number_e164', 'in', numbers).where('state', 'in', [...dueStates]);
      if (campaignId !== null) query = query.where('campaign_id', '=', campaignId);
      await query.execute();
    }
    return added;
  }
}

function groupBy(rows: DncRow[]): Map<string | null, string[]> {
  const groups = new Map<string | null, string[]>();
  for (const row of rows) groups.set(row.campaign_id, [...(groups.get(row.campaign_id) ?? []), row.number_e164]);
  return groups;
}
