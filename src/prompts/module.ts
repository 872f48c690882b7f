import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { promptRoutes } from './routes.js';
import { PromptsService, type PromptUser } from './service.js';
import { PromptsStore, type PromptsTables } from './store.js';

/**
 * Which flows and surveys play each prompt: each capability that plays
 * prompts adds its own source (the IVR, the surveys), built after the
 * prompts (they check that prompts exist).
 */
export class PromptUsage {
  private readonly sources: (() => Promise<Map<string, PromptUser[]>>)[] = [];

  add(source: () => Promise<Map<string, PromptUser[]>>): void {
    this.sources.push(source);
  }

  async all(): Promise<Map<string, PromptUser[]>> {
    const merged = new Map<string, PromptUser[]>();
    for (const found of await Promise.all(this.sources.map((source) => source()))) {
      for (const [name, users] of found) merged.set(name, [...(merged.get(name) ?? []), ...users]);
    }
    return merged;
  }
}

declare module '../core/capability.js' {
  interface Capabilities {
    prompts: { service: PromptsService; usage: PromptUsage };
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
    const usage = new PromptUsage();
    return { service: new PromptsService(new PromptsStore(db), config.promptsDir, () => usage.all()), usage };
  },
  routes({ service }, { http }) {
    promptRoutes(http, service);
  },
};
