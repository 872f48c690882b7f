import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { after, before, describe, it } from 'node:test';
import { rms, toneLevels } from '../phones/audio.js';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { pcmOf } from '../../src/recording/wav-edit.js';
import { adminToken, resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const samplesOf = (file: Buffer): Int16Array => {
  const pcm = pcmOf(file);
  return new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.length));
};
/** The samples between two offsets in seconds. */
const slice = (samples: Int16Array, fromS: number, toS: number): Int16Array => samples.subarray(Math.round(fromS * 8000), Math.round(toS * 8000));

/** Recorded queue calls: what the file holds is checked against what the phones played. */
describe('call recording on the lab', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  let agentId: string;
  let agentToken: string;
  let desk: TestPhone;
  let secondDesk: TestPhone;
  let secondAgentId: string;
  let secondQueueId: string;

  const recordingsOf = async (callId: string) => (await t.app.recordings.rowsOf(callId));
  /** A caller in the recorded queue answered by the agent; both play their tone. */
  const talk = async (callerNumber: string, did = '5558001', recorded = true): Promise<{ caller: Call; agent: Call; callId: string; answeredAt: number }> => {
    const ringing = desk.waitForIncoming(10_000);
    const phone = await TestPhone.start({ user: callerNumber });
    phones.push(phone);
    const caller = await phone.call(did);
    const agent = await (await ringing).answer();
    const answeredAt = Date.now();
    caller.playTone(440);
    agent.playTone(1000);
    const callId = await waitFor(async () => ((await t.api('/api/v1/calls/live')).body as { id: string; callerNumber: string }[]).find((c) => c.callerNumber === callerNumber)?.id, 5000, 'call not live');
    if (recorded) await waitFor(async () => (await recordingsOf(callId)).some((r) => r.status === 'recording'), 5000, 'the recording did not start');
    return { caller, agent, callId, answeredAt };
  };

  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    desk = await TestPhone.start({ user: '1005', password: 'lab-1005' });
    await desk.register();
    phones.push(desk);
    agentId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1005', name: 'Rita', pin: '1234', extension: '1005' } })).body.id;
    agentToken = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'rita', role: 'agent', agentId } })).body.token;
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'grabadas', strategy: 'longest_idle', wrapUpSeconds: 0, recordingPolicy: 'always', recordingRetentionDays: 30 } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId }] } });
    await routeDid(t, '5558001', { start: 'q', nodes: { q: { type: 'queue', queue: 'grabadas' } } });
    secondDesk = await TestPhone.start({ user: '1006', password: 'lab-1006' });
    await secondDesk.register();
    phones.push(secondDesk);
    secondAgentId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1006', name: 'Sol', pin: '1234', extension: '1006' } })).body.id;
    secondQueueId = (await t.api('/api/v1/queues', { method: 'POST', json: { name: 'segunda', strategy: 'longest_idle', wrapUpSeconds: 0, recordingPolicy: 'never' } })).body.id;
    await t.api(`/api/v1/queues/${secondQueueId}/members`, { method: 'PUT', json: { members: [{ agentId: secondAgentId }] } });
    await t.api(`/api/v1/agents/${secondAgentId}/login`, { method: 'POST' });
    for (const [did, recordingPolicy] of [['5558002', 'never'], ['5558003', 'on_demand']] as const) {
      const flow = await routeDid(t, did, { start: 'q', nodes: { q: { type: 'queue', queue: 'grabadas' } } });
      const route = await t.api(`/api/v1/routes/${did}`, { method: 'PUT', json: { flowId: flow.id, recordingPolicy } });
      assert.equal(route.body.recordingPolicy, recordingPolicy);
    }
    await t.api(`/api/v1/agents/${agentId}/login`, { method: 'POST' });
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('records a queue call into one dated file holding both parties, as long as the talk, with its sha256 on the row', async () => {
    const { caller, agent, callId, answeredAt } = await talk('600800001');
    await sleep(3000);
    await caller.hangup();
    const talkSeconds = (Date.now() - answeredAt) / 1000;
    await agent.ended;
    const row = await waitFor(async () => (await recordingsOf(callId)).find((r) => r.status === 'complete'), 10_000, 'the recording was not completed');
    assert.match(row.path!, new RegExp(`^\\d{4}/\\d{2}/\\d{2}/${callId}\\.wav$`));
    assert.deepEqual(row.agent_ids, [agentId]);
    assert.equal(row.retention_days, 30);
    const file = readFileSync(join(t.app.config.recordingsDir, row.path!));
    assert.equal(createHash('sha256').update(file).digest('hex'), row.sha256);
    assert.equal(file.length, row.bytes);
    assert.ok(Math.abs(row.duration_seconds! - talkSeconds) <= 1, `recorded ${row.duration_seconds} s for ${talkSeconds} s of talk`);
    const samples = samplesOf(file);
    const [low, high] = toneLevels(slice(samples, 0.5, row.duration_seconds! - 0.5), [440, 1000]);
    assert.ok(low! > 0.2 && high! > 0.2, `both tones in the file (440: ${low}, 1000: ${high})`);
    assert.equal(statSync(join(t.app.config.recordingsDir, 'in-progress')).isDirectory(), true);

    // Played back through the API, whole and by range, each time audited.
    const url = `${t.baseUrl}/api/v1/recordings/${row.id}/audio`;
    const headers = { authorization: `Bearer ${adminToken}` };
    const whole = await fetch(url, { headers });
    assert.equal(whole.status, 200);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(file), 'the download is the file');
    const part = await fetch(url, { headers: { ...headers, range: 'bytes=1000-1999' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${file.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(file.subarray(1000, 2000)), 'the range is those bytes');
    assert.equal((await fetch(url, { headers: { authorization: `Bearer ${agentToken}` } })).status, 403, 'agents do not hear recordings unless configured');
    const audit = await t.api(`/api/v1/recordings/${row.id}/audit`);
    assert.equal(audit.body.length, 2, 'one audit row per playback');
  });

  it('leaves silence, and neither tone, where the recording was paused', async () => {
    const { caller, agent, callId } = await talk('600800002');
    await sleep(2000);
    const pause = `/api/v1/calls/${callId}/recording/pause`;
    assert.equal((await t.api(pause, { method: 'POST', token: agentToken })).status, 200);
    assert.equal((await t.api(pause, { method: 'POST', token: agentToken })).status, 409, 'already paused');
    await sleep(2000);
    const resumed = await t.api(`/api/v1/calls/${callId}/recording/resume`, { method: 'POST', token: agentToken });
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    await sleep(2000);
    await caller.hangup();
    await agent.ended;
    const row = await waitFor(async () => (await recordingsOf(callId)).find((r) => r.status === 'complete'), 10_000, 'the recording was not completed');
    assert.equal(row.pauses.length, 1);
    const from = (new Date(row.pauses[0]!.from).getTime() - row.started_at.getTime()) / 1000;
    const to = (new Date(row.pauses[0]!.to).getTime() - row.started_at.getTime()) / 1000;
    assert.ok(to - from > 1.5, `paused ${to - from} s`);
    const samples = samplesOf(readFileSync(join(t.app.config.recordingsDir, row.path!)));
    const paused = slice(samples, from + 0.3, to - 0.3);
    assert.ok(paused.length > 8000, 'the paused part is in the file, as silence');
    assert.equal(rms(paused), 0, 'silence where the recording was paused');
    for (const [name, part] of [['before', slice(samples, from - 1.5, from - 0.3)], ['after', slice(samples, to + 0.3, to + 1.5)]] as const) {
      const [low, high] = toneLevels(part, [440, 1000]);
      assert.ok(low! > 0.2 && high! > 0.2, `both tones ${name} the pause (440: ${low}, 1000: ${high})`);
    }
    const notRecorded = await t.api(`/api/v1/calls/${callId}/recording/pause`, { method: 'POST' });
    assert.equal(notRecorded.status, 404, 'the call has ended');
  });

  it('lets the route decide: never is not recorded even on demand; on demand starts when the agent asks', async () => {
    const never = await talk('600800003', '5558002', false);
    await sleep(1000);
    assert.deepEqual(await recordingsOf(never.callId), [], 'a never route records nothing');
    const refused = await t.api(`/api/v1/calls/${never.callId}/recording`, { method: 'POST', token: agentToken });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /turned off/);
    await never.caller.hangup();
    await never.agent.ended;

    const onDemand = await talk('600800004', '5558003', false);
    await sleep(1000);
    assert.deepEqual(await recordingsOf(onDemand.callId), [], 'on demand: nothing until asked');
    assert.equal((await t.api('/api/v1/calls/00000000-0000-4000-8000-000000000000/recording', { method: 'POST' })).status, 404);
    const started = await t.api(`/api/v1/calls/${onDemand.callId}/recording`, { method: 'POST', token: agentToken });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.equal((await t.api(`/api/v1/calls/${onDemand.callId}/recording`, { method: 'POST' })).status, 409, 'already recording');
    await sleep(1500);
    await onDemand.caller.hangup();
    await onDemand.agent.ended;
    const row = await waitFor(async () => (await recordingsOf(onDemand.callId)).find((r) => r.status === 'complete'), 10_000, 'the on-demand recording was not completed');
    assert.equal(row.id, started.body.id);
    assert.ok(row.duration_seconds! > 1 && row.duration_seconds! < 3, `recorded from the request on: ${row.duration_seconds} s`);
  });

  // At the transfer the recording moves to a new snoop on the caller; the old snoop
  // must be destroyed first, or the new one gets only the caller's own voice (about
  // half the runs before the fix; docs/asterisk-notes.md).
  const throughTransfer = (restartFirst: boolean) => async () => {
    const { caller, agent, callId } = await talk(restartFirst ? '600800015' : '600800005');
    await sleep(1500);
    if (restartFirst) {
      // The new process adopts the recording, and must know its snoop to move it at the transfer.
      await t.stop();
      t = await startTestApp();
      await waitFor(() => t.app.recordings.lastReconcile?.stillRecording === 1, 10_000, 'the recording was not adopted');
    }
    const rings = secondDesk.waitForIncoming(10_000);
    assert.equal((await t.api(`/api/v1/calls/${callId}/transfer`, { method: 'POST', json: { queueId: secondQueueId } })).status, 202);
    await agent.ended;
    const second = await (await rings).answer();
    const transferredAt = (await recordingsOf(callId))[0]!;
    second.playTone(1500);
    await sleep(2000);
    await caller.hangup();
    await second.ended;
    const rows = await waitFor(async () => {
      const all = await recordingsOf(callId);
      return all.every((r) => r.status === 'complete') ? all : undefined;
    }, 10_000, 'the recording was not completed');
    assert.equal(rows.length, 1, 'one recording for the whole call');
    assert.deepEqual(rows[0]!.agent_ids, [agentId, secondAgentId]);
    assert.equal(transferredAt.id, rows[0]!.id);
    const samples = samplesOf(readFileSync(join(t.app.config.recordingsDir, rows[0]!.path!)));
    const end = rows[0]!.duration_seconds!;
    const [firstAgent] = toneLevels(slice(samples, 0.3, 1.3), [1000]);
    const [secondAgent, caller440] = toneLevels(slice(samples, end - 1.5, end - 0.3), [1500, 440]);
    assert.ok(firstAgent! > 0.2, `the first agent is in the file (${firstAgent})`);
    assert.ok(secondAgent! > 0.2 && caller440! > 0.2, `the second agent and the caller after the transfer (${secondAgent}, ${caller440})`);
  };
  it('keeps recording through a transfer: one file with both agents', throughTransfer(false));
  it('keeps recording through a transfer made after a restart of centralita', throughTransfer(true));
});

