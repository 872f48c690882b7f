import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { AriClient } from '../../src/asterisk/ari.js';
import { createLogger } from '../../src/core/logger.js';
import { waitFor } from '../support/harness.js';

// A stand-in for Asterisk's events socket, to close it in ways a real
// Asterisk rarely does on demand (the Asterisk restart is an integration test).
async function fakeAsterisk(options: { autoPong?: boolean } = {}) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: options.autoPong ?? true });
  await new Promise((resolve) => server.once('listening', resolve));
  const sockets: WebSocket[] = [];
  server.on('connection', (socket) => sockets.push(socket));
  const port = (server.address() as AddressInfo).port;
  const close = (): void => {
    for (const socket of sockets) socket.terminate();
    server.close();
  };
  return { sockets, close, url: `http://127.0.0.1:${port}/ari` };
}

function client(url: string, heartbeatMs = 2000): AriClient {
  return new AriClient({ url, user: 'u', password: 'p', app: 'centralita', heartbeatMs }, createLogger('silent'));
}

describe('ARI events socket', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => { for (const c of cleanups) await c(); });

  it('reopens after a clean close and after an abrupt one, and announces each connection', async () => {
    const fake = await fakeAsterisk();
    const ari = client(fake.url);
    cleanups.push(() => ari.stop(), fake.close);
    let connections = 0;
    ari.onConnected(() => { connections += 1; });
    ari.start();
    await waitFor(() => connections === 1 && ari.state === 'up', 3000, 'first connection');
    fake.sockets[0]!.close(1000, 'bye');
    await waitFor(() => connections === 2, 3000, 'no reconnection after a clean close');
    fake.sockets[1]!.terminate();
    await waitFor(() => connections === 3, 3000, 'no reconnection after an abrupt close');
    assert.equal(ari.state, 'up');
  });

  it('drops a socket that stops answering pings, and reconnects', async () => {
    const fake = await fakeAsterisk({ autoPong: false });
    const ari = client(fake.url, 100);
    cleanups.push(() => ari.stop(), fake.close);
    ari.start();
    await waitFor(() => fake.sockets.length >= 2, 3000, 'a silent socket was not replaced');
  });

  it('steps back when another connection takes the application over', async () => {
    const fake = await fakeAsterisk();
    const ari = client(fake.url);
    cleanups.push(() => ari.stop(), fake.close);
    ari.start();
    await waitFor(() => ari.state === 'up', 3000, 'first connection');
    fake.sockets[0]!.send(JSON.stringify({ type: 'ApplicationReplaced', application: 'centralita', timestamp: new Date().toISOString() }));
    await waitFor(() => ari.state === 'replaced', 3000, 'not marked replaced');
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(fake.sockets.length, 1, 'it must not reconnect and fight for the application');
  });

  it('delivers typed events to subscribers and survives a throwing handler', async () => {
    const fake = await fakeAsterisk();
    const ari = client(fake.url);
    cleanups.push(() => ari.stop(), fake.close);
    const seen: string[] = [];
    ari.on('StasisStart', () => { throw new Error('handler bug'); });
    ari.on('StasisStart', (event) => { seen.push(event.args.join(',')); });
    ari.start();
    await waitFor(() => ari.state === 'up', 3000, 'connection');
    fake.sockets[0]!.send('not json');
    fake.sockets[0]!.send(JSON.stringify({ type: 'StasisStart', args: ['did', '5551'], channel: { id: 'c1' }, application: 'centralita', timestamp: '' }));
    await waitFor(() => seen.length === 1, 3000, 'event not delivered');
    assert.deepEqual(seen, ['did,5551']);
  });
});
