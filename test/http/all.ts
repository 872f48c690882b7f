/**
 * Every test/http file in one process, for `npm run check`
 * (test/support/load-tests.ts), but the API fuzz: the longest file runs
 * beside this one, in a process of its own.
 */
import { loadTests } from '../support/load-tests.js';

await loadTests('test/http', { except: ['api-fuzz.test.ts'] });
