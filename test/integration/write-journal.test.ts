import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { writeWav } from '../../src/prompts/wav.js';
import { sine, toneLevels } from '../phones/audio.js';
import { TestPhone } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, testDatabaseUrl, waitFor } from '../support/harness.js';
import { runService, type ServiceProcess } from '../support/service-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const port = () => 20000 + Math.floor(Math.random() * 20000);

describe('event records through a crash while the database is slow', () => {
  const phones: TestPhone[] = [];
  const services: ServiceProcess[] = [];
  const db = new pg.Client({ connectionString: testDatabaseUrl });
  const locker = new pg.Client({ connectionString: testDatabaseUrl });

  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await Promise.all(services.map((s) => s.kill().catch(() => undefined)));
    await locker.end().catch(() => undefined);
    await db.end().catch(() => undefined);
  });

  it('SIGKILL with IVR trace rows still queued: none lost, none doubled, and the call goes on where it was', { timeout: 120_000 }, async () => {
    const setup = await startTestApp();
    await resetDatabase(setup.app);
    for (const [name, hz] of [['t440', 440], ['t1000', 1000], ['t1800', 1800]] as const) {
      const res = await setup.api(`/api/v1/prompts?name=${name}`, {
        method: 'POST', body: new Uint8Array(writeWav(sine(hz, 8000 * 0.7))), headers: { 'content-type': 'audio/wav' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    await routeDid(setup, '5558300', {
      start: 'account',
      nodes: {
        account: { type: 'collect', prompt: ['prompt:t440'], variable: 'account', minDigits: 4, maxDigits: 4, timeoutMs: 8000, next: 'menu' },
        menu: { type: 'menu', prompt: ['prompt:t1000'], options: { 1: 'check' }, timeoutMs: 8000, retries: 2, default: 'bye' },
        check: { type: 'condition', rules: [{ variable: 'account', op: 'eq', value: '4321', next: 'good' }], else: 'bye' },
        good: { type: 'play', media: ['prompt:t1800'], next: 'bye' },
        bye: { type: 'hangup' },
      },
    });
    await setup.stop();
    await db.connect();
    await locker.connect();

    services.push(await runService(port()));
    // The database is slow for the traces: their inserts wait behind this
    // lock, and every write after them waits in the queue.
    await locker.query('begin');
    await locker.query('lock table ivr_traces in share mode');
    const callerPhone = await TestPhone.start({ user: '600830001' });
    phones.push(callerPhone);
    const call = await callerPhone.call('5558300');
    await call.waitForTone(440, { timeoutMs: 8000, threshold: 0.5 });
    let mark = call.mark();
    await call.sendDtmf('4321');
    await call.waitForTone(1000, { since: mark, timeoutMs: 8000, threshold: 0.5 }); // the menu: 'account' is done
    await sleep(300);
    assert.equal((await db.query('select count(*)::int as n from ivr_traces')).rows[0].n, 0, 'no trace stored yet');
    const callId: string = (await db.query('select id from calls where did = $1', ['5558300'])).rows[0].id;

    await services[0]!.kill();
    // The insert that was waiting may still go through once the lock is
    // gone (Postgres learns of the dead client only when it answers it):
    // the next start must not write that row a second time.
    await locker.query('commit');
    services.push(await runService(port()));

    // The menu again, not the account prompt: the trace of 'account' was applied from the journal.
    mark = call.mark();
    await call.waitForTone(1000, { since: mark, timeoutMs: 10_000, threshold: 0.5 });
    const [accountPrompt] = toneLevels(call.receivedSince(mark), [440]);
    assert.ok(accountPrompt! < 0.05, `the caller was not asked the account again (${accountPrompt})`);
    mark = call.mark();
    await call.sendDtmf('1');
    await call.waitForTone(1800, { since: mark, timeoutMs: 8000, threshold: 0.5 }); // account 4321, keyed before the kill
    await waitFor(() => !call.isActive, 15_000, 'the IVR did not hang up');

    const trace = await waitFor(async () => {
      const rows = (await db.query<{ node: string; input: string | null }>('select node, input from ivr_traces where call_id = $1 order by id', [callId])).rows;
      return rows.some((r) => r.node === 'bye') ? rows : undefined;
    }, 10_000, 'the last trace row was not written');
    assert.deepEqual(trace.map((s) => [s.node, s.input]), [['account', '4321'], ['menu', '1'], ['check', null], ['good', null], ['bye', null]]);
    const row = await waitFor(async () => (await db.query('select answered_at, ended_at from calls where id = $1', [callId])).rows.find((r) => r.ended_at), 10_000, 'the call was not closed');
    assert.ok(row.answered_at, 'answered');
    assert.equal((await db.query('select count(*)::int as n from calls')).rows[0].n, 1, 'one call row');
  });
});
