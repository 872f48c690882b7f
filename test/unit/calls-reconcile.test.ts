import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallsService } from '../../src/calls/service.js';
import type { CallRow, CallsStore } from '../../src/calls/store.js';
import { EventBus } from '../../src/core/events.js';
import { createLogger } from '../../src/core/logger.js';
import type { WriteOp, WriteQueue } from '../../src/core/write-queue.js';

/**
 * The calls table in memory: enough of CallsStore for the service's
 * bookkeeping. Each write is applied as the service asks for it (the write
 * queue itself is tested in write-queue.test.ts).
 */
class MemoryCallsStore {
  rows = new Map<string, CallRow>();
  insertCall(row: CallRow): WriteOp {
    if (!this.rows.has(row.id)) this.rows.set(row.id, { ...row });
    return applied;
  }
  setAnswered(id: string, at: Date): WriteOp {
    const r = this.rows.get(id);
    if (r && !r.answered_at) r.answered_at = at;
    return applied;
  }
  setEnded(id: string, end: { at: Date; cause: number | null; causeText: string | null; reason: 'hangup' | 'lost' }): WriteOp {
    const r = this.rows.get(id);
    if (r && !r.ended_at) Object.assign(r, { ended_at: end.at, hangup_cause: end.cause, hangup_cause_text: end.causeText, end_reason: end.reason });
    return applied;
  }
  insertEvent(): WriteOp { return applied; }
  async listOpen() { return [...this.rows.values()].filter((r) => !r.ended_at).map((r) => ({ ...r })); }
}

/** What the memory store hands the queue: its change is made already. */
const applied: WriteOp = { update: 'calls', set: {}, where: {} };
const writes = { enqueue: async () => undefined, drain: async () => undefined } as unknown as WriteQueue;

function service(store: MemoryCallsStore, bus = new EventBus()): CallsService {
  return new CallsService(store as unknown as CallsStore, writes, bus, createLogger('silent'));
}

const arrival = (channelId: string, at: Date) => ({
  channelId, direction: 'inbound' as const, callerNumber: '600', callerName: '', did: '5551', language: 'es', at,
});

describe('calls reconciliation after a reconnection', () => {
  it('adopts open calls whose channel lives, closes the others as lost', async () => {
    const store = new MemoryCallsStore();
    const before = service(store);
    before.callArrived(arrival('alive', new Date(1000)));
    before.callArrived(arrival('dead', new Date(2000)));
    await new Promise((r) => setTimeout(r, 10));

    // A new process: nothing in memory, the rows in the database.
    const after = service(store);
    const result = await after.reconcile(new Set(['alive']), new Date(5000));
    assert.deepEqual(result, { adopted: 1, lost: 1, adoptedChannels: ['alive'] });
    assert.deepEqual(after.liveCalls().map((c) => c.channelId), ['alive']);
    const dead = [...store.rows.values()].find((r) => r.channel_id === 'dead')!;
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(dead.end_reason, 'lost');
    assert.ok(dead.ended_at);
  });

  it('leaves alone a call that started after the channel listing', async () => {
    const store = new MemoryCallsStore();
    const calls = service(store);
    calls.callArrived(arrival('fresh', new Date(9000)));
    const result = await calls.reconcile(new Set(), new Date(8000));
    assert.deepEqual(result, { adopted: 0, lost: 0, adoptedChannels: [] });
    assert.deepEqual(calls.liveCalls().map((c) => c.channelId), ['fresh']);
  });

  it('closes a call ended while the socket was down exactly once', async () => {
    const store = new MemoryCallsStore();
    const bus = new EventBus();
    const calls = service(store, bus);
    const ended: string[] = [];
    calls.callArrived(arrival('gone', new Date(1000)));
    bus.on('call.ended', (c) => ended.push(c.channelId));
    await calls.reconcile(new Set(), new Date(5000));
    await calls.reconcile(new Set(), new Date(6000));
    assert.deepEqual(ended, ['gone']);
  });
});
