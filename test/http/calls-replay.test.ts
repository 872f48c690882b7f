import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { waitFor } from '../support/harness.js';

/**
 * Calls replayed through the fake ARI (no phone, no Asterisk): what the app
 * asks of Asterisk for a call, and what the API then says of it. What the
 * caller hears is the lab's (test/integration/ivr.test.ts).
 */
describe('calls replayed through the fake ARI', () => {
  let t: FastApp;
  before(async () => { t = await startFastApp(); });
  after(async () => t?.stop());

  it('a DID with no route: answered, told the number is not in service, hung up, and listed with its end', async () => {
    const from = t.ari.requests.length;
    t.ari.stasisStart('replay-1', ['did', '5559000'], { caller: { name: 'Eva', number: '600111222' } });
    await waitFor(() => !t.ari.channels.has('replay-1'), 5000, 'the app did not hang up the unrouted call');
    const asked = t.ari.requests.slice(from).filter((r) => r.path.includes('replay-1') || r.query.eventSource === 'channel:replay-1')
      .map((r) => `${r.method} ${r.path}${r.query.media ? ` ${r.query.media}` : ''}`);
    assert.ok(asked.includes('POST /applications/centralita/subscription'), 'subscribed to the channel for its ChannelDestroyed');
    assert.deepEqual(asked.filter((r) => !r.startsWith('POST /applications')), [
      'POST /channels/replay-1/answer',
      'POST /channels/replay-1/play sound:ss-noservice',
      'DELETE /channels/replay-1',
    ]);
    const call = await waitFor(async () => {
      await t.app.writes.drain();
      const list = (await t.api('/api/v1/calls?limit=5')).body as Array<{ channelId: string; did: string; callerNumber: string; endedAt: string | null }>;
      return list.find((c) => c.channelId === 'replay-1' && c.endedAt);
    }, 5000, 'the call was not listed as ended');
    assert.deepEqual([call.did, call.callerNumber], ['5559000', '600111222']);
  });
});
