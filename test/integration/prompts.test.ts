import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { promptMedia } from '../../src/prompts/service.js';
import { parseWav } from '../../src/prompts/wav.js';
import { toneLevels } from '../phones/audio.js';
import { TestPhone } from '../phones/sip-phone.js';
import { adminToken, resetDatabase, startTestApp, testConfig, type TestApp } from '../support/harness.js';
import { sineWav } from '../support/tone-wav.js';

const labPrompts = '/var/cache/centralita-lab/rootfs/usr/share/asterisk/sounds/centralita-prompts';
const names = ['test-prompt-tone', 'test-prompt-bad', 'test-prompt-play'];

/** The samples of an 8 kHz mono 16-bit WAV, checking that it is one. */
function telephoneSamples(wav: Buffer): Int16Array {
  const audio = parseWav(wav);
  assert.deepEqual([audio.encoding, audio.sampleRate, audio.channels], ['pcm16', 8000, 1]);
  assert.equal(wav.length, 44 + audio.data.length, 'a canonical 44-byte header');
  return Int16Array.from({ length: audio.frames }, (_, i) => audio.data.readInt16LE(i * 2));
}

describe('prompts API', () => {
  let t: TestApp;
  let supervisorToken: string;
  const promptsDir = testConfig().promptsDir;
  const fileOf = (name: string) => join(promptsDir, `${name}.wav`);
  const leftovers = () => readdirSync(promptsDir).filter((f) => f.endsWith('.tmp'));
  const removeFiles = () => names.forEach((name) => existsSync(fileOf(name)) && unlinkSync(fileOf(name)));

  const upload = (name: string, body: Buffer, { token = adminToken, type = 'audio/wav' }: { token?: string; type?: string | null } = {}) =>
    t.api(`/api/v1/prompts?name=${encodeURIComponent(name)}`, {
      method: 'POST', token, body: new Uint8Array(body), headers: type === null ? {} : { 'content-type': type },
    });

  const download = async (name: string, token = adminToken) => {
    const res = await fetch(`${t.baseUrl}/api/v1/prompts/${name}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
  };

  const rowCount = async (name: string) =>
    Number((await sql<{ n: string }>`select count(*) as n from prompts where name = ${name}`.execute(t.app.database.db)).rows[0]?.n);

  before(async () => {
    // Its own Stasis application, so it never takes over the lab's `centralita` app.
    t = await startTestApp({ ari: { ...testConfig().ari, app: 'centralita-prompts-test' } });
    await resetDatabase(t.app);
    removeFiles();
    supervisorToken = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'sup', role: 'supervisor' } })).body.token;
  });
  after(async () => {
    removeFiles();
    await t?.stop();
  });

  it('converts an upload to 8 kHz mono, lists it, serves it and shows it to Asterisk', async () => {
    const res = await upload('test-prompt-tone', sineWav({ hz: 1000, rate: 44100, channels: 2, seconds: 2 }));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(
      { name: res.body.name, durationMs: res.body.durationMs, originalFormat: res.body.originalFormat, media: res.body.media },
      { name: 'test-prompt-tone', durationMs: 2000, originalFormat: 'PCM 16-bit, 44100 Hz, stereo', media: 'sound:centralita-prompts/test-prompt-tone' },
    );
    assert.equal(res.body.sizeBytes, 44 + 2 * 16000);

    const onDisk = readFileSync(fileOf('test-prompt-tone'));
    assert.equal(statSync(fileOf('test-prompt-tone')).mode & 0o777, 0o644);
    assert.deepEqual(readFileSync(join(labPrompts, 'test-prompt-tone.wav')), onDisk, 'the lab Asterisk sees the same file (bind mount)');

    const list = await t.api('/api/v1/prompts', { token: supervisorToken });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.map((p: { name: string }) => p.name), ['test-prompt-tone']);

    const got = await download('test-prompt-tone', supervisorToken);
    assert.equal(got.status, 200);
    assert.equal(got.type, 'audio/wav');
    assert.deepEqual(got.bytes, onDisk);
    const samples = telephoneSamples(got.bytes);
    assert.equal(samples.length, 16000);
    assert.ok((toneLevels(samples, [1000])[0] ?? 0) > 0.95, 'the 1000 Hz tone is still at 1000 Hz');
    assert.equal((await t.api('/api/v1/prompts/test-prompt-tone', { token: supervisorToken })).status, 200);
  });

  it('replaces a prompt uploaded again under the same name', async () => {
    const first = (await t.api('/api/v1/prompts')).body.find((p: { name: string }) => p.name === 'test-prompt-tone');
    const plain = sineWav({ hz: 440, rate: 8000, channels: 1, seconds: 1 });
    const res = await upload('test-prompt-tone', plain, { type: 'audio/x-wav; charset=binary' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.durationMs, 1000);
    assert.equal(res.body.originalFormat, 'PCM 16-bit, 8000 Hz, mono');
    assert.equal(res.body.createdAt, first.createdAt);
    assert.ok(res.body.updatedAt > first.updatedAt);
    const samples = telephoneSamples((await download('test-prompt-tone')).bytes);
    assert.deepEqual(samples, telephoneSamples(plain), '8 kHz mono 16-bit is stored as it came');
    assert.equal(await rowCount('test-prompt-tone'), 1);
    assert.deepEqual(leftovers(), []);
  });

  it('plays an uploaded prompt through Asterisk to a phone', async () => {
    assert.equal((await upload('test-prompt-play', sineWav({ hz: 1000, rate: 16000, channels: 1, seconds: 3 }))).status, 201);
    const phone = await TestPhone.start({ user: '2003', password: 'lab-2003' });
    try {
      await phone.register();
      // A kind of channel of the test's own: the app hangs up channels of kinds nobody claimed.
      const entered = new Promise<string>((resolve) => t.app.stasis.claim('test-prompt', { start: (event) => resolve(event.channel.id) }));
      await t.app.ari.request('channels.originate', { endpoint: 'PJSIP/2003', app: t.app.ari.app, appArgs: 'test-prompt' });
      const call = await (await phone.waitForIncoming()).answer();
      const channelId = await entered;
      const finished = new Promise<string>((resolve) => {
        const off = t.app.ari.on('PlaybackFinished', (event) => { off(); resolve(event.playback.state); });
      });
      await t.app.ari.request('channels.play', { channelId, media: promptMedia('test-prompt-play') });
      await call.waitForTone(1000, { timeoutMs: 3000 });
      assert.equal(await finished, 'done');
      await call.hangup();
    } finally {
      await phone.close();
    }
  });

  it('deletes a prompt: row and file, here and in the lab', async () => {
    assert.equal((await t.api('/api/v1/prompts/test-prompt-play', { method: 'DELETE', token: supervisorToken })).status, 403);
    const res = await t.api('/api/v1/prompts/test-prompt-play', { method: 'DELETE' });
    assert.equal(res.status, 200);
    assert.equal(res.body.name, 'test-prompt-play');
    assert.equal(existsSync(fileOf('test-prompt-play')), false);
    assert.equal(existsSync(join(labPrompts, 'test-prompt-play.wav')), false);
    assert.equal(await rowCount('test-prompt-play'), 0);
    assert.equal((await download('test-prompt-play')).status, 404);
    const again = await t.api('/api/v1/prompts/test-prompt-play', { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.deepEqual(again.body, { error: { code: 'not_found', message: 'prompt test-prompt-play not found' } });
  });
});
