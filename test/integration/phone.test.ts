/**
 * The test phone against the lab Asterisk (bash scripts/lab.sh up; run as
 * root, the CLI checks use chroot). Audio is judged at the phones, on what
 * each one received over RTP.
 */
import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'node:test';
import { toneLevels, tonesPresent } from '../phones/audio.js';
import { aorContacts, asteriskCli, stasisAppConnected, within } from '../phones/lab.js';
import { waitFor } from '../support/harness.js';
import { TestPhone } from '../phones/sip-phone.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('test phone with the lab Asterisk', () => {
  const phones: TestPhone[] = [];
  const startPhone = async (user: string, password?: string): Promise<TestPhone> => {
    const phone = await TestPhone.start({ user, password });
    phones.push(phone);
    return phone;
  };

  before(async () => {
    const version = await asteriskCli('core show version');
    assert.match(version, /Asterisk 22\./, 'the lab Asterisk is not running: bash scripts/lab.sh up');
  });

  // Closing hangs up, unregisters and frees the ports even when a test failed halfway.
  afterEach(async () => {
    await Promise.allSettled(phones.splice(0).map((phone) => phone.close()));
  });

  it('registers a desk phone, which Asterisk then qualifies, and unregisters it', async () => {
    const phone = await startPhone('1001', 'lab-1001');
    await phone.register();
    // Asterisk sends OPTIONS right after the REGISTER; Avail means the phone answered it.
    await waitFor(
      async () => (await aorContacts('1001')).find((c) => c.uri === phone.contactUri && c.status === 'Avail'),
      5000, `contact ${phone.contactUri} is not Avail in 'pjsip show aor 1001'`,
    );

    await phone.unregister();
    const left = (await aorContacts('1001')).filter((c) => c.uri === phone.contactUri);
    assert.deepEqual(left, [], 'the contact is still listed after unregistering');
  });

  it('stops answering qualify OPTIONS when made unreachable', { timeout: 30_000 }, async () => {
    const phone = await startPhone('1003', 'lab-1003');
    await phone.register();
    await waitFor(async () => (await aorContacts('1003')).find((c) => c.uri === phone.contactUri && c.status === 'Avail'), 5000, '1003 is not Avail');
    phone.setReachable(false);
    // qualify_frequency 5 s + qualify_timeout 3 s.
    await waitFor(async () => (await aorContacts('1003')).find((c) => c.uri === phone.contactUri && c.status === 'Unavail'), 20_000,
      '1003 is not Unavail though it stopped answering OPTIONS');
  });

  it('calls desk phone to desk phone, and each hears the tone the other plays', { timeout: 30_000 }, async () => {
    const caller = await startPhone('1001', 'lab-1001');
    const callee = await startPhone('1002', 'lab-1002');
    await caller.register();
    await callee.register();

    const ringing = callee.waitForIncoming(5000);
    const outgoing = caller.call('1002', { answerTimeoutMs: 10_000 });
    const incoming = await ringing;
    assert.equal(incoming.from.user, '1001');
    const calleeCall = await incoming.answer();
    const callerCall = await within(outgoing, 5000, 'the caller to see the answer');

    callerCall.playTone(440);
    calleeCall.playTone(1000);
    // Media takes a moment to flow both ways through the bridge; measure after that.
    await calleeCall.waitForTone(440, { timeoutMs: 5000 });
    await callerCall.waitForTone(1000, { timeoutMs: 5000 });
    const calleeMark = calleeCall.mark();
    const callerMark = callerCall.mark();
    await sleep(1000);
    const calleeHeard = calleeCall.receivedSince(calleeMark);
    const callerHeard = callerCall.receivedSince(callerMark);
    assert.ok(calleeHeard.length >= 6400, `1002 received only ${calleeHeard.length / 8} ms of audio in 1 s`);
    assert.ok(callerHeard.length >= 6400, `1001 received only ${callerHeard.length / 8} ms of audio in 1 s`);

    const candidates = [440, 1000, 1800];
    assert.deepEqual(tonesPresent(calleeHeard, candidates), [440], `1002 heard levels ${toneLevels(calleeHeard, candidates).map((l) => l.toFixed(3)).join(', ')} at ${candidates.join(', ')} Hz`);
    assert.deepEqual(tonesPresent(callerHeard, candidates), [1000], `1001 heard levels ${toneLevels(callerHeard, candidates).map((l) => l.toFixed(3)).join(', ')} at ${candidates.join(', ')} Hz`);

    await callerCall.hangup();
    assert.deepEqual(await within(callerCall.ended, 1000, "the caller's call to end"), { by: 'local' });
    const calleeEnd = await within(calleeCall.ended, 5000, 'the BYE to reach 1002');
    assert.equal(calleeEnd.by, 'remote');
    assert.equal(calleeEnd.cause, '16', 'normal clearing expected in the Reason header');
  });

  it('carrier call to a DID with no centralita connected hears the no-service prompt, then Asterisk hangs up', { timeout: 30_000 }, async (t) => {
    if (await stasisAppConnected('centralita')) {
      t.skip('a centralita app holds the Stasis app on the lab; this path needs it disconnected');
      return;
    }
    const carrier = await startPhone('600100200');
    const call = await carrier.call('5550000', { answerTimeoutMs: 5000 });
    // ss-noservice is speech: loud frames well above the silence the phone hears otherwise.
    await call.waitForAudio({ since: 0, timeoutMs: 5000, minRms: 500, minMs: 500 });
    const end = await within(call.ended, 20_000, 'Asterisk to hang up after the prompt');
    assert.equal(end.by, 'remote');
    assert.equal(end.cause, '34', 'the dialplan hangs up with cause 34 (no circuit available)');
    assert.ok(call.received().length >= 8000, `only ${call.received().length / 8} ms of audio arrived before the BYE`);
  });
});
