import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../src/core/paths.js';

/**
 * The pages' weight budget (README, "The pages"): what a browser loads for
 * each page, uncompressed — the HTML, its stylesheet and icon, its scripts
 * and every module they import — at most 120 KB of our own code, plus
 * Chart.js (about 200 KB) on the reports page alone. On a first visit over
 * a slow office link that is still well under a second or two; the budget
 * keeps a page from growing a framework by accident.
 */
const web = join(projectRoot, 'web');
const vendor: Record<string, string> = { 'vendor/chart.umd.min.js': join(projectRoot, 'node_modules/chart.js/dist/chart.umd.min.js') };
const ownBudget = 120 * 1024;
const vendorBudget = 250 * 1024;

/** The files a page loads: what its HTML names, and the modules its scripts import, once each. */
function loads(page: string): Set<string> {
  const files = new Set<string>([page]);
  const html = readFileSync(join(web, page), 'utf8');
  const queue = [...html.matchAll(/(?:src|href)="([^"#?]+)"/g)].map((m) => m[1]!).filter((f) => !/^[a-z]+:/.test(f));
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (files.has(file)) continue;
    files.add(file);
    if (file.endsWith('.js') && !file.startsWith('vendor/')) {
      for (const m of readFileSync(join(web, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'\.\/([^']+)'/g)) queue.push(m[1]!);
    }
  }
  return files;
}
const size = (file: string) => statSync(vendor[file] ?? join(web, file)).size;

describe('the pages\' weight budget', () => {
  it('each page loads at most 120 KB of its own code, and Chart.js only on the reports page', () => {
    const report: Record<string, { own: number; vendor: number }> = {};
    for (const page of readdirSync(web).filter((f) => f.endsWith('.html'))) {
      const files = [...loads(page)];
      report[page] = {
        own: files.filter((f) => !f.startsWith('vendor/')).reduce((sum, f) => sum + size(f), 0),
        vendor: files.filter((f) => f.startsWith('vendor/')).reduce((sum, f) => sum + size(f), 0),
      };
    }
    const over = Object.entries(report).filter(([, w]) => w.own > ownBudget || w.vendor > vendorBudget);
    assert.deepEqual(over, [], `pages over budget: ${JSON.stringify(report)}`);
    assert.deepEqual(Object.entries(report).filter(([, w]) => w.vendor > 0).map(([page]) => page), ['reports.html']);
    assert.ok(report['wallboard.html']!.own > 10_000, 'the count follows the imports (app.js is in every page)');
  });
});
