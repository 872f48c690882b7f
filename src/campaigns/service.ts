import { randomUUID } from 'node:crypto';
import { badRequest, conflict, notFound } from '../core/errors.js';
import { isUuid } from '../core/schemas.js';
import { isTimeZone } from '../core/time-zone.js';
import type { WriteOp } from '../core/write-queue.js';
import { importContacts, type Delimiter } from './import.js';
import { regionOf } from './phone.js';
import {
  hoursProblems, nextContactState, transitions, withinHours,
  type AmdPolicy, type AttemptResult, type CampaignMode, type ContactChange, type ContactProgress, type ContactState,
  type DispositionActions, type Hours, type RetryRules,
} from './rules.js';
import type { CampaignRow, CampaignsStore, ContactRow, NewCampaign } from './store.js';
import { attemptView, campaignView, contactView, listView, statesOf, type AttemptView, type CampaignView, type ContactView, type ListStates, type ListView } from './views.js';

/** What the campaigns need of other capabilities, given at construction (module.ts). */
export interface CampaignPorts {
  /** A queue by id, with its wrap-up codes (the queues' service). */
  queue(id: string): Promise<{ id: string; name: string; dispositions: { code: string }[] } | undefined>;
  promptExists(name: string): Promise<boolean>;
}

export interface CampaignInput {
  name: string; queueId: string; callerId: string; mode: CampaignMode; hours: Hours; defaultRegion: string; defaultTimezone: string;
  amd?: AmdPolicy; abandonCapPercent?: number; abandonPrompt?: string | null; maxRatio?: number; retry?: RetryRules; dispositionActions?: DispositionActions;
}

/** Retry rules of a campaign created without any: a busy line again in 10 minutes, no answer in an hour, a machine in 2 hours. */
export const defaultRetry: RetryRules = {
  busy: { maxAttempts: 3, delayMinutes: 10 },
  no_answer: { maxAttempts: 3, delayMinutes: 60 },
  machine: { maxAttempts: 2, delayMinutes: 120 },
  abandoned: { maxAttempts: 3, delayMinutes: 30 },
};

/** A contact the dialer took (claimNextContacts): what it dials, shows and reports back with. */
export interface ClaimedContact extends ContactProgress {
  id: string; campaignId: string; numberE164: string; name: string | null; timezone: string; fields: Record<string, string>;
  /** The state it was taken from (a contact not dialled after all goes back to it: store.contactReleased). */
  claimedFrom: ContactState;
}

const claimedView = (row: ContactRow): ClaimedContact => ({
  id: row.id, campaignId: row.campaign_id, numberE164: row.number_e164, name: row.name, timezone: row.timezone, fields: row.fields,
  state: row.state, attempts: row.attempts, callbackAgentId: row.callback_agent_id, claimedFrom: row.claimed_from ?? 'pending',
});

/**
 * Campaigns (docs/campaigns.md): their settings and states, contact lists
 * and contacts, and what the dialer asks before and after each dial.
 */
export class CampaignsService {
  constructor(private readonly store: CampaignsStore, private readonly ports: CampaignPorts) {}

  async list(): Promise<CampaignView[]> {
    return (await this.store.list()).map(campaignView);
  }

  async get(id: string): Promise<CampaignView & { contacts: ListStates }> {
    const row = await this.require(id);
    return { ...campaignView(row), contacts: statesOf(await this.store.counts(id)) };
  }

  async create(input: CampaignInput): Promise<CampaignView & { contacts: ListStates }> {
    const row = await this.checked({
      name: input.name, queue_id: input.queueId, caller_id: input.callerId, mode: input.mode, hours: input.hours,
      default_region: input.defaultRegion.toUpperCase(), default_timezone: input.defaultTimezone,
      amd: input.amd ?? { action: 'hangup' }, abandon_cap_percent: input.abandonCapPercent ?? 3, abandon_prompt: input.abandonPrompt ?? null,
      max_ratio: input.maxRatio ?? 2, retry: input.retry ?? defaultRetry, disposition_actions: input.dispositionActions ?? {},
    });
    if (await this.store.findByName(input.name)) throw conflict(`a campaign named ${input.name} exists`);
    const id = randomUUID();
    await this.store.create({ id, ...row });
    return this.get(id);
  }

