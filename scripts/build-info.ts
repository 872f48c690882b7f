// npm run build, after tsc: records the git commit being built in
// dist/build-info.json, where src/core/version.ts reads it (an install
// under /opt has no .git to ask). Built outside a checkout, commit is null.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/core/paths.js';
import { gitCommit } from '../src/core/version.js';

const outDir = join(projectRoot, process.argv[2] ?? 'dist');
const info = { commit: gitCommit(projectRoot) };
writeFileSync(join(outDir, 'build-info.json'), `${JSON.stringify(info)}\n`);
process.stdout.write(`build-info: commit ${info.commit ?? 'unknown (not a git checkout)'}\n`);
