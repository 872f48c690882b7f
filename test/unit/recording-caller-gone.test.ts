import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { AriHelpers } from '../../src/asterisk/ari-helpers.js';
import { AriError, type AriClient } from '../../src/asterisk/ari.js';
import { ChannelRegistry } from '../../src/asterisk/registry.js';
import { StasisRouter } from '../../src/asterisk/stasis-router.js';
import type { Bridge, Channel } from '../../src/asterisk/ari-types.generated.js';
import type { CallsService } from '../../src/calls/service.js';
import { EventBus, type DomainEvents } from '../../src/core/events.js';
import { createLogger } from '../../src/core/logger.js';
import type { WriteQueue } from '../../src/core/write-queue.js';
import type { QueuesStore } from '../../src/queues/store.js';
import { RecordingService } from '../../src/recording/service.js';
import type { RecordingsStore } from '../../src/recording/store.js';

/**
 * A queue call recorded `always` whose caller hangs up just as the agent
 * answers: the recording cannot start (the snoop finds no channel). That is
 * `skipped` (reason caller_gone, recording.skipped), not a failed recording;
 * a snoop that fails while the caller is still there stays `failed`
 * (not_started). Fakes for ARI, the calls, the queue, the store and the
 * write queue.
 */
async function waitFor(check: () => boolean, timeoutMs: number, message: string): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check();) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a recording whose caller hung up before it could start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'centralita-rec-gone-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** What the fakes answer, set by each test. */
  let callerLive: boolean;
  let snoopAnswer: () => Promise<unknown>;
  let callerChannelAnswer: () => Promise<unknown>;
  const requests: string[] = [];
  const ari = {
    app: 'centralita',
    on: () => () => undefined,
    onConnected: () => () => undefined,
    request: async (operation: string) => {
      requests.push(operation);
      if (operation === 'bridges.list') return [{ id: 'b1', bridge_type: 'mixing', channels: ['caller-channel'] }];
      if (operation === 'channels.snoopChannel') return snoopAnswer();
      if (operation === 'channels.get') return callerChannelAnswer();
      if (operation === 'channels.hangup') throw new AriError('channels.hangup', 404, 'Channel not found');
      return undefined;
    },
  } as unknown as AriClient;
  const calls = { liveCall: () => (callerLive ? { channelId: 'caller-channel', did: null } : undefined) } as unknown as CallsService;
  const queues = { get: async () => ({ recording_policy: 'always', recording_sample_percent: 100, recording_retention_days: 30 }) } as unknown as QueuesStore;
  const store = {
    insert: (row: { id: string; status: string }) => ({ insert: row }),
    update: (id: string, set: { status?: string; note?: string }) => ({ update: id, set }),
  } as unknown as RecordingsStore;
  /** The status each write gave a recording, in order. */
  const statuses: { what: string; status?: string; note?: string }[] = [];
  const writes = {
    enqueue: async (what: string, op: { insert?: { status: string }; set?: { status?: string; note?: string } }) => {
      statuses.push({ what, status: op.insert?.status ?? op.set?.status, note: op.set?.note });
    },
    drain: async () => undefined,
  } as unknown as WriteQueue;
  const bus = new EventBus();
  const failed: DomainEvents['recording.failed'][] = [];
  const skipped: DomainEvents['recording.skipped'][] = [];
  bus.on('recording.failed', (event) => failed.push(event));
  bus.on('recording.skipped', (event) => skipped.push(event));
  const logger = createLogger('silent');
  const helpers = new AriHelpers(ari, logger);
  // The caller is already in the agent's mixing bridge: the recorder does not wait for it.
  const registry = new ChannelRegistry(ari);
  registry.rebuild('centralita', {
    channels: [{ id: 'caller-channel', dialplan: { app_name: 'Stasis', app_data: 'centralita,did' } } as unknown as Channel],
    bridges: [{ id: 'b1', bridge_type: 'mixing', channels: ['caller-channel'] } as unknown as Bridge],
    listedAt: new Date(),
  });
  new RecordingService(ari, helpers, new StasisRouter(ari, helpers, registry, logger), registry, store, queues, calls, { routePolicy: async () => null }, writes, dir, bus, logger);

  const answered = (callId: string): void => {
    bus.emit('queue.entry', { queueId: 'q1', entryId: `e-${callId}`, callId, event: 'answered', agentId: 'agent-1', at: new Date().toISOString() });
  };
  const settled = (): boolean => statuses.length >= 2;

  beforeEach(() => {
    statuses.length = 0;
    failed.length = 0;
    skipped.length = 0;
    requests.length = 0;
  });

  it('is skipped (caller_gone), not failed, when the snoop finds no channel', async () => {
    callerLive = true; // its hang-up event has not reached centralita yet
    snoopAnswer = () => Promise.reject(new AriError('channels.snoopChannel', 404, 'Channel not found'));
    callerChannelAnswer = () => Promise.reject(new AriError('channels.get', 404, 'Channel not found'));
    answered('call-1');
    await waitFor(() => settled() && skipped.length === 1, 2000, 'no skipped recording');
    assert.deepEqual(statuses.map((s) => s.status), ['recording', 'skipped']);
    assert.match(statuses[1]!.note!, /^caller_gone: /);
    assert.equal(skipped[0]!.callId, 'call-1');
    assert.equal(skipped[0]!.reason, 'caller_gone');
    assert.deepEqual(failed, []);
    assert.ok(requests.includes('channels.get'), 'asked Asterisk whether the caller is still there');
  });

  it('is skipped when the call had already ended as the recording was to start', async () => {
    callerLive = false;
    answered('call-2');
    await waitFor(() => settled() && skipped.length === 1, 2000, 'no skipped recording');
    assert.deepEqual(statuses.map((s) => s.status), ['recording', 'skipped']);
    assert.deepEqual(failed, []);
    assert.ok(!requests.includes('channels.snoopChannel'), 'no snoop on a call that has ended');
  });

  it('stays failed (not_started) when the snoop fails while the caller is still there', async () => {
    callerLive = true;
    snoopAnswer = () => Promise.reject(new AriError('channels.snoopChannel', 500, 'Internal Server Error'));
    callerChannelAnswer = async () => ({ id: 'caller-channel', state: 'Up' });
    answered('call-3');
    await waitFor(() => settled() && failed.length === 1, 2000, 'no failed recording');
    assert.deepEqual(statuses.map((s) => s.status), ['recording', 'failed']);
    assert.equal(failed[0]!.reason, 'not_started');
    assert.deepEqual(skipped, []);
  });
});
