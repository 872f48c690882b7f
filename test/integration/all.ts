/**
 * Every test/integration file in one process, one after another, for
 * `npm test` (test/support/load-tests.ts): 36 processes starting Node, tsx
 * and the app cost about two minutes of a run that must stay under twenty.
 * The files share the lab's Stasis application and phones, so they never ran
 * side by side anyway; each must leave the process as it found it (its
 * `after` closes what it opened). One file alone:
 * `node --import tsx --test test/integration/<file>.test.ts`.
 */
import { loadTests } from '../support/load-tests.js';

await loadTests('test/integration');
