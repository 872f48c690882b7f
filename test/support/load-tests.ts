import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../../src/core/paths.js';

/**
 * Imports every `*.test.ts` of a folder into this process, in name order, so
 * that node:test runs them as one file: `npm run check` pays for Node, tsx
 * and the app's modules once per tier instead of once per file (on two
 * cores, sixty processes starting cost more than the tests themselves).
 * A test file run this way must leave the process as it found it: what it
 * puts on `globalThis`, `process.env` or a listener it takes back in its
 * `after` (test/unit/web-live-feed.test.ts shows how). Each file still runs
 * alone: `node --import tsx --test test/unit/<file>.test.ts`.
 */
export async function loadTests(folder: string, options: { except?: string[]; part?: [number, number] } = {}): Promise<void> {
  const dir = join(projectRoot, folder);
  const files = readdirSync(dir).filter((f) => f.endsWith('.test.ts') && !options.except?.includes(f)).sort();
  // Part i of n: every n-th file from the i-th, so that n processes share a folder.
  const [part, parts] = options.part ?? [0, 1];
  for (const [i, file] of files.entries()) if (i % parts === part) await import(pathToFileURL(join(dir, file)).href);
}
