/** Every test/unit file in one process, for `npm run check` (test/support/load-tests.ts). */
import { loadTests } from '../support/load-tests.js';

await loadTests('test/unit');