describe('30 recorded calls at once', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  const count = 30;

  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await t.app.agents.load();
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'treinta', strategy: 'round_robin', wrapUpSeconds: 0, ringTimeoutSeconds: 20, recordingPolicy: 'always' } });
    const members: { agentId: string }[] = [];
    for (let i = 1; i <= count; i += 1) {
      const ext = String(3000 + i);
      const phone = await TestPhone.start({ user: ext, password: `lab-${ext}` });
      await phone.register();
      phones.push(phone);
      members.push({ agentId: (await t.api('/api/v1/agents', { method: 'POST', json: { number: ext, name: `Agente ${ext}`, pin: '1234', extension: ext } })).body.id });
    }
    await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members } });
    await routeDid(t, '5558030', { start: 'q', nodes: { q: { type: 'queue', queue: 'treinta' } } });
    for (const m of members) await t.api(`/api/v1/agents/${m.agentId}/login`, { method: 'POST' });
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('ends with 30 complete files and 30 rows', { timeout: 120_000 }, async () => {
    // Every desk answers; all 30 calls are up together before anyone hangs up.
    const answered = phones.map(async (desk) => (await desk.waitForIncoming(30_000)).answer());
    const callers: Call[] = [];
    for (let i = 0; i < count; i += 1) {
      const phone = await TestPhone.start({ user: `6008${String(i).padStart(5, '0')}` });
      phones.push(phone);
      callers.push(await phone.call('5558030'));
    }
    const agents = await Promise.all(answered);
    callers.forEach((c) => c.playTone(440));
    agents.forEach((a) => a.playTone(1000));
    await waitFor(async () => (await sqlCount(t, `status = 'recording'`)) === count, 20_000, 'not all 30 calls are being recorded at once');
    await sleep(2000);
    await Promise.all(callers.map((c) => c.hangup()));
    await waitFor(async () => (await sqlCount(t, `status = 'complete'`)) === count, 60_000, 'not all 30 recordings completed');
    const rows = (await t.app.database.db.selectFrom('recordings' as never).selectAll().execute()) as { path: string; sha256: string; bytes: number; call_id: string }[];
    assert.equal(new Set(rows.map((r) => r.call_id)).size, count, 'one recording per call');
    for (const row of rows) {
      const file = readFileSync(join(t.app.config.recordingsDir, row.path));
      assert.equal(createHash('sha256').update(file).digest('hex'), row.sha256, `${row.path} matches its row`);
      const [low, high] = toneLevels(samplesOf(file), [440, 1000]);
      assert.ok(low! > 0.1 && high! > 0.1, `${row.path} holds both parties (440: ${low}, 1000: ${high})`);
    }
  });
});

