import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHttpApp } from '../../src/core/http.js';
import { createLogger } from '../../src/core/logger.js';

describe('log redaction', () => {
  it('never writes a ticket or a token from a failed request\'s URL to the log', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => { lines.push(line); } });
    const app = await createHttpApp(logger);
    app.get('/boom', async () => { throw new Error('disk on fire'); });
    app.get('/twice', async (_request, reply) => {
      await reply.send('once');
      return 'twice';
    });
    await app.ready();
    const failed = await app.inject({ url: '/boom?ticket=SECRET-TICKET&x=1' });
    assert.equal(failed.statusCode, 500);
    await app.inject({ url: '/twice?token=SECRET-TOKEN' });
    logger.info({ url: '/api/v1/events?token=SECRET-FEED' }, 'a message naming /audio?ticket=SECRET-MSG');
    await app.close();
    const log = lines.join('');
    assert.match(log, /request failed/);
    assert.match(log, /\/boom\?ticket=\[redacted\]&x=1/, 'the URL is logged without the ticket');
    assert.doesNotMatch(log, /SECRET/);
  });
});
