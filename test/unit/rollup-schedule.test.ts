import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/core/logger.js';
import { rollupOnce } from '../../src/reports/schedule.js';

/** The periodic rollup run: a database outage is a warning (it is told elsewhere), any other failure an error. */
describe('the periodic report rollups', () => {
  const run = async (err: Error) => {
    const lines: { level: number; msg: string }[] = [];
    const logger = createLogger('info', { write: (line: string) => { lines.push(JSON.parse(line) as { level: number; msg: string }); } });
    await rollupOnce({ rebuildRecent: () => Promise.reject(err) }, logger);
    return lines.map((l) => [l.level, l.msg]);
  };

  it('logs an unreachable database as a warning, and anything else as an error, without throwing', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    assert.deepEqual(await run(refused), [[40, 'report rollups not rebuilt: the database is unreachable; the next run tries again']]);
    assert.deepEqual(await run(new Error('division by zero')), [[50, 'report rollups not rebuilt; the next run tries again']]);
  });
});
