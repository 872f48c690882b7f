import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { pcmOf } from '../../src/recording/wav-edit.js';
import { toneLevels } from '../phones/audio.js';
import { TestPhone } from '../phones/sip-phone.js';
import { resetDatabase, routeDid, startTestApp, testDatabaseUrl, waitFor, type TestApp } from '../support/harness.js';
import { runService } from '../support/service-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('recording while centralita is killed', () => {
  let t: TestApp | undefined;
  const phones: TestPhone[] = [];
  const db = new pg.Client({ connectionString: testDatabaseUrl });

  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
    await db.end().catch(() => undefined);
  });

  it('SIGKILL mid-call: Asterisk keeps recording, and the next start adopts the file with a complete row', { timeout: 90_000 }, async () => {
    // Set up with an in-process app, then hand over to a separate process.
    const setup = await startTestApp();
    await resetDatabase(setup.app);
    await setup.app.agents.load();
    const agentId = (await setup.api('/api/v1/agents', { method: 'POST', json: { number: '1006', name: 'Tomás', pin: '1234', extension: '1006' } })).body.id;
    const queue = await setup.api('/api/v1/queues', { method: 'POST', json: { name: 'caida', strategy: 'longest_idle', wrapUpSeconds: 0, recordingPolicy: 'always' } });
    await setup.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId }] } });
    await routeDid(setup, '5558100', { start: 'q', nodes: { q: { type: 'queue', queue: 'caida' } } });
    await setup.api(`/api/v1/agents/${agentId}/login`, { method: 'POST' });
    await setup.stop();

    const service = await runService(20000 + Math.floor(Math.random() * 20000));
    await db.connect();
    const desk = await TestPhone.start({ user: '1006', password: 'lab-1006' });
    await desk.register();
    phones.push(desk);
    const ringing = desk.waitForIncoming(15_000);
    const callerPhone = await TestPhone.start({ user: '600810001' });
    phones.push(callerPhone);
    const caller = await callerPhone.call('5558100');
    const agent = await (await ringing).answer();
    const answeredAt = Date.now();
    caller.playTone(440);
    agent.playTone(1000);
    const recording = await waitFor(async () => (await db.query<{ id: string; call_id: string }>(`select id, call_id from recordings where status = 'recording'`)).rows[0], 10_000, 'the recording did not start');
    await sleep(1500);
    await service.kill();
    // The call goes on without centralita, and so does the recording.
    await sleep(2000);
    await caller.hangup();
    const talkSeconds = (Date.now() - answeredAt) / 1000;
    await agent.hangup().catch(() => undefined);
    assert.equal((await db.query(`select status from recordings where id = $1`, [recording.id])).rows[0].status, 'recording');

    t = await startTestApp();
    const row = await waitFor(async () => (await t!.app.recordings.rowsOf(recording.call_id)).find((r) => r.status === 'complete'), 15_000, 'the recording was not adopted');
    assert.equal(row.id, recording.id);
    const file = readFileSync(join(t.app.config.recordingsDir, row.path!));
    assert.equal(createHash('sha256').update(file).digest('hex'), row.sha256);
    assert.equal(file.length, row.bytes);
    assert.ok(row.ended_at, 'the row has its end');
    assert.ok(Math.abs(row.duration_seconds! - talkSeconds) <= 1, `recorded ${row.duration_seconds} s for ${talkSeconds} s of talk`);
    const pcm = pcmOf(file);
    const samples = new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.length));
    const afterKill = samples.subarray(Math.round(2.5 * 8000), Math.round((row.duration_seconds! - 0.5) * 8000));
    const [low, high] = toneLevels(afterKill, [440, 1000]);
    assert.ok(low! > 0.2 && high! > 0.2, `both parties recorded after the kill too (440: ${low}, 1000: ${high})`);
    // The row is written mid-reconciliation; the report comes at its end.
    const report = await waitFor(() => t!.app.recordings.lastReconcile, 5000, 'the reconciliation did not finish');
    assert.deepEqual(report.adopted, 1);
  });
});
