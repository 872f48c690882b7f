import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { CallsService } from '../../src/calls/service.js';
import { CallsStore } from '../../src/calls/store.js';
import { EventBus } from '../../src/core/events.js';
import { createLogger } from '../../src/core/logger.js';
import { PGliteDialect } from '../../src/core/pglite-dialect.js';
import { WriteQueue } from '../../src/core/write-queue.js';
import type { Database } from '../../src/db-schema.js';
import { migratedPGlite } from '../support/pglite-template.js';

// Asterisk names channels <epoch seconds>.<counter> and starts the counter
// again when it restarts: a call arriving in the same second as one that died
// with the old Asterisk has the same channel id. Its record must be stored
// like any other (the asterisk-restart lab test lost it 1 run in 3).
describe('a channel id Asterisk reuses after a restart', () => {
  let pglite: PGlite;
  let db: Kysely<Database>;
  let writes: WriteQueue;
  let calls: CallsService;
  before(async () => {
    pglite = await migratedPGlite();
    db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    writes = new WriteQueue(db, createLogger('silent'));
    calls = new CallsService(new CallsStore(db), writes, new EventBus(), createLogger('silent'));
  });
  after(async () => {
    writes.close();
    await db.destroy();
  });
  const arrive = (at: Date) => calls.callArrived({ channelId: '1796226520.0', direction: 'inbound', callerNumber: '600200300', callerName: '', did: '5552000', language: null, at });
  const row = async (id: string) => db.selectFrom('calls').selectAll().where('id', '=', id).executeTakeFirst();

  it('stores the new call, closes the dead one as lost, and keeps the new one live', async () => {
    const dead = arrive(new Date(Date.now() - 2000));
    await writes.drain();
    // The new Asterisk's first call, on the same channel id, arrives before
    // centralita's reconciliation after the reconnect has run.
    const listedAt = new Date(Date.now() - 500);
    const next = arrive(new Date());
    await writes.drain();
    assert.ok(await row(next.id), 'the new call has its row');
    const report = await calls.reconcile(new Set(), listedAt);
    await writes.drain();
    assert.equal(report.lost, 1);
    assert.equal((await row(dead.id))?.end_reason, 'lost');
    assert.equal((await row(next.id))?.ended_at, null, 'the new call is still going on');
    assert.deepEqual(calls.liveCalls().map((c) => c.id), [next.id]);
    calls.callEnded('1796226520.0', { at: new Date(), cause: 16, causeText: 'Normal Clearing' });
    await writes.drain();
    assert.equal((await row(next.id))?.end_reason, 'hangup');
  });

  it('adopts the newer of two open rows on a channel Asterisk still has, and closes the older', async () => {
    await db.deleteFrom('calls').execute();
    const older = arrive(new Date(Date.now() - 3000));
    const newer = arrive(new Date(Date.now() - 2000));
    await writes.drain();
    // centralita restarted too: nothing in memory, both rows open.
    const fresh = new CallsService(new CallsStore(db), writes, new EventBus(), createLogger('silent'));
    const report = await fresh.reconcile(new Set(['1796226520.0']), new Date());
    await writes.drain();
    assert.deepEqual({ adopted: report.adopted, lost: report.lost }, { adopted: 1, lost: 1 });
    assert.deepEqual(fresh.liveCalls().map((c) => c.id), [newer.id]);
    assert.equal((await row(older.id))?.end_reason, 'lost');
  });
});
