import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestPhone } from '../phones/sip-phone.js';
import { featureCall as dialFeature } from '../support/feature-call.js';
import { resetDatabase, startTestApp, waitFor, type TestApp } from '../support/harness.js';

const askNumber = 'sound:agent-user';
const askPin = 'sound:agent-pass';
const notNow = 'sound:centralita/agent-not-now';

/**
 * The phone PIN lockout on the lab: wrong PINs keyed on two desk phones lock
 * the agent number for every phone, the lock holds through a restart, and an
 * admin lifts it. Phones 1005 and 1006 (not bound to any agent here).
 */
describe('PIN lockout on the desk phones', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  /** The media of every playback that finished, in order (one feature call at a time). */
  const played: string[] = [];
  let stopWatching: () => void = () => undefined;

  const start = async (config?: TestApp['app']['config']) => {
    t = await startTestApp(config ? { ...config, port: 0 } : {});
    stopWatching = t.app.ari.on('PlaybackFinished', (event) => { played.push(event.playback.media_uri); });
  };
  const deskPhone = async (ext: string): Promise<TestPhone> => {
    const phone = await TestPhone.start({ user: ext, password: `lab-${ext}` });
    phones.push(phone);
    await phone.register();
    return phone;
  };
  /** Dials a code, keys each answer once a prompt is heard, waits for the last prompt and the hang-up; returns what was played to it. */
  const featureCall = async (phone: TestPhone, code: string, answers: string[]): Promise<string[]> => {
    const from = played.length;
    await dialFeature(phone, code, answers);
    // The last PlaybackFinished can arrive a moment after the hang-up reached the phone.
    await waitFor(() => played.length > from, 2000, 'no playback finished');
    return played.slice(from);
  };
  const createAgent = async (number: string) =>
    (await t.api('/api/v1/agents', { method: 'POST', json: { number, name: `Agente ${number}`, pin: '2468' } })).body as { id: string };
  const statusOf = async (id: string): Promise<string> => (await t.api(`/api/v1/agents/${id}/state`)).body.status;
  const locks = async () => (await t.api('/api/v1/security/lockouts')).body as Array<{ id: string; kind: string; subject: string; failures: number; lockedAt: string; until: string }>;

  before(async () => {
    await start();
    await resetDatabase(t.app);
    await t.app.agents.load();
  });
  after(async () => {
    stopWatching();
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
  });

  it('locks an agent number after 5 wrong PINs from two phones; both phones are refused, a restart keeps the lock, an admin clears it', { timeout: 120_000 }, async () => {
    const agent = await createAgent('311');
    const colleague = await createAgent('312');
    const phoneA = await deskPhone('1005');
    const phoneB = await deskPhone('1006');

    // Three wrong PINs on phone A (a call's three tries), two on phone B: no phone has five, the number has.
    await featureCall(phoneA, '*45', ['311#', '1111#', '311#', '1111#', '311#', '1111#']);
    assert.deepEqual(await locks(), []);
    const beforeLock = Date.now();
    // The fifth failure locks 311; the third try on B is refused as soon as the number is keyed.
    const heardB = await featureCall(phoneB, '*45', ['311#', '1111#', '311#', '1111#', '311#']);
    assert.equal(heardB.at(-1), notNow, `phone B should hear "not now" (heard ${heardB.join(', ')})`);
    assert.equal(heardB.filter((m) => m === askPin).length, 2, 'no PIN is asked for a locked number');
    const [lock, ...others] = await locks();
    assert.deepEqual(others, []);
    assert.deepEqual([lock!.kind, lock!.subject, lock!.failures], ['number', '311', 5]);
    assert.ok(Date.parse(lock!.lockedAt) >= beforeLock - 1000, 'the lock counts from the fifth failure, not the first');
    assert.equal(Date.parse(lock!.until) - Date.parse(lock!.lockedAt), 15 * 60_000);

    // A sixth try with the right PIN, from either phone: refused by voice, the PIN never asked.
    for (const phone of [phoneA, phoneB]) {
      assert.deepEqual(await featureCall(phone, '*45', ['311#']), [askNumber, notNow]);
    }
    // The same lock gates the supervisors' monitoring codes.
    assert.deepEqual(await featureCall(phoneA, '*22', ['311#']), [askNumber, notNow]);
    assert.equal(await statusOf(agent.id), 'logged_out');
    // The phones are not locked: another agent checks in on A.
    await featureCall(phoneA, '*45', ['312#', '2468#']);
    assert.equal(await statusOf(colleague.id), 'available');
    await t.api(`/api/v1/agents/${colleague.id}/logout`, { method: 'POST' });

    // Restart: the lock is read back from the database.
    const config = t.app.config;
    stopWatching();
    await t.stop();
    await start(config);
    assert.deepEqual(await locks(), [lock]);
    assert.deepEqual(await featureCall(phoneB, '*45', ['311#']), [askNumber, notNow]);
    assert.equal(await statusOf(agent.id), 'logged_out');

    // An admin lifts it; the right PIN works at once.
    const cleared = await t.api(`/api/v1/security/lockouts/${lock!.id}`, { method: 'DELETE' });
    assert.equal(cleared.status, 200);
    assert.deepEqual(await locks(), []);
    await featureCall(phoneB, '*45', ['311#', '2468#']);
    assert.equal(await statusOf(agent.id), 'available');
    await t.api(`/api/v1/agents/${agent.id}/logout`, { method: 'POST' });
  });

  it('locks a phone after 5 wrong tries with any numbers: it is refused before anything is asked, until an admin clears it', { timeout: 90_000 }, async () => {
    const agent = await createAgent('313');
    const phone = phones.find((p) => p.user === '1005') ?? await deskPhone('1005');
    await featureCall(phone, '*45', ['321#', '1111#', '322#', '1111#', '323#', '1111#']);
    const heard = await featureCall(phone, '*45', ['324#', '1111#', '325#', '1111#']);
    assert.equal(heard.at(-1), notNow, `the fifth failure locks the phone (heard ${heard.join(', ')})`);
    const [lock, ...others] = await locks();
    assert.deepEqual(others, []);
    assert.deepEqual([lock!.kind, lock!.subject, lock!.failures], ['phone', '1005', 5]);
    // Locked: "not now" at once, for check-in and monitoring alike; no number, no PIN.
    assert.deepEqual(await featureCall(phone, '*45', []), [notNow]);
    assert.deepEqual(await featureCall(phone, '*23', []), [notNow]);
    assert.equal((await t.api(`/api/v1/security/lockouts/${lock!.id}`, { method: 'DELETE' })).status, 200);
    await featureCall(phone, '*45', ['313#', '2468#']);
    assert.equal(await statusOf(agent.id), 'available');
    await t.api(`/api/v1/agents/${agent.id}/logout`, { method: 'POST' });
  });
});
