import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AgentStateChange } from '../agents/service.js';
import { fromHost, sessionSecret, tooManyFailures } from '../auth/http.js';
import { bearerToken, type AuthService, type Principal } from '../auth/service.js';
import type { UsersService } from '../auth/users.js';
import type { EventBus } from '../core/events.js';
import type { HttpApp } from '../core/http.js';

export const liveFeedPath = '/api/v1/events';

interface Client { socket: WebSocket; principal: Principal }

/** The token of a WebSocket request: the Authorization header, or ?token= for browsers, which cannot set headers. */
function tokenOf(request: IncomingMessage, url: URL): string | undefined {
  return bearerToken(request.headers.authorization) ?? url.searchParams.get('token') ?? undefined;
}

function refuse(socket: Duplex, status: number, reason: string, { body = { error: { code: reason.toLowerCase().replace(/ /g, '_'), message: reason } } as object, headers = {} as Record<string, string> } = {}): void {
  const text = JSON.stringify(body);
  const more = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  // An upgrade's socket is not read from, and the server allows half-open
  // sockets: after end() it would wait for the client's FIN for ever (a
  // client that reset the connection sends none), and keep the server from
  // closing. Once the answer is handed to the kernel the socket is done.
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${more}Connection: close\r\n\r\n${text}`, () => socket.destroy());
}

/**
 * GET /api/v1/events (WebSocket): every agent state change, queue entry
 * event and monitoring session change as JSON
 * (`{"type":"agent.state"|"queue.entry"|"monitor.session","data":{...}}`) as
 * it happens. Admins and supervisors see everything, an agent token only its
 * own agent's changes and the offers made to it, never monitoring.
 */
export function installLiveFeed(http: HttpApp, bus: EventBus, auth: AuthService, users?: UsersService): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const clients = new Set<Client>();
  const upgrading = new Set<Duplex>();

  http.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Until ws takes the socket over, a client resetting it must not become
    // an unhandled error that ends the process.
    const ignore = (): void => undefined;
    socket.on('error', ignore);
    // Until answered or handed to ws, close() must be able to end it: the
    // server cannot close while such a socket is open.
    upgrading.add(socket);
    socket.once('close', () => upgrading.delete(socket));
    // A request target that is no path (`//`, `//host`) is not a URL relative to a base: refused, not thrown
    // (an exception here, in the server's upgrade listener, would end the process).
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      return refuse(socket, 400, 'Bad Request');
    }
    if (url.pathname !== liveFeedPath) return refuse(socket, 404, 'Not Found');
    const token = tokenOf(request, url);
    // A page signed in with a password: the session cookie, from this site
    // only (another site's page could open a socket with it otherwise).
    const secret = token || !users ? undefined : sessionSecret(request.headers.cookie);
    if (secret && users) {
      const origin = request.headers.origin;
      if (origin !== undefined && !fromHost(origin, request.headers.host)) return refuse(socket, 403, 'Forbidden');
      users.authenticate(secret).then((principal) => (principal ? accept(principal) : refuse(socket, 401, 'Unauthorized')), () => refuse(socket, 503, 'Service Unavailable'));
      return;
    }
    if (!token) return refuse(socket, 401, 'Unauthorized');
    // The same budget of failed authentications per address as the REST API.
    const address = http.clientAddress(request);
    const retryAfter = auth.failures.retryAfter(address);
    if (retryAfter > 0) {
      const locked = tooManyFailures(retryAfter);
      return refuse(socket, locked.status, 'Too Many Requests', locked);
    }
    auth.authenticate(token).then(async (principal) => {
      if (!principal) {
        await auth.countFailure(token, address);
        return refuse(socket, 401, 'Unauthorized');
      }
      accept(principal);
    }, () => refuse(socket, 503, 'Service Unavailable'));

    function accept(principal: Principal): void {
      if (socket.destroyed) return;
      wss.handleUpgrade(request, socket, head, (ws) => {
        socket.off('error', ignore);
        const client = { socket: ws, principal };
        clients.add(client);
        // A page signed in with a password: its feed ends with its session (closed 4001 at the expiry).
        const expires = principal.session ? Date.parse(principal.session.expiresAt) : undefined;
        let expiry: NodeJS.Timeout | undefined;
        const watchExpiry = (): void => {
          if (expires === undefined) return;
          const left = expires - Date.now();
          if (left <= 0) return void ws.close(4001, 'session expired');
          // a timer fires at most 2^31 - 1 ms ahead: longer sessions are looked at again then
          expiry = setTimeout(watchExpiry, Math.min(left, 2 ** 31 - 1)).unref();
        };
        watchExpiry();
        ws.on('close', () => { clearTimeout(expiry); clients.delete(client); });
        ws.on('error', () => clients.delete(client));
        ws.send(JSON.stringify({ type: 'hello', data: { role: principal.role, agentId: principal.agentId } }));
      });
    }
  });

  /** Sends to every client allowed to see it: agents only what concerns them. */
  const broadcast = (type: string, data: { agentId?: string }, supervisorsOnly = false): void => {
    const message = JSON.stringify({ type, data });
    for (const client of clients) {
      if (client.principal.role === 'agent' && (supervisorsOnly || client.principal.agentId !== data.agentId)) continue;
      if (client.socket.readyState === client.socket.OPEN) client.socket.send(message);
    }
  };
  const unsubscribe = bus.on('agent.state', (change: AgentStateChange) => broadcast('agent.state', change));
  const unsubscribeQueues = bus.on('queue.entry', (change) => broadcast('queue.entry', change));
  const unsubscribeCalls = bus.on('queue.call', (change) => broadcast('queue.call', { ...change, agentId: change.agentId ?? undefined }));
  // Monitoring is never shown to agents: they must not know they are heard.
  const unsubscribeMonitor = bus.on('monitor.session', (session) => broadcast('monitor.session', session, true));
  const unsubscribeStats = bus.on('stats.live', (stats) => broadcast('stats.live', stats as { agentId?: string }, true));

  const unsubscribeRevoked = bus.on('token.revoked', ({ tokenId }) => {
    for (const client of clients) if (client.principal.tokenId === tokenId) client.socket.close(4001, 'token revoked');
  });
  // Offboarding closes the sockets straight from the agents' event, not only
  // through token.revoked: that comes after the revoking UPDATE, and if that
  // write fails the sockets would stay open (REST refuses such tokens anyway).
  const unsubscribeOffboarded = bus.on('agent.access.removed', ({ agentId, change }) => {
    for (const client of clients) {
      if (client.principal.agentId !== agentId) continue;
      if (change === 'supervisor_removed' && client.principal.role !== 'supervisor') continue;
      client.socket.close(4001, 'access removed');
    }
  });

  return {
    close() {
      unsubscribe();
      unsubscribeQueues();
      unsubscribeCalls();
      unsubscribeMonitor();
      unsubscribeStats();
      unsubscribeRevoked();
      unsubscribeOffboarded();
      for (const client of clients) client.socket.terminate();
      for (const socket of upgrading) socket.destroy();
      wss.close();
    },
  };
}
