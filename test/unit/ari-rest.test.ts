import assert from 'node:assert/strict';
import net, { type AddressInfo, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { AriClient, AriError } from '../../src/asterisk/ari.js';
import { createLogger } from '../../src/core/logger.js';

type Answer = 'ok' | 'json-error' | 'drop';

/**
 * A stand-in for Asterisk's HTTP side, at the TCP level, so it can do what a
 * real Asterisk only does by chance: close a kept-alive connection just as a
 * request arrives on it. `plan` says, per connection, how to treat its
 * 1st, 2nd, … request ('ok' when the plan runs out).
 */
async function fakeRest(plan: Answer[][]) {
  const requests: { connection: number; head: string }[] = [];
  const sockets: Socket[] = [];
  const server = net.createServer((socket) => {
    const connection = sockets.push(socket) - 1;
    let buffer = '';
    let served = 0;
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.slice(0, end);
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        buffer = buffer.slice(end + 4 + length);
        requests.push({ connection, head });
        const answer = plan[connection]?.[served] ?? 'ok';
        served += 1;
        if (answer === 'drop') {
          socket.destroy();
          return;
        }
        const body = answer === 'ok' ? '{"id":"c1"}' : '{"message":"Channel not found"}';
        socket.write(`HTTP/1.1 ${answer === 'ok' ? '200 OK' : '404 Not Found'}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    requests,
    connections: () => sockets.length,
    url: `http://127.0.0.1:${port}/ari`,
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}

describe('ARI REST requests', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => { for (const c of cleanups) await c(); });
  const client = (url: string) => {
    const ari = new AriClient({ url, user: 'u', password: 'p', app: 'centralita', requestTimeoutMs: 2000 }, createLogger('silent'));
    cleanups.push(() => ari.stop());
    return ari;
  };

  it('keeps the connection alive between requests and sends path, query and JSON body', async () => {
    const fake = await fakeRest([]);
    cleanups.push(fake.close);
    const ari = client(fake.url);
    assert.deepEqual(await ari.request('channels.get', { channelId: 'a b' }), { id: 'c1' });
    await ari.request('channels.answer', { channelId: 'c1' });
    assert.equal(fake.connections(), 1, 'the second request reused the first connection');
    assert.match(fake.requests[0]!.head, /^GET \/ari\/channels\/a%20b HTTP\/1\.1/);
    assert.match(fake.requests[0]!.head, /authorization: Basic dTpw/i);
    assert.match(fake.requests[1]!.head, /^POST \/ari\/channels\/c1\/answer HTTP\/1\.1/);
  });

  it('sends a request again, once, when a kept-alive connection was closed as it arrived', async () => {
    const fake = await fakeRest([['ok', 'drop']]);
    cleanups.push(fake.close);
    const ari = client(fake.url);
    await ari.request('channels.get', { channelId: 'c1' });
    assert.deepEqual(await ari.request('channels.get', { channelId: 'c1' }), { id: 'c1' });
    assert.equal(fake.connections(), 2);
    assert.equal(fake.requests.length, 3, 'sent on the old connection, then once on a new one');
  });

  it('does not send again a request whose fresh connection failed, and reports Asterisk\'s own error message', async () => {
    const fake = await fakeRest([['drop'], ['json-error']]);
    cleanups.push(fake.close);
    const ari = client(fake.url);
    await assert.rejects(ari.request('channels.get', { channelId: 'c1' }), (err: unknown) => err instanceof AriError && err.status === 0);
    assert.equal(fake.requests.length, 1);
    await assert.rejects(ari.request('channels.get', { channelId: 'gone' }), (err: unknown) =>
      err instanceof AriError && err.status === 404 && /Channel not found/.test(err.message));
  });

  it('tells onRequest handlers each call\'s operation name (not its URL), time and status, answered or not', async () => {
    const fake = await fakeRest([['ok', 'json-error', 'drop']]);
    cleanups.push(fake.close);
    const ari = client(fake.url);
    const samples: { operation: string; status: number; ok: boolean; seconds: number }[] = [];
    const off = ari.onRequest((sample) => samples.push(sample));
    await ari.request('channels.get', { channelId: 'c1' });
    await ari.request('channels.hangup', { channelId: 'gone' }).catch(() => undefined);
    // The kept-alive connection dropped: sent again on a fresh one (answered 200), one call for the handler.
    await ari.request('channels.answer', { channelId: 'c1' });
    off();
    await ari.request('channels.get', { channelId: 'c1' });
    assert.deepEqual(samples.map(({ operation, status, ok }) => [operation, status, ok]),
      [['channels.get', 200, true], ['channels.hangup', 404, false], ['channels.answer', 200, true]]);
    assert.ok(samples.every((s) => s.seconds > 0 && s.seconds < 2));
    // No answer at all (nothing listens): status 0.
    const refused = client('http://127.0.0.1:1/ari');
    const failures: number[] = [];
    refused.onRequest((sample) => failures.push(sample.status));
    await assert.rejects(refused.request('channels.get', { channelId: 'c1' }), (err: unknown) => err instanceof AriError && err.status === 0);
    assert.deepEqual(failures, [0]);
  });

  it('refuses requests once stopped, sending nothing (a stopped instance must not act on calls its successor took over)', async () => {
    const fake = await fakeRest([]);
    cleanups.push(fake.close);
    const ari = client(fake.url);
    await ari.request('channels.get', { channelId: 'c1' });
    await ari.stop();
    await assert.rejects(ari.request('channels.hangup', { channelId: 'c1' }), (err: unknown) => err instanceof AriError && /stopped/.test(err.message));
    assert.equal(fake.requests.length, 1);
  });
});
