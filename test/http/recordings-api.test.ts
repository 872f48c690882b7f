import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import cron from 'node-cron';
import { purgeExpired } from '../../src/recording/retention.js';
import { RecordingsStore } from '../../src/recording/store.js';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { adminToken } from '../support/harness.js';
import { sineWav } from '../support/tone-wav.js';

/** A mono 8 kHz 16-bit WAV of a sine tone, as Asterisk records. */
const toneWav = (seconds: number, hz: number): Buffer => sineWav({ hz, rate: 8000, channels: 1, seconds });

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const retentionTasks = () => [...cron.getTasks().values()].filter((task) => task.name === 'recordings-retention').length;

interface Recording { id: string; callId: string; path: string | null; file?: Buffer }

describe('recordings API', () => {
  let t: FastApp;
  let dir: string;
  let outside: string;
  let supervisor: { id: string; token: string };
  let anaToken: { id: string; token: string };
  const agents: Record<string, string> = {};
  let queueId: string;
  const rec: Record<string, Recording> = {};

  const db = () => t.app.database.db;
  const store = () => new RecordingsStore(t.app.database.db);

  async function insertCall(startedAt: string): Promise<string> {
    const id = randomUUID();
    await sql`insert into calls (id, channel_id, direction, started_at, ended_at, end_reason) values (${id}, ${`rec-${id}`}, 'inbound', ${startedAt}, ${startedAt}, 'hangup')`.execute(db());
    return id;
  }

  /** A recording row, and its file when `file` is given (written at the row's path). */
  async function insertRecording(options: {
    startedAt: string; status: string; agentIds?: string[]; queueId?: string | null; file?: Buffer; path?: string | null; retentionDays?: number; deletedAt?: string;
  }): Promise<Recording> {
    const id = randomUUID();
    const callId = await insertCall(options.startedAt);
    const day = options.startedAt.slice(0, 10).replaceAll('-', '/');
    const path = options.path !== undefined ? options.path : options.status === 'recording' ? null : `${day}/${callId}.wav`;
    if (options.file && path) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), options.file);
    }
    const agentIds = `{${(options.agentIds ?? []).join(',')}}`;
    await sql`insert into recordings (id, call_id, queue_id, agent_ids, asterisk_name, path, status, started_at, ended_at, duration_seconds, bytes, sha256, retention_days, deleted_at)
      values (${id}, ${callId}, ${options.queueId ?? null}, ${agentIds}::uuid[], ${`in-progress/${id}`}, ${path}, ${options.status}, ${options.startedAt},
        ${options.status === 'recording' ? null : options.startedAt}, ${options.file ? (options.file.length - 44) / 16000 : null},
        ${options.file?.length ?? null}, ${options.file ? sha256(options.file) : null}, ${options.retentionDays ?? 3650}, ${options.deletedAt ?? null})`.execute(db());
    return { id, callId, path, file: options.file };
  }

  async function download(id: string, { token = adminToken, range, headers = {} }: { token?: string | null; range?: string; headers?: Record<string, string> } = {}) {
    const all: Record<string, string> = { ...headers };
    if (token !== null) all.authorization = `Bearer ${token}`;
    if (range) all.range = range;
    const res = await fetch(`${t.baseUrl}/api/v1/recordings/${id}/audio`, { headers: all });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  }

  const auditOf = async (id: string) => (await t.api(`/api/v1/recordings/${id}/audit`)).body as Array<{ action: string; role: string; tokenId: string | null; agentId: string | null; detail: { range: string | null; ip: string } }>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'centralita-recordings-'));
    outside = mkdtempSync(join(tmpdir(), 'centralita-outside-'));
    t = await startFastApp({ recordingsDir: dir });

    for (const [number, name, extension] of [['301', 'ana', '1004'], ['302', 'ben', '1005']] as const) {
      const res = await t.api('/api/v1/agents', { method: 'POST', json: { number, name, pin: '4321', extension } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      agents[name] = res.body.id;
    }
    const token = async (json: Record<string, unknown>) => {
      const res = await t.api('/api/v1/tokens', { method: 'POST', json });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return { id: res.body.id as string, token: res.body.token as string };
    };
    supervisor = await token({ name: 'sup', role: 'supervisor' });
    anaToken = await token({ name: 'ana', role: 'agent', agentId: agents.ana });
    queueId = randomUUID();
    await sql`insert into queues (id, name, strategy) values (${queueId}, 'ventas', 'longest_idle')`.execute(db());

    rec.ana = await insertRecording({ startedAt: '2026-01-10T10:00:00.000Z', status: 'complete', agentIds: [agents.ana!], queueId, file: toneWav(2, 440) });
    rec.ben = await insertRecording({ startedAt: '2026-01-12T10:00:00.000Z', status: 'complete', agentIds: [agents.ben!], file: toneWav(1, 600) });
    rec.both = await insertRecording({ startedAt: '2026-01-14T10:00:00.000Z', status: 'complete', agentIds: [agents.ben!, agents.ana!], queueId, file: toneWav(1, 700) });
  });

  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('lists recordings newest first, by agent, queue, call and time, with ids and never paths', async () => {
    const all = await t.api('/api/v1/recordings');
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(all.body.map((r: { id: string }) => r.id), [rec.both!.id, rec.ben!.id, rec.ana!.id]);
    const ana = all.body[2];
    assert.deepEqual(Object.keys(ana).sort(), ['agentIds', 'bytes', 'callId', 'deletedAt', 'durationSeconds', 'endedAt', 'format', 'id', 'kind', 'pauses', 'queueId', 'sha256', 'startedAt', 'status']);
    assert.deepEqual(ana, {
      id: rec.ana!.id, callId: rec.ana!.callId, queueId, agentIds: [agents.ana], status: 'complete',
      startedAt: '2026-01-10T10:00:00.000Z', endedAt: '2026-01-10T10:00:00.000Z', durationSeconds: 2, bytes: rec.ana!.file!.length,
      sha256: sha256(rec.ana!.file!), format: 'wav', pauses: [], deletedAt: null, kind: 'call',
    });
    assert.ok(!JSON.stringify(all.body).includes('2026/01/'), 'no file paths');

    const ids = async (query: string) => {
      const res = await t.api(`/api/v1/recordings?${query}`, { token: supervisor.token });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.map((r: { id: string }) => r.id);
    };
    assert.deepEqual(await ids(`agent=${agents.ana}`), [rec.both!.id, rec.ana!.id]);
    assert.deepEqual(await ids(`agent=${agents.ben}`), [rec.both!.id, rec.ben!.id]);
    assert.deepEqual(await ids(`queue=${queueId}`), [rec.both!.id, rec.ana!.id]);
    assert.deepEqual(await ids(`call=${rec.ben!.callId}`), [rec.ben!.id]);
    assert.deepEqual(await ids('kind=survey_comment'), [], 'no survey comments among call recordings');
    assert.equal((await ids('kind=call')).length, 3);
    // The caller filter asks the calls capability for the number's calls.
    await sql`update calls set caller_number = '600700001' where id in (${rec.ana!.callId}, ${rec.both!.callId})`.execute(db());
    assert.deepEqual(await ids('caller=600700001'), [rec.both!.id, rec.ana!.id]);
    assert.deepEqual(await ids(`caller=600700001&agent=${agents.ben}`), [rec.both!.id]);
    assert.deepEqual(await ids('caller=600700999'), [], 'a number with no calls has no recordings');
    assert.deepEqual(await ids('from=2026-01-11T00:00:00Z&to=2026-01-14T10:00:00Z'), [rec.ben!.id], 'from inclusive, to exclusive');
    assert.deepEqual(await ids('from=2026-01-11T00:00:00Z'), [rec.both!.id, rec.ben!.id]);
    assert.deepEqual(await ids('limit=1&offset=1'), [rec.ben!.id]);
    assert.equal((await t.api('/api/v1/recordings?agent=not-a-uuid')).status, 400);

    const one = await t.api(`/api/v1/recordings/${rec.ben!.id}`, { token: supervisor.token });
    assert.equal(one.status, 200);
    assert.equal(one.body.sha256, sha256(rec.ben!.file!));
    assert.equal((await t.api(`/api/v1/recordings/${randomUUID()}`)).status, 404);
  });

  it('asks for a token, and refuses agents while CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS is false', async () => {
    assert.equal((await t.api('/api/v1/recordings', { token: null })).status, 401);
    assert.equal((await download(rec.ana!.id, { token: null })).status, 401);
    for (const path of ['/api/v1/recordings', `/api/v1/recordings/${rec.ana!.id}`, `/api/v1/recordings/${rec.ana!.id}/audio`, `/api/v1/recordings/${rec.ana!.id}/audit`]) {
      const res = await t.api(path, { token: anaToken.token });
      assert.equal(res.status, 403, `${path}: ${JSON.stringify(res.body)}`);
    }
    assert.equal((await auditOf(rec.ana!.id)).length, 0, 'a refused request is no playback');
  });

  it('streams the whole file and single byte ranges, auditing every playback first', async () => {
    const file = rec.ana!.file!;
    const size = file.length;
    const whole = await download(rec.ana!.id);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'audio/wav');
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.equal(whole.headers.get('content-length'), String(size));
    assert.equal(whole.headers.get('content-range'), null);
    assert.ok(whole.bytes.equals(file), 'the bytes of the file');
    assert.equal(sha256(whole.bytes), (await t.api(`/api/v1/recordings/${rec.ana!.id}`)).body.sha256);

    const ranges: Array<[string, number, number]> = [['bytes=100-199', 100, 199], [`bytes=${size - 10}-`, size - 10, size - 1], ['bytes=-500', size - 500, size - 1], ['bytes=0-0', 0, 0]];
    for (const [range, start, end] of ranges) {
      const part = await download(rec.ana!.id, { token: supervisor.token, range });
      assert.equal(part.status, 206, range);
      assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/${size}`, range);
      assert.equal(part.headers.get('content-length'), String(end - start + 1), range);
      assert.ok(part.bytes.equals(file.subarray(start, end + 1)), `${range}: exact bytes`);
    }
    const pastEnd = await download(rec.ana!.id, { range: `bytes=${size}-` });
    assert.equal(pastEnd.status, 416);
    assert.equal(pastEnd.headers.get('content-range'), `bytes */${size}`);
    const multiple = await download(rec.ana!.id, { range: 'bytes=0-1,5-9' });
    assert.equal(multiple.status, 200, 'several ranges: the whole file');
    assert.ok(multiple.bytes.equals(file));
    const staleIfRange = await download(rec.ana!.id, { range: 'bytes=0-9', headers: { 'if-range': '"something-else"' } });
    assert.equal(staleIfRange.status, 200, 'an If-Range that does not match: the whole file');
    const freshIfRange = await download(rec.ana!.id, { range: 'bytes=0-9', headers: { 'if-range': `"${sha256(file)}"` } });
    assert.equal(freshIfRange.status, 206);

    const audit = await auditOf(rec.ana!.id);
    assert.deepEqual(audit.map((a) => [a.action, a.role, a.tokenId, a.detail.range]), [
      ['playback', 'admin', null, null],
      ...ranges.map(([, start, end]) => ['playback', 'supervisor', supervisor.id, `bytes=${start}-${end}`]),
      ['playback', 'admin', null, null],
      ['playback', 'admin', null, null],
      ['playback', 'admin', null, 'bytes=0-9'],
    ], 'one row per 200 or 206, none for the 416');
    assert.ok(audit.every((a) => a.agentId === null && /127\.0\.0\.1/.test(a.detail.ip)), JSON.stringify(audit));
    assert.equal((await t.api(`/api/v1/recordings/${rec.ana!.id}/audit`, { token: supervisor.token })).status, 200);
    assert.equal((await t.api(`/api/v1/recordings/${randomUUID()}/audit`)).status, 404);
  });

  it('answers 404, 409, 410 and 503 without streaming, and never leaves the recordings folder', async () => {
    assert.equal((await download(randomUUID())).status, 404);
    assert.equal((await download('not-a-uuid')).status, 400);

    const inProgress = await insertRecording({ startedAt: new Date().toISOString(), status: 'recording', agentIds: [agents.ana!] });
    const busy = await t.api(`/api/v1/recordings/${inProgress.id}/audio`);
    assert.equal(busy.status, 409);
    assert.match(busy.body.error.message, /is recording: the call is still being recorded/);

    const deleted = await insertRecording({ startedAt: '2025-01-01T10:00:00.000Z', status: 'deleted', deletedAt: '2026-01-02T03:15:00.000Z' });
    const gone = await t.api(`/api/v1/recordings/${deleted.id}/audio`);
    assert.equal(gone.status, 410);
    assert.match(gone.body.error.message, /deleted on 2026-01-02/);

    const noFile = await insertRecording({ startedAt: '2026-01-05T10:00:00.000Z', status: 'complete' });
    assert.equal((await download(noFile.id)).status, 404);

    const secret = Buffer.from('not a recording');
    writeFileSync(join(outside, 'secret.wav'), secret);
    const traversal = await insertRecording({ startedAt: '2026-01-06T10:00:00.000Z', status: 'complete', path: `../${join(outside.split('/').at(-1)!, 'secret.wav')}` });
    const viaDots = await download(traversal.id);
    assert.equal(viaDots.status, 500);
    assert.ok(!viaDots.bytes.includes(secret));
    const absolute = await insertRecording({ startedAt: '2026-01-06T11:00:00.000Z', status: 'complete', path: join(outside, 'secret.wav') });
    assert.equal((await download(absolute.id)).status, 500);
    mkdirSync(join(dir, 'links'), { recursive: true });
    symlinkSync(join(outside, 'secret.wav'), join(dir, 'links', 'secret.wav'));
    const viaLink = await insertRecording({ startedAt: '2026-01-06T12:00:00.000Z', status: 'complete', path: 'links/secret.wav' });
    const linked = await download(viaLink.id);
    assert.equal(linked.status, 500);
    assert.ok(!linked.bytes.includes(secret));
    for (const r of [inProgress, deleted, noFile, traversal, absolute, viaLink]) assert.equal((await auditOf(r.id)).length, 0, 'nothing played, nothing audited');

    // The audit trail refuses playbacks: no audit, no audio.
    await sql`alter table recording_audit add constraint test_no_playback check (action <> 'playback') not valid`.execute(db());
    try {
      const refused = await download(rec.ben!.id);
      assert.equal(refused.status, 503);
      assert.match(refused.bytes.toString(), /audit/);
      assert.ok(!refused.bytes.includes(rec.ben!.file!.subarray(44, 1044)));
    } finally {
      await sql`alter table recording_audit drop constraint test_no_playback`.execute(db());
    }
    assert.equal((await auditOf(rec.ben!.id)).length, 0);
    await sql`delete from recordings where id in (${traversal.id}, ${absolute.id}, ${viaLink.id})`.execute(db());
  });

  it('deletes expired recordings: the file, then the row marked deleted with a system audit row', async () => {
    assert.equal(retentionTasks(), 1, 'the daily run is scheduled while the service runs');
    const expired = await insertRecording({ startedAt: '2025-06-01T10:00:00.000Z', status: 'complete', retentionDays: 30, agentIds: [agents.ana!], file: toneWav(1, 500) });
    const fileGone = await insertRecording({ startedAt: '2025-06-02T10:00:00.000Z', status: 'complete', retentionDays: 30 });
    const kept = await insertRecording({ startedAt: '2025-06-03T10:00:00.000Z', status: 'complete', retentionDays: 3650, file: toneWav(1, 550) });
    const unsafe = await insertRecording({ startedAt: '2025-06-04T10:00:00.000Z', status: 'complete', retentionDays: 30, path: `../${outside.split('/').at(-1)}/secret.wav` });
    const now = new Date('2026-01-20T00:00:00.000Z');

    const report = await purgeExpired(store(), dir, t.app.logger, now);
    assert.deepEqual(report, { deleted: 2, failed: 1 });
    assert.ok(!existsSync(join(dir, expired.path!)), 'the expired file is deleted');
    assert.ok(existsSync(join(dir, kept.path!)), 'the file still in retention stays');
    assert.ok(existsSync(join(outside, 'secret.wav')), 'a path outside the recordings folder is never deleted');
    assert.ok(existsSync(join(dir, rec.ana!.path!)));

    for (const r of [expired, fileGone]) {
      const row = (await t.api(`/api/v1/recordings/${r.id}`)).body;
      assert.equal(row.status, 'deleted');
      assert.equal(row.deletedAt, now.toISOString());
      const audit = await auditOf(r.id);
      assert.deepEqual(audit.map((a) => [a.action, a.role, a.tokenId, a.agentId]), [['delete', 'system', null, null]]);
    }
    assert.equal((await t.api(`/api/v1/recordings/${kept.id}`)).body.status, 'complete');
    assert.equal((await t.api(`/api/v1/recordings/${unsafe.id}`)).body.status, 'complete', 'left for someone to look at');
    assert.equal((await download(expired.id)).status, 410);
    assert.ok((await download(kept.id)).bytes.equals(kept.file!));

    await sql`delete from recordings where id = ${unsafe.id}`.execute(db());
    assert.deepEqual(await purgeExpired(store(), dir, t.app.logger, now), { deleted: 0, failed: 0 }, 'nothing twice');
  });

  it('shows the recordings disk on /health', async () => {
    const health = await t.api('/health', { token: null });
    assert.equal(health.status, 200);
    const disk = health.body.recordings;
    assert.ok(disk.totalBytes > 0 && disk.freeBytes > 0 && disk.freeBytes <= disk.totalBytes, JSON.stringify(disk));
    assert.equal(disk.lowDisk, false);
    assert.equal(health.body.status, 'ok');
  });

  it('lets agents hear only their own calls when CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS is true, and reports a low disk', async () => {
    await t.restart({ agentsHearOwnRecordings: true, recordingsMinFreeMb: 1_000_000_000 }, {}, () => {
      assert.equal(retentionTasks(), 0, 'stopping the service stops the daily run');
    });

    const mine = await t.api('/api/v1/recordings', { token: anaToken.token });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.ok(mine.body.length > 0 && mine.body.every((r: { agentIds: string[] }) => r.agentIds.includes(agents.ana!)), JSON.stringify(mine.body));
    assert.ok(mine.body.some((r: { id: string }) => r.id === rec.both!.id));
    assert.ok(!mine.body.some((r: { id: string }) => r.id === rec.ben!.id));
    assert.equal((await t.api(`/api/v1/recordings?agent=${agents.ben}`, { token: anaToken.token })).status, 403);
    assert.equal((await t.api(`/api/v1/recordings/${rec.ben!.id}`, { token: anaToken.token })).status, 403);
    assert.equal((await download(rec.ben!.id, { token: anaToken.token })).status, 403);
    assert.equal((await t.api(`/api/v1/recordings/${rec.both!.id}`, { token: anaToken.token })).status, 200);
    assert.equal((await t.api(`/api/v1/recordings/${rec.both!.id}/audit`, { token: anaToken.token })).status, 403);

    const own = await download(rec.both!.id, { token: anaToken.token, range: 'bytes=-100' });
    assert.equal(own.status, 206);
    assert.ok(own.bytes.equals(rec.both!.file!.subarray(-100)));
    const audit = await auditOf(rec.both!.id);
    assert.deepEqual(audit.map((a) => [a.action, a.role, a.tokenId, a.agentId, a.detail.range]),
      [['playback', 'agent', anaToken.id, agents.ana, `bytes=${rec.both!.file!.length - 100}-${rec.both!.file!.length - 1}`]]);

    const health = await t.api('/health', { token: null });
    assert.equal(health.body.recordings.lowDisk, true);
    assert.equal(health.body.status, 'degraded');
  });
});
