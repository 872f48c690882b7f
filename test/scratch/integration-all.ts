import { loadTests } from '../support/load-tests.js';

await loadTests('test/integration');