async function sqlCount(t: TestApp, where: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from recordings where ${sql.raw(where)}`.execute(t.app.database.db);
  return rows[0]!.n;
}

describe('recording with Asterisk on another host (files through ARI)', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  const ownDir = mkdtempSync(join(tmpdir(), 'centralita-recordings-'));

  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
    rmSync(ownDir, { recursive: true, force: true });
  });

  it('fetches the finished file through the stored recordings API into its own folder, then removes it from Asterisk', async () => {
    // centralita's folder is not the one Asterisk writes to: only ARI connects them.
    t = await startTestApp({ recordingsDir: ownDir, recordingsViaAri: true });
    await resetDatabase(t.app);
    await t.app.agents.load();
    const desk = await TestPhone.start({ user: '1007', password: 'lab-1007' });
    await desk.register();
    phones.push(desk);
    const agentId = (await t.api('/api/v1/agents', { method: 'POST', json: { number: '1007', name: 'Ada', pin: '1234', extension: '1007' } })).body.id;
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'remota', strategy: 'longest_idle', wrapUpSeconds: 0, recordingPolicy: 'always' } });
    await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId }] } });
    await routeDid(t, '5558200', { start: 'q', nodes: { q: { type: 'queue', queue: 'remota' } } });
    await t.api(`/api/v1/agents/${agentId}/login`, { method: 'POST' });
    const ringing = desk.waitForIncoming(10_000);
    const phone = await TestPhone.start({ user: '600820001' });
    phones.push(phone);
    const caller = await phone.call('5558200');
    const agent = await (await ringing).answer();
    caller.playTone(440);
    agent.playTone(1000);
    const callId = await waitFor(async () => ((await t.api('/api/v1/calls/live')).body as { id: string; callerNumber: string }[]).find((c) => c.callerNumber === '600820001')?.id, 5000, 'call not live');
    await sleep(2500);
    await caller.hangup();
    await agent.ended;
    const row = await waitFor(async () => (await t.app.recordings.rowsOf(callId)).find((r) => r.status === 'complete'), 10_000, 'the recording was not completed');
    const file = readFileSync(join(ownDir, row.path!));
    assert.equal(createHash('sha256').update(file).digest('hex'), row.sha256);
    const [low, high] = toneLevels(samplesOf(file), [440, 1000]);
    assert.ok(low! > 0.2 && high! > 0.2, `both parties (440: ${low}, 1000: ${high})`);
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:8088/ari/recordings/stored/${encodeURIComponent(row.asterisk_name)}`, { headers: { authorization: `Basic ${Buffer.from('centralita:centralita-lab-ari').toString('base64')}` } });
      return res.status === 404;
    }, 5000, 'the in-progress recording is still stored in Asterisk');
  });
});
