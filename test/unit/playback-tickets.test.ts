import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { installAuth } from '../../src/auth/http.js';
import { AuthService, type Principal } from '../../src/auth/service.js';
import type { TokenStore } from '../../src/auth/store.js';
import { EventBus } from '../../src/core/events.js';
import { createHttpApp } from '../../src/core/http.js';
import { createLogger } from '../../src/core/logger.js';
import { PlaybackTickets } from '../../src/recording/tickets.js';

const sup: Principal = { role: 'supervisor', agentId: null, tokenId: 'token-1' };
const other: Principal = { role: 'supervisor', agentId: null, tokenId: 'token-2' };

/** One request through a ticket link; `end()` finishes its response. */
function request(tickets: PlaybackTickets, url: string, ip = '10.0.0.1') {
  const raw = new EventEmitter();
  const id = /recordings\/([^/]+)\/audio/.exec(url)![1];
  const principal = tickets.use({ url, ip, params: { id } } as unknown as FastifyRequest, { raw } as unknown as FastifyReply);
  return { principal, end: () => raw.emit('close') };
}

describe('playback tickets', () => {
  it('serve one series of Range requests from one client, then are spent', () => {
    let now = 0;
    const tickets = new PlaybackTickets({ now: () => now });
    const { url } = tickets.issue('rec-1', sup);
    const first = request(tickets, url);
    assert.equal(first.principal, sup);
    now += 120_000;
    const seek = request(tickets, url);
    assert.equal(seek.principal, sup, 'a request while another is still streaming is the same series');
    assert.equal(request(tickets, url, '10.0.0.2').principal, undefined, 'another client address is refused');
    first.end();
    seek.end();
    now += 29_000;
    const resume = request(tickets, url);
    assert.equal(resume.principal, sup, 'a request within the idle time goes on with the series');
    resume.end();
    now += 31_000;
    assert.equal(request(tickets, url).principal, undefined, 'after the series the link is spent');
    assert.equal(tickets.size, 0);
  });

  it('end a series 4 hours after its first request, however often it is used', () => {
    let now = 0;
    const tickets = new PlaybackTickets({ now: () => now });
    const { url } = tickets.issue('rec-1', sup);
    now += 9 * 60_000;
    for (let elapsed = 0; elapsed < 4 * 3_600_000; elapsed += 20_000) {
      const req = request(tickets, url);
      assert.equal(req.principal, sup, `a request every 20 s goes on with the series (${elapsed / 1000} s in)`);
      req.end();
      now += 20_000;
    }
    now += 1;
    assert.equal(request(tickets, url).principal, undefined, 'past 4 hours from its first request the link is spent');
    assert.equal(tickets.size, 0);
  });

  it('expire unused after ten minutes, and only play their own recording', () => {
    let now = 0;
    const tickets = new PlaybackTickets({ now: () => now });
    const { url } = tickets.issue('rec-1', sup);
    assert.equal(request(tickets, url.replace('rec-1', 'rec-2')).principal, undefined);
    now += 10 * 60_000 + 1;
    assert.equal(request(tickets, url).principal, undefined);
    assert.equal(request(tickets, '/api/v1/recordings/rec-1/audio').principal, undefined, 'no ticket');
  });

  it('keep at most 1000 live per token, dropping the oldest', () => {
    const tickets = new PlaybackTickets();
    const urls = Array.from({ length: 1001 }, () => tickets.issue('rec-1', sup).url);
    const theirs = tickets.issue('rec-1', other).url;
    assert.equal(tickets.size, 1001);
    assert.equal(request(tickets, urls[0]!).principal, undefined, 'the oldest was dropped');
    assert.equal(request(tickets, urls[1]!).principal, sup);
    assert.equal(request(tickets, urls[1000]!).principal, sup);
    assert.equal(request(tickets, theirs).principal, other, 'another token\'s tickets are not counted');
  });

  it('die with their token', () => {
    const tickets = new PlaybackTickets();
    const mine = tickets.issue('rec-1', sup).url;
    const theirs = tickets.issue('rec-1', other).url;
    tickets.dropToken('token-1');
    assert.equal(request(tickets, mine).principal, undefined);
    assert.equal(request(tickets, theirs).principal, other);
  });

  it('end a series when the last response is over, through a real server', async () => {
    let now = 0;
    const tickets = new PlaybackTickets({ now: () => now });
    const logger = createLogger('silent');
    const app = await createHttpApp(logger);
    installAuth(app, new AuthService({} as TokenStore, 'unit-admin-token-0123456789abcdef0123', new EventBus(), async () => undefined, logger));
    app.get('/api/v1/recordings/:id/audio', { config: { roles: ['admin'], ticket: (request, reply) => tickets.use(request, reply) } }, async () => 'audio');
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { url } = tickets.issue('rec-1', { role: 'admin', agentId: null, tokenId: null });
      assert.equal((await fetch(`${base}${url}`)).status, 200);
      now += 20_000;
      assert.equal((await fetch(`${base}${url}`, { headers: { range: 'bytes=2-' } })).status, 200, 'the next Range request of the series');
      now += 31_000;
      assert.equal((await fetch(`${base}${url}`)).status, 401, 'the responses ended more than 30 s ago: the series is over');
    } finally {
      await app.close();
    }
  });
});
