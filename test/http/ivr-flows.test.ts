import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startFastApp, type FastApp } from '../support/fast-harness.js';

/**
 * IVR flows refused at save (no call needed): every problem listed, the
 * lookup policy and the queue names checked. What callers hear is in
 * test/integration/ivr.test.ts.
 */
describe('IVR flows refused at save', () => {
  let t: FastApp;
  /** A server on a loopback address the lookup setting does not allow: it must never be asked. */
  let refusedServer: Server;
  let refusedHits = 0;

  before(async () => {
    // Lookups may reach 127.0.0.1 and nothing else private, as in the lab test.
    t = await startFastApp({ lookupAllow: ['127.0.0.1'] });
    refusedServer = createServer((_req, res) => {
      refusedHits += 1;
      res.end('{"balance": 666}');
    });
    await new Promise<void>((resolve) => refusedServer.listen(0, '127.0.0.2', resolve));
  });
  after(async () => {
    refusedServer?.closeAllConnections();
    refusedServer?.close();
    await t?.stop();
  });

  it('refuses at save a lookup to a refused address and a queue that does not exist, naming the node', async () => {
    const before = (await t.api('/api/v1/ivr-flows')).body.length;
    const refusedPort = (refusedServer.address() as AddressInfo).port;
    const res = await t.api('/api/v1/ivr-flows', {
      method: 'POST',
      json: {
        name: 'refused',
        document: {
          start: 'meta',
          nodes: {
            meta: { type: 'lookup', url: 'http://169.254.169.254/latest/meta-data/', next: 'other', onError: 'other' },
            other: { type: 'lookup', url: `http://127.0.0.2:${refusedPort}/balance`, next: 'ari', onError: 'ari' },
            ari: { type: 'lookup', url: 'http://[::1]:8088/ari/channels', next: 'q', onError: 'q' },
            q: { type: 'queue', queue: 'no-such-queue' },
          },
        },
      },
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.error.problems, [
      'nodes.meta.url is refused: 169.254.169.254 is the cloud metadata address, refused unless CENTRALITA_LOOKUP_ALLOW allows it',
      'nodes.other.url is refused: 127.0.0.2 is a loopback address, refused unless CENTRALITA_LOOKUP_ALLOW allows it',
      'nodes.ari.url is refused: ::1 is a loopback address, refused unless CENTRALITA_LOOKUP_ALLOW allows it',
      'nodes.q.queue names no queue (by id or name): "no-such-queue"',
    ]);
    assert.equal((await t.api('/api/v1/ivr-flows')).body.length, before);
    assert.equal(refusedHits, 0);
  });

  it('refuses an invalid flow listing every problem, and changes nothing', async () => {
    const before = (await t.api('/api/v1/ivr-flows')).body.length;
    const res = await t.api('/api/v1/ivr-flows', {
      method: 'POST',
      json: {
        name: 'broken',
        document: {
          start: 'a',
          nodes: {
            a: { type: 'play', media: ['sound:hello-world'], next: 'b' },
            b: { type: 'say', variable: 'x', as: 'number', next: 'a' },
            c: { type: 'dance' },
            d: { type: 'menu', prompt: ['sound:x'], options: { 1: 'nowhere' } },
          },
        },
      },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_flow');
    const problems: string[] = res.body.error.problems;
    assert.ok(problems.some((p) => /nodes\.c\.type "dance" is not a node type/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /nodes\.d leads to nowhere, which is not a node/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /nodes\.c cannot be reached from start/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /nodes\.d cannot be reached from start/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /nodes a → b → a loop without asking the caller anything/.test(p)), problems.join('\n'));
    const missingPrompt = await t.api('/api/v1/ivr-flows', {
      method: 'POST', json: { name: 'missing prompt', document: { start: 'a', nodes: { a: { type: 'play', media: ['prompt:never-uploaded'] } } } },
    });
    assert.equal(missingPrompt.status, 400);
    assert.deepEqual(missingPrompt.body.error.problems, ['nodes.a plays prompt:never-uploaded, but no prompt by that name was uploaded']);
    assert.equal((await t.api('/api/v1/ivr-flows')).body.length, before);
  });
});