  /** Any field but the state; refused (409) once the campaign is finished. */
  async update(id: string, change: Partial<CampaignInput>): Promise<CampaignView & { contacts: ListStates }> {
    const current = await this.require(id);
    if (current.state === 'finished') throw conflict('the campaign is finished: it can no longer change');
    const set: Partial<NewCampaign> = {};
    if (change.name !== undefined) set.name = change.name;
    if (change.queueId !== undefined) set.queue_id = change.queueId;
    if (change.callerId !== undefined) set.caller_id = change.callerId;
    if (change.mode !== undefined) set.mode = change.mode;
    if (change.hours !== undefined) set.hours = change.hours;
    if (change.defaultRegion !== undefined) set.default_region = change.defaultRegion.toUpperCase();
    if (change.defaultTimezone !== undefined) set.default_timezone = change.defaultTimezone;
    if (change.amd !== undefined) set.amd = change.amd;
    if (change.abandonCapPercent !== undefined) set.abandon_cap_percent = change.abandonCapPercent;
    if (change.abandonPrompt !== undefined) set.abandon_prompt = change.abandonPrompt;
    if (change.maxRatio !== undefined) set.max_ratio = change.maxRatio;
    if (change.retry !== undefined) set.retry = change.retry;
    if (change.dispositionActions !== undefined) set.disposition_actions = change.dispositionActions;
    // The whole campaign as it would be is checked (a new queue against the codes already named, say).
    await this.checked({ ...current, abandon_cap_percent: Number(current.abandon_cap_percent), max_ratio: Number(current.max_ratio), ...set });
    if (set.name !== undefined && set.name !== current.name && await this.store.findByName(set.name)) throw conflict(`a campaign named ${set.name} exists`);
    await this.store.update(id, set);
    return this.get(id);
  }

  /** Refused (409) once a contact has been dialled: its history stays (finish it instead). */
  async delete(id: string): Promise<void> {
    const row = await this.require(id);
    if (row.state === 'running') throw conflict('the campaign is running: pause or finish it first');
    if (await this.store.hasAttempts(id)) throw conflict('the campaign has dialled contacts, whose history is kept: finish it instead');
    await this.store.delete(id);
  }

  /** start (from draft or paused), pause (from running), finish (from any but finished); 409 otherwise. */
  async command(id: string, command: keyof typeof transitions): Promise<CampaignView & { contacts: ListStates }> {
    const row = await this.require(id);
    const to = transitions[command][row.state];
    if (!to || !(await this.store.transition(id, row.state, to))) {
      throw conflict(`a ${row.state} campaign cannot be told to ${command}`);
    }
    return this.get(id);
  }

  // ---- lists and contacts ----

  async lists(id: string): Promise<(ListView & { contacts: ListStates })[]> {
    await this.require(id);
    return Promise.all((await this.store.lists(id)).map(async (l) => ({ ...listView(l), contacts: statesOf(await this.store.counts(id, l.id)) })));
  }

  /** Imports a CSV contact list (import.ts): all its rows, or none and 400 listing every bad one. */
  async importList(id: string, body: AsyncIterable<Uint8Array | string>, options: { name?: string; delimiter?: Delimiter; region?: string; by: string | null }, now = new Date()):
  Promise<ListView & { contacts: ListStates }> {
    const campaign = await this.require(id);
    if (campaign.state === 'finished') throw conflict('the campaign is finished: it takes no more contacts');
    const region = regionOf(options.region ?? campaign.default_region);
    if (!region) throw badRequest(`querystring/region: ${options.region ?? campaign.default_region} is not a country code libphonenumber knows`);
    const name = options.name ?? `import ${now.toISOString()}`;
    if (await this.store.listByName(id, name)) throw conflict(`the campaign has a list named ${name}`);
    const list = await importContacts(this.store, body, {
      campaignId: id, region, defaultTimezone: campaign.default_timezone, listName: name, importedBy: options.by, delimiter: options.delimiter, now,
    });
    return { ...listView(list), contacts: statesOf(await this.store.counts(id, list.id)) };
  }

  async contacts(id: string, filter: { state?: ContactState; listId?: string; limit: number; offset: number }): Promise<ContactView[]> {
    await this.require(id);
    return (await this.store.contacts(id, filter)).map(contactView);
  }

  /** One contact with its custom fields and every dial of it. */
  async contact(id: string, contactId: string): Promise<ContactView & { history: AttemptView[] }> {
    const row = isUuid(contactId) ? await this.store.contact(id, contactId) : undefined;
    if (!row) throw notFound('contact');
    return { ...contactView(row), history: (await this.store.attemptsOf(contactId)).map(attemptView) };
  }

  // ---- the dialer ----

  /**
   * Up to `n` contacts to dial now for a running campaign (none for one in
   * another state): due, off every do-not-call list that applies, and
   * within the campaign's hours in each contact's own time zone. Each is
   * marked in_progress; the dialer ends it with `attemptEnd` (or gives it
   * back with store.contactReleased).
   */
  async claimNextContacts(campaignId: string, n: number, now: Date): Promise<ClaimedContact[]> {
    const campaign = await this.store.get(campaignId);
    if (!campaign || campaign.state !== 'running') return [];
    const open = (await this.store.zones(campaignId)).filter((zone) => withinHours(campaign.hours, zone, now));
    return (await this.store.claim(campaignId, n, now, open)).map(claimedView);
  }

