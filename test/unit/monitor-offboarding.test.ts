import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { AgentsService } from '../../src/agents/service.js';
import type { AriClient } from '../../src/asterisk/ari.js';
import { AriHelpers } from '../../src/asterisk/ari-helpers.js';
import { ChannelRegistry } from '../../src/asterisk/registry.js';
import { StasisRouter } from '../../src/asterisk/stasis-router.js';
import type { Media } from '../../src/asterisk/media.js';
import type { CallsService } from '../../src/calls/service.js';
import { EventBus } from '../../src/core/events.js';
import { createLogger } from '../../src/core/logger.js';
import type { WriteQueue } from '../../src/core/write-queue.js';
import { MonitorService } from '../../src/monitor/service.js';
import type { MonitorStore, SessionRow } from '../../src/monitor/store.js';
import { DirectCalls } from '../../src/asterisk/direct-calls.js';

const supervisorId = '00000000-0000-4000-8000-000000000005';
const agentId = '00000000-0000-4000-8000-00000000000a';
const sessionId = '00000000-0000-4000-8000-0000000000e1';

/**
 * A following session between calls whose supervisor lost access without
 * the offboarding event reaching this process (a change made in the
 * database some other way): the agent's next call must not be joined.
 * The session is one an earlier run left (adopted), the cheapest way to
 * have one without ringing a phone.
 */
describe('a following monitoring session', () => {
  it('checks that the supervisor may still monitor before joining the agent\'s next call', async () => {
    const ariEvents = new EventEmitter();
    const requests: string[] = [];
    const ari = {
      app: 'centralita',
      on: (name: string, handler: (...args: unknown[]) => void) => ariEvents.on(name, handler),
      onConnected: () => () => undefined,
      request: async (name: string, params: Record<string, unknown>) => { requests.push(`${name} ${String(params.channelId ?? params.bridgeId ?? '')}`); return {}; },
    } as unknown as AriClient;
    let access: { isSupervisor: boolean } | undefined = { isSupervisor: true };
    const agents = { access: async () => access } as unknown as AgentsService;
    const row = {
      id: sessionId, supervisor_id: supervisorId, agent_id: agentId, call_id: 'call-1', extension: '2001', source: 'api', follow: true,
      supervisor_channel_id: 'sup-leg', status: 'active', created_at: new Date(0), answered_at: new Date(0), ended_at: null, end_reason: null,
      requested_by_token: null, requested_by_role: 'admin', ended_by_token: null,
    } as unknown as SessionRow;
    const store = {
      openSessions: async () => [row], segmentsOf: async () => [],
      updateSession: (id: string, change: Record<string, unknown>) => ({ update: id, change }),
      insertSegment: () => ({}), endSegment: () => ({}),
    } as unknown as MonitorStore;
    const writes: unknown[] = [];
    const queue = { enqueue: async (_what: string, op: unknown) => { writes.push(op); } } as unknown as WriteQueue;
    const bus = new EventBus();
    const ended: string[] = [];
    bus.on('monitor.session', (s) => { if (s.event === 'ended') ended.push(String(s.endReason)); });
    const helpers = new AriHelpers(ari, createLogger('silent'));
    const registry = new ChannelRegistry(ari);
    const router = new StasisRouter(ari, helpers, registry, createLogger('silent'));
    const direct = new DirectCalls(ari, helpers, registry);
    const monitor = new MonitorService({
      ari, helpers, router, registry, direct, media: {} as Media, agents, calls: {} as CallsService, store, writes: queue, bus, logger: createLogger('silent'),
    }, { sameTeamOnly: false, followAgent: false });

    const channel = { id: 'sup-leg', state: 'Up', dialplan: { app_name: 'Stasis', app_data: 'centralita,monitor-leg' } };
    await monitor.reconcile({ channels: [channel] as never, bridges: [], listedAt: new Date() });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(monitor.live().length, 1, 'adopted, waiting for the agent\'s next call');

    access = { isSupervisor: false };
    registry.linkCall({ kind: 'queue', entryId: 'e2', callId: 'call-2', queueId: 'q', agentId, callerChannelId: 'c2', agentChannelId: 'a2', bridgeId: 'b2' });
    for (let i = 0; i < 20 && ended.length === 0; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(ended, ['offboarded']);
    assert.ok(requests.includes('channels.hangup sup-leg'), 'the supervisor\'s leg is hung up');
    assert.ok(!requests.some((r) => r.startsWith('channels.snoopChannel') || r.startsWith('bridges.addChannel')), 'the next call is not joined');
    assert.equal(monitor.live().length, 0);
  });
});
