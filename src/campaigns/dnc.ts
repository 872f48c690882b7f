import type { CountryCode } from 'libphonenumber-js/max';
import { badRequest, conflict, notFound } from '../core/errors.js';
import { importDnc, type Delimiter } from './import.js';
import { regionOf, toE164 } from './phone.js';
import type { CampaignsService } from './service.js';
import type { CampaignsStore } from './store.js';
import { dncView, type DncView } from './views.js';

/**
 * Do-not-call (docs/campaigns.md, "Do-not-call"): a global list and one
 * per campaign, edited through the API, imported from CSV, and written by a
 * wrap-up code whose action is `dnc`. A campaign's contact is kept off both
 * its campaign's list and the global one; a click-to-call, which belongs to
 * no campaign, off the global one. `isCallable` is asked before every dial.
 */
export class DncService {
  constructor(private readonly store: CampaignsStore, private readonly campaigns: Pick<CampaignsService, 'require'>) {}

  /**
   * Whether a number may be dialled: not on the global list, nor on the
   * campaign's (campaignId null: a call outside campaigns). The dialer and
   * click-to-call ask this before every dial; a database error throws, and
   * a number whose answer is unknown must not be dialled.
   */
  async isCallable(campaignId: string | null, numberE164: string): Promise<boolean> {
    return !(await this.store.isListed(campaignId, numberE164));
  }

  /** The global list's number a number dialled by hand (click-to-call, `*` + number) is, if any: see store.globalEntryForDialled. */
  async listedAsDialled(dialled: string): Promise<string | undefined> {
    return this.store.globalEntryForDialled(dialled);
  }

  async list(campaignId: string | null, filter: { number?: string; region?: string; limit: number; offset: number }): Promise<DncView[]> {
    const region = await this.regionFor(campaignId, filter.region);
    const number = filter.number === undefined ? undefined : this.normalised(filter.number, region, 'querystring/number');
    return (await this.store.dncList(campaignId, { ...filter, number })).map(dncView);
  }

  /** Adds a number; 409 when the list has it already. Contacts it applies to that are still to call become dnc. */
  async add(campaignId: string | null, input: { number: string; region?: string; reason?: string }, by: string | null, now = new Date()): Promise<DncView> {
    const region = await this.regionFor(campaignId, input.region);
    const number = this.normalised(input.number, region, 'body/number');
    const [added] = await this.store.dncAdd([{ number_e164: number, campaign_id: campaignId, reason: input.reason ?? null, source: 'api', added_by: by, added_at: now }]);
    if (!added) throw conflict(`${number} is on the list already`);
    return dncView(added);
  }

  /** Removes a number (404 when not listed); its contacts set aside by the lists alone become callable again. */
  async remove(campaignId: string | null, rawNumber: string, region: string | undefined, now = new Date()): Promise<void> {
    const number = this.normalised(rawNumber, await this.regionFor(campaignId, region), 'params/number');
    if (!(await this.store.dncRemove(campaignId, number, now))) throw notFound(`${number} on the list`);
  }

  /** A CSV of numbers (import.ts): all of them, or none and 400 listing every bad row. */
  async import(campaignId: string | null, body: AsyncIterable<Uint8Array | string>, options: { region?: string; delimiter?: Delimiter; by: string | null }, now = new Date()):
  Promise<{ added: number; alreadyListed: number }> {
    const region = await this.regionFor(campaignId, options.region);
    const result = await importDnc(this.store, body, { campaignId, region, addedBy: options.by, delimiter: options.delimiter, now });
    return { added: result.added.length, alreadyListed: result.alreadyListed };
  }

  /** A campaign's list: 404 for an unknown campaign; its default region unless one is given. The global list: the one given, if any. */
  private async regionFor(campaignId: string | null, given: string | undefined): Promise<CountryCode | undefined> {
    const fallback = campaignId === null ? undefined : (await this.campaigns.require(campaignId)).default_region;
    const text = given ?? fallback;
    if (text === undefined) return undefined;
    const region = regionOf(text);
    if (!region) throw badRequest(`${given ? 'region' : 'the campaign\'s defaultRegion'}: ${text} is not a country code libphonenumber knows`);
    return region;
  }

  private normalised(raw: string, region: CountryCode | undefined, field: string): string {
    const parsed = toE164(raw, region);
    if ('problem' in parsed) throw badRequest(`${field}: ${JSON.stringify(raw)} ${parsed.problem}${region ? '' : ' (give it with + and its country code, or a region)'}`);
    return parsed.number;
  }
}
