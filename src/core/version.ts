import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths.js';

/** What is running: package.json's version and, when known, the git commit it was built from. */
export interface BuildInfo {
  version: string;
  commit: string | null;
}

/**
 * Written by `npm run build` (scripts/build-info.ts) next to the built
 * main.js: dist/build-info.json. Under tsx this resolves to
 * src/build-info.json, which never exists, so a checkout asks git instead.
 */
const buildInfoFile = new URL('../build-info.json', import.meta.url);

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function readCommit(): string | null {
  try {
    const info = JSON.parse(readFileSync(buildInfoFile, 'utf8')) as { commit?: unknown };
    if (typeof info.commit === 'string' && /^[0-9a-f]{40}$/.test(info.commit)) return info.commit;
  } catch {
    // not built, or built without git: a checkout may still know
  }
  return gitCommit(projectRoot);
}

/**
 * The commit of a git checkout, or null: no git, not a checkout (an install
 * under /opt), or a checkout git refuses to read (owned by another user).
 * Never throws: a version line is not worth failing a start for.
 */
export function gitCommit(dir: string): string | null {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim();
    return /^[0-9a-f]{40}$/.test(out) ? out : null;
  } catch {
    return null;
  }
}

/** Read once, at start-up. */
export const buildInfo: BuildInfo = { version: readVersion(), commit: readCommit() };
