import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { adminToken, waitFor } from '../support/harness.js';
import { sineWav } from '../support/tone-wav.js';

/**
 * Prompt uploads refused: bad audio, names, roles, types and sizes, with
 * nothing stored and what was there kept. Conversion, Asterisk seeing the
 * file and a phone hearing it are in test/integration/prompts.test.ts.
 */
describe('prompts API refusals', () => {
  let t: FastApp;
  let supervisorToken: string;
  let agentToken: string;
  const fileOf = (name: string) => join(t.app.config.promptsDir, `${name}.wav`);
  const leftovers = () => readdirSync(t.app.config.promptsDir).filter((f) => f.endsWith('.tmp'));

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
    t = await startFastApp();
    supervisorToken = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'sup', role: 'supervisor' } })).body.token;
    const agent = await t.api('/api/v1/agents', { method: 'POST', json: { number: '901', name: 'Agente', pin: '4321' } });
    agentToken = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'a', role: 'agent', agentId: agent.body.id } })).body.token;
    // The prompt a refused upload must leave as it was: 1 s, 8 kHz mono.
    const tone = await upload('test-prompt-tone', sineWav({ hz: 440, rate: 8000, channels: 1, seconds: 1 }));
    assert.equal(tone.status, 201, JSON.stringify(tone.body));
  });
  after(async () => t?.stop());

  it('refuses invalid audio with 400 invalid_audio and stores nothing, keeping what was there', async () => {
    const bad = await upload('test-prompt-bad', sineWav({ hz: 1000, rate: 8000, channels: 1, seconds: 1, bits: 24 }));
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { error: { code: 'invalid_audio', message: 'the WAV is 24-bit PCM; send 16-bit PCM, 8-bit PCM, μ-law or A-law' } });
    const notWav = await upload('test-prompt-bad', Buffer.from('ID3\x03\x00 an mp3, really'));
    assert.equal(notWav.status, 400);
    assert.match(notWav.body.error.message, /not a WAV/);
    const empty = await upload('test-prompt-bad', Buffer.alloc(0));
    assert.deepEqual(empty.body.error, { code: 'invalid_audio', message: 'the file is empty' });
    assert.equal(existsSync(fileOf('test-prompt-bad')), false);
    assert.equal(await rowCount('test-prompt-bad'), 0);

    const before = readFileSync(fileOf('test-prompt-tone'));
    assert.equal((await upload('test-prompt-tone', Buffer.from('RIFF....WAVEjunk'))).status, 400);
    assert.deepEqual(readFileSync(fileOf('test-prompt-tone')), before);
    assert.equal((await t.api('/api/v1/prompts')).body.find((p: { name: string }) => p.name === 'test-prompt-tone').durationMs, 1000);
    assert.deepEqual(leftovers(), []);
  });

  it('answers 400 for a bad name, 401, 403, 404 and 415 with clear messages', async () => {
    const wav = sineWav({ hz: 1000, rate: 8000, channels: 1, seconds: 0.2 });
    const badName = await upload('Bad Name', wav);
    assert.equal(badName.status, 400);
    assert.match(badName.body.error.message, /^querystring\/name must match pattern/);
    const noName = await t.api('/api/v1/prompts', { method: 'POST', body: new Uint8Array(wav), headers: { 'content-type': 'audio/wav' } });
    assert.equal(noName.status, 400);
    assert.equal(noName.body.error.message, 'querystring/name is required');
    assert.equal((await t.api('/api/v1/prompts/..%2Fetc')).status, 400);

    assert.equal((await upload('test-prompt-bad', wav, { token: 'nope-nope-nope-nope' })).status, 401);
    assert.equal((await t.api('/api/v1/prompts', { token: null })).status, 401);
    assert.equal((await upload('test-prompt-bad', wav, { token: supervisorToken })).status, 403);
    assert.equal((await t.api('/api/v1/prompts', { token: agentToken })).status, 403);
    assert.equal((await download('test-prompt-tone', agentToken)).status, 403);
    assert.equal((await t.api('/api/v1/prompts/no-such-prompt')).status, 404);

    const json = await t.api('/api/v1/prompts?name=test-prompt-bad', { method: 'POST', json: { audio: 'base64…' } });
    assert.equal(json.status, 415);
    assert.deepEqual(json.body.error, {
      code: 'unsupported_media_type',
      message: "send the WAV file itself as the request body with Content-Type: audio/wav (or audio/x-wav); got 'application/json'",
    });
    assert.equal((await upload('test-prompt-bad', wav, { type: 'application/octet-stream' })).status, 415);
    const untyped = await upload('test-prompt-bad', wav, { type: null });
    assert.equal(untyped.status, 415);
    assert.match(untyped.body.error.message, /got no Content-Type/);
    assert.equal(await rowCount('test-prompt-bad'), 0);
  });

  it('says which IVR flows and surveys play a prompt, and refuses to delete it (409, naming them) until none does', async () => {
    assert.equal((await upload('bienvenida', sineWav({ hz: 440, rate: 8000, channels: 1, seconds: 0.5 }))).status, 201);
    const flow = await t.api('/api/v1/ivr-flows', { method: 'POST', json: { name: 'recepcion', document: {
      start: 'hello', nodes: { hello: { type: 'play', media: ['prompt:bienvenida'], next: 'bye' }, bye: { type: 'hangup' } },
    } } });
    assert.equal(flow.status, 201, JSON.stringify(flow.body));
    const survey = await t.api('/api/v1/surveys', { method: 'POST', json: { name: 'satisfaccion', document: {
      questions: [{ id: 'q1', prompt: ['prompt:bienvenida'], scale: '1-5' }], thanks: ['sound:auth-thankyou'],
    } } });
    assert.equal(survey.status, 201, JSON.stringify(survey.body));
    const listed = (await t.api('/api/v1/prompts')).body.find((p: { name: string }) => p.name === 'bienvenida');
    assert.deepEqual(listed.usedBy, [{ flowId: flow.body.id, name: 'recepcion' }, { surveyId: survey.body.id, name: 'satisfaccion' }]);
    const refused = await t.api('/api/v1/prompts/bienvenida', { method: 'DELETE' });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.error.message, /the IVR flow recepcion, the survey satisfaccion/);
    await t.api(`/api/v1/surveys/${survey.body.id}`, { method: 'PUT', json: { document: { questions: [{ id: 'q1', prompt: ['sound:x'], scale: '1-5' }], thanks: ['sound:x'] } } });
    assert.ok(existsSync(fileOf('bienvenida')), 'the file stays');
    assert.equal(await rowCount('bienvenida'), 1);
    // A new version that no longer plays it: the prompt may go.
    const changed = await t.api(`/api/v1/ivr-flows/${flow.body.id}`, { method: 'PUT', json: { document: { start: 'bye', nodes: { bye: { type: 'hangup' } } } } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.deepEqual((await t.api('/api/v1/prompts')).body.find((p: { name: string }) => p.name === 'bienvenida').usedBy, []);
    assert.equal((await t.api('/api/v1/prompts/bienvenida', { method: 'DELETE' })).status, 200);
    assert.equal(await rowCount('bienvenida'), 0);
  });

  it('refuses a body over 20 MB with 413, saying how large it is', async () => {
    const res = await upload('test-prompt-bad', Buffer.alloc(21 * 1024 * 1024));
    assert.equal(res.status, 413);
    assert.deepEqual(res.body.error, { code: 'payload_too_large', message: 'the upload is 21.0 MB; a prompt may be at most 20 MB' });
    assert.equal(await rowCount('test-prompt-bad'), 0);
    await waitFor(() => leftovers().length === 0, 1000, 'temporary files left behind');
  });
});
