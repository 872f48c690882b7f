import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/core/logger.js';
import { HttpError } from '../../src/core/errors.js';
import { QueuesService } from '../../src/queues/service.js';
import type { QueueRow } from '../../src/queues/store.js';

const ventas = { id: '0b7c2f0e-5a1d-4c4e-9d7e-2f1a3b4c5d6e', name: 'ventas' } as QueueRow;
const soporte = { id: '1c8d3a1f-6b2e-4d5f-8e9f-3a2b4c5d6e7f', name: 'soporte' } as QueueRow;

/** A queues service over fakes: the store knows two queues, the engine one call connected to an agent. */
function service() {
  const rows = [ventas, soporte];
  const transfers: unknown[] = [];
  const inserted: Record<string, unknown>[] = [];
  const store = {
    get: async (id: string) => rows.find((q) => q.id === id),
    findByName: async (name: string) => rows.find((q) => q.name === name),
    findByExtension: async () => undefined,
    insert: async (row: Record<string, unknown>) => { inserted.push(row); return { ...row } as unknown as QueueRow; },
  };
  const engine = {
    connectedParties: () => ({ agentId: 'a1' }),
    phoneExists: async () => true,
    transfer: async (_callId: string, to: unknown) => { transfers.push(to); },
  };
  const queues = new QueuesService(store as never, engine as never, {} as never, {} as never, createLogger('silent'), { flowExists: async () => false, callExists: async () => true, callerOf: async () => undefined, surveyExists: async () => false });
  return { queues, transfers, inserted };
}
const admin = { role: 'admin', agentId: null };
const refusal = (pattern: RegExp) => (err: unknown) => err instanceof HttpError && err.statusCode === 400 && pattern.test(err.message);

describe('queues named by id or name', () => {
  it('finds a queue by either, and nothing for an unknown one', async () => {
    const { queues } = service();
    assert.equal((await queues.findQueue('ventas'))?.id, ventas.id);
    assert.equal((await queues.findQueue(ventas.id))?.name, 'ventas');
    assert.equal(await queues.queueExists('compras'), false);
    assert.equal(await queues.queueExists('00000000-0000-4000-8000-000000000000'), false);
  });

  it('transfers to a queue named by its name, as its id, and refuses an unknown one', async () => {
    const { queues, transfers } = service();
    await queues.transferCall('c1', { queueId: 'soporte' }, admin);
    await queues.transferCall('c1', { queueId: soporte.id }, admin);
    assert.deepEqual(transfers, [{ queueId: soporte.id }, { queueId: soporte.id }]);
    await assert.rejects(queues.transferCall('c1', { queueId: 'compras' }, admin), refusal(/^body\/queueId: no queue with the id or name compras$/));
    assert.equal(transfers.length, 2);
  });

  it('stores an overflow into a queue named by its name as the id, and refuses an unknown one', async () => {
    const { queues, inserted } = service();
    await queues.create({ name: 'nueva', strategy: 'longest_idle', overflow: { action: 'queue', queueId: 'ventas' } });
    assert.deepEqual(inserted[0]!.overflow, { action: 'queue', queueId: ventas.id });
    await assert.rejects(queues.create({ name: 'otra', strategy: 'longest_idle', overflow: { action: 'queue', queueId: 'compras' } }),
      refusal(/^body\/overflow\/queueId: no queue with the id or name compras$/));
    assert.equal(inserted.length, 1);
  });
});
