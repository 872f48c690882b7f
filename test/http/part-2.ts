/**
 * Half of the test/http files (every second one from the second) in one
 * process, for `npm run check` (test/support/load-tests.ts); the other half
 * runs beside it in test/http/part-1.ts, and the API fuzz, the longest
 * file, in a process of its own.
 */
import { loadTests } from '../support/load-tests.js';

await loadTests('test/http', { except: ['api-fuzz.test.ts'], part: [1, 2] });