  /**
   * The writes at the end of a dial, or of its wrap-up code, for the dialer
   * to queue together (writes.enqueue): the attempt's end, the contact's
   * next state (rules.ts, nextContactState), and its number on a
   * do-not-call list when the code says so. Returns them with the change.
   */
  attemptEnd(
    campaign: Pick<CampaignView, 'id' | 'retry' | 'dispositionActions'>,
    contact: Pick<ClaimedContact, 'id' | 'numberE164'> & ContactProgress,
    attemptId: string,
    result: AttemptResult,
    now: Date,
  ): { ops: WriteOp[]; change: ContactChange } {
    const change = nextContactState(contact, result, campaign, now);
    const ops: WriteOp[] = [];
    if ('outcome' in result) ops.push(this.store.attemptEnded(attemptId, { at: now, outcome: result.outcome, agentId: result.agentId, disposition: result.disposition }));
    else ops.push(this.store.attemptDisposition(attemptId, result.disposition));
    // A code set after the dial: only while the contact is as the dial's end left it (not claimed again meanwhile).
    ops.push(this.store.contactChanged(contact.id, change, 'outcome' in result ? undefined : contact.state));
    if (change.dnc) ops.push(this.store.markDnc(contact.numberE164, change.dnc === 'global' ? null : campaign.id, 'disposition', now, result.agentId ? `agent:${result.agentId}` : null));
    return { ops, change };
  }

  /** A campaign's view, for the dialer (undefined for an unknown id). */
  async campaign(id: string): Promise<CampaignView | undefined> {
    const row = isUuid(id) ? await this.store.get(id) : undefined;
    return row && campaignView(row);
  }

  /** Prompts each campaign plays (answering-machine message, abandon message), by prompt name: the prompts refuse to delete them. */
  async promptUsage(): Promise<Map<string, { campaignId: string; name: string }[]>> {
    const usage = new Map<string, { campaignId: string; name: string }[]>();
    for (const c of await this.store.list()) {
      for (const name of new Set([c.amd.action === 'message' ? c.amd.messagePrompt : null, c.abandon_prompt])) {
        if (name) usage.set(name, [...(usage.get(name) ?? []), { campaignId: c.id, name: c.name }]);
      }
    }
    return usage;
  }

  /** The campaign, or 404. */
  async require(id: string): Promise<CampaignRow> {
    const row = isUuid(id) ? await this.store.get(id) : undefined;
    if (!row) throw notFound('campaign');
    return row;
  }

  /** Every rule of a campaign the schema cannot check, each refusal naming its field. */
  private async checked<T extends Omit<NewCampaign, 'id'>>(c: T): Promise<T> {
    const queue = await this.ports.queue(c.queue_id);
    if (!queue) throw badRequest(`body/queueId: no queue ${c.queue_id}`);
    if (!regionOf(c.default_region)) throw badRequest(`body/defaultRegion: ${c.default_region} is not a country code (ISO 3166, such as ES) libphonenumber knows`);
    if (!isTimeZone(c.default_timezone)) throw badRequest(`body/defaultTimezone: unknown time zone '${c.default_timezone}' (use an IANA name such as Europe/Madrid)`);
    const hours = hoursProblems(c.hours, 'body/hours');
    if (hours.length > 0) throw badRequest(hours.join('; '));
    const codes = new Set(queue.dispositions.map((d) => d.code));
    const unknown = Object.keys(c.disposition_actions).filter((code) => !codes.has(code));
    if (unknown.length > 0) {
      throw badRequest(`body/dispositionActions: queue ${queue.name} has no wrap-up code ${unknown.join(', ')} (its codes: ${[...codes].join(', ') || 'none'})`);
    }
    for (const [code, action] of Object.entries(c.disposition_actions)) {
      if (action.action === 'retry' && action.delayMinutes === undefined) throw badRequest(`body/dispositionActions/${code}/delayMinutes: a retry needs its delay`);
    }
    if (c.amd.action === 'message') {
      if (!c.amd.messagePrompt) throw badRequest('body/amd/messagePrompt: the message action needs the prompt it plays after the beep');
      if (!(await this.ports.promptExists(c.amd.messagePrompt))) throw badRequest(`body/amd/messagePrompt: no prompt ${c.amd.messagePrompt} was uploaded`);
    }
    if (c.abandon_prompt && !(await this.ports.promptExists(c.abandon_prompt))) throw badRequest(`body/abandonPrompt: no prompt ${c.abandon_prompt} was uploaded`);
    return c;
  }
}
