import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { DncService } from './dnc.js';
import { campaignRoutes } from './routes.js';
import { CampaignsService } from './service.js';
import { CampaignsStore, type CampaignsTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    campaigns: { store: CampaignsStore; service: CampaignsService; dnc: DncService };
  }
}

/**
 * Outbound campaigns' data (docs/campaigns.md): campaigns and their
 * states, contact lists imported from CSV, each contact's progress and
 * dial attempts, and the do-not-call lists. The dialer (another
 * capability, after this one) claims contacts with
 * `service.claimNextContacts`, asks `dnc.isCallable` before every dial and
 * writes each attempt with the store's WriteOps (`service.attemptEnd`).
 */
export const campaignsModule: Module<'campaigns', 'queues' | 'prompts'> = {
  name: 'campaigns',
  needs: ['queues', 'prompts'],
  tables: tablesOf<CampaignsTables>({ campaigns: true, campaign_lists: true, campaign_contacts: true, campaign_attempts: true, dnc_numbers: true }),
  emits: [],
  consumes: [],
  build({ db, queues, prompts }) {
    const store = new CampaignsStore(db);
    const service = new CampaignsService(store, {
      queue: (id) => queues.service.findQueue(id),
      promptExists: (name) => prompts.service.exists(name),
    });
    // The prompts refuse to delete one a campaign plays.
    prompts.usage.add(() => service.promptUsage());
    return { store, service, dnc: new DncService(store, service) };
  },
  routes({ service, dnc }, { http }) {
    campaignRoutes(http, service, dnc);
  },
};
