import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { TestPhone } from '../phones/sip-phone.js';
import { greetAndListen, lab, resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';

const labPidFile = `${process.env.CENTRALITA_LAB_CACHE ?? '/var/cache/centralita-lab'}/run/asterisk.pid`;

describe('Asterisk dies and comes back', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
    await routeDid(t, '5552000', greetAndListen, 'first');
    await routeDid(t, '5552001', greetAndListen, 'second');
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    await t?.stop();
    lab('up'); // whatever happened, leave the lab running for the next file
  });

  it('shows ari down within 5 s of a kill, reconnects by itself, closes the calls that died and handles the next call', async () => {
    const caller = await TestPhone.start({ user: '600200300' });
    phones.push(caller);
    await caller.call('5552000');
    const doomed = await waitFor(async () => (await t.api('/api/v1/calls/live')).body[0], 5000, 'the first call is not live');

    process.kill(Number(readFileSync(labPidFile, 'utf8')), 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => (await t.api('/health', { token: null })).body.ari === 'down', 5000, '/health did not show ari down');
    assert.ok(Date.now() - killedAt <= 5000);
    const health = (await t.api('/health', { token: null })).body;
    assert.equal(health.status, 'degraded');
    assert.equal(health.db, 'up');

    lab('up');
    await waitFor(async () => (await t.api('/health', { token: null })).body.ari === 'up', 15_000, 'centralita did not reconnect to ARI');

    const closed = await waitFor(async () => {
      const res = await t.api(`/api/v1/calls/${doomed.id}`);
      return res.body.endedAt ? res.body : undefined;
    }, 5000, 'the call that died with Asterisk was not closed');
    assert.equal(closed.endReason, 'lost');
    assert.deepEqual((await t.api('/api/v1/calls/live')).body, []);

    const next = await TestPhone.start({ user: '600200301' });
    phones.push(next);
    const call = await next.call('5552001');
    await call.waitForAudio({ minMs: 300, timeoutMs: 5000 });
    const live = await waitFor(async () => (await t.api('/api/v1/calls/live')).body[0], 5000, 'the call after the restart is not live');
    assert.equal(live.did, '5552001');
    assert.ok(live.answeredAt);
    await call.hangup();
    await waitFor(async () => (await t.api(`/api/v1/calls/${live.id}`)).body.endReason === 'hangup', 5000, 'the call after the restart was not closed');
    await waitFor(() => t.app.ami.state === 'up', 10_000, 'AMI did not reconnect');
  });
});
