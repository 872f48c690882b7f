import { tablesOf } from '../core/capability.js';
import { LatePort } from '../core/late-port.js';
import type { Module } from '../shared.js';
import { promptRoutes } from './routes.js';
import { PromptsService, type PromptUser } from './service.js';
import { PromptsStore, type PromptsTables } from './store.js';

/** Which flows play each prompt: bound by the IVR, built after the prompts (it checks that prompts exist). */
export type PromptUsagePort = LatePort<{ promptUsage(): Promise<Map<string, PromptUser[]>> }>;

declare module '../core/capability.js' {
  interface Capabilities {
    prompts: { service: PromptsService; usage: PromptUsagePort };
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
    const usage: PromptUsagePort = new LatePort('prompt usage');
    return { service: new PromptsService(new PromptsStore(db), config.promptsDir, () => usage.get().promptUsage()), usage };
  },
  routes({ service }, { http }) {
    promptRoutes(http, service);
  },
};
