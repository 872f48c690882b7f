import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { AuthService, hashToken, type Role } from '../../src/auth/service.js';
import type { ApiTokenRow, TokenStore } from '../../src/auth/store.js';
import { EventBus } from '../../src/core/events.js';
import { createHttpApp, type HttpApp } from '../../src/core/http.js';
import { createLogger } from '../../src/core/logger.js';
import { installLiveFeed } from '../../src/live/feed.js';

const alice = '00000000-0000-4000-8000-00000000000a';
const bob = '00000000-0000-4000-8000-00000000000b';
const tokens: Record<string, { id: string; role: Role; agent_id: string | null }> = {
  'ctl_alice-agent': { id: 't-alice-agent', role: 'agent', agent_id: alice },
  'ctl_alice-sup': { id: 't-alice-sup', role: 'supervisor', agent_id: alice },
  'ctl_bob-sup': { id: 't-bob-sup', role: 'supervisor', agent_id: bob },
};
/**
 * A token store whose revoking write always fails: the sockets must close on
 * the agents' event alone, without the token.revoked that follows a
 * successful revoke.
 */
const store = {
  findActiveByHash: async (hash: string) => {
    const entry = Object.entries(tokens).find(([secret]) => hashToken(secret) === hash);
    return entry && ({ ...entry[1], name: entry[0], token_hash: hash, created_at: new Date(), revoked_at: null } satisfies ApiTokenRow);
  },
  revokeBoundTo: async () => { throw new Error('database unreachable'); },
  knownHash: async () => false,
} as unknown as TokenStore;

describe('events socket and offboarding (agent.access.removed)', () => {
  let app: HttpApp;
  let base: string;
  const bus = new EventBus();
  before(async () => {
    const logger = createLogger('silent');
    app = await createHttpApp(logger);
    const auth = new AuthService(store, 'unit-admin-token-0123456789abcdef0123', bus, async () => ({ isSupervisor: true }), logger);
    bus.on('agent.access.removed', ({ agentId, change }) => void auth.revokeBoundTo(agentId, change));
    installLiveFeed(app, bus, auth);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => app.close());

  /** An open feed for a token; `closed` settles with the close code (or 0 if still open after 2 s). */
  const open = (token: string) => new Promise<{ closed: Promise<number>; socket: WebSocket }>((resolve, reject) => {
    const socket = new WebSocket(`${base.replace('http', 'ws')}/api/v1/events?token=${token}`);
    socket.once('error', reject);
    socket.once('message', () => resolve({
      socket,
      closed: new Promise<number>((done) => {
        const timer = setTimeout(() => { socket.terminate(); done(0); }, 2000);
        socket.once('close', (code) => { clearTimeout(timer); done(code); });
      }),
    }));
  });

  it('closes (4001) only the supervisor sockets of an agent no longer a supervisor', async () => {
    const [agent, sup, other] = await Promise.all([open('ctl_alice-agent'), open('ctl_alice-sup'), open('ctl_bob-sup')]);
    bus.emit('agent.access.removed', { agentId: alice, change: 'supervisor_removed' });
    assert.equal(await sup.closed, 4001);
    agent.socket.close(1000);
    other.socket.close(1000);
    assert.equal(await agent.closed, 1000, 'the agent token of the same person keeps its socket');
    assert.equal(await other.closed, 1000, 'another supervisor keeps theirs');
  });

  it('closes (4001) every socket of a deleted or deactivated agent, even when revoking the tokens fails', async () => {
    for (const change of ['deleted', 'deactivated'] as const) {
      const [agent, sup, other] = await Promise.all([open('ctl_alice-agent'), open('ctl_alice-sup'), open('ctl_bob-sup')]);
      bus.emit('agent.access.removed', { agentId: alice, change });
      assert.equal(await agent.closed, 4001, `${change}: agent token`);
      assert.equal(await sup.closed, 4001, `${change}: supervisor token`);
      other.socket.close(1000);
      assert.equal(await other.closed, 1000);
    }
  });
});
