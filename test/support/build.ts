import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/core/paths.js';

let built: Promise<number> | undefined;

/**
 * `npm run build` into dist/, once per test process: the built-service and
 * install tests both need the build of this checkout, and it costs about
 * 20 s of two cores. Resolves to how long the build took, in ms.
 */
export function buildOnce(): Promise<number> {
  built ??= (async () => {
    const started = Date.now();
    await promisify(execFile)('npm', ['run', 'build'], { cwd: projectRoot, env: process.env });
    return Date.now() - started;
  })();
  return built;
}
