import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { promptRoutes } from './routes.js';
import { PromptsService } from './service.js';
import { PromptsStore, type PromptsTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    prompts: { service: PromptsService };
  }
}

/** Uploaded prompts: their rows and files. */
export const promptsModule: Module<'prompts'> = {
  name: 'prompts',
  needs: [],
  tables: tablesOf<PromptsTables>({ prompts: true }),
  emits: [],
  consumes: [],
  build({ db, config }) {
    return { service: new PromptsService(new PromptsStore(db), config.promptsDir) };
  },
  routes({ service }, { http }) {
    promptRoutes(http, service);
  },
};
