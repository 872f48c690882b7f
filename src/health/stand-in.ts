import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readTls, type TlsFiles } from '../core/http.js';
import type { BuildInfo } from '../core/version.js';
import type { HealthBody } from './routes.js';

export interface StandIn {
  /** The port it listens on (the one asked for, or the one given for 0). */
  port: number;
  /** Still waiting for the database: attempt n failed, the next in delayMs. */
  waitingForDatabase(attempt: number, delayMs: number): void;
  /** The database answers; migrations and loading under way. */
  databaseUp(): void;
  /** Frees the port for the real server. */
  close(): Promise<void>;
}

/**
 * The health endpoints while the service starts, before the real HTTP app
 * exists. Why a stand-in instead of listening first: every capability loads
 * its state from the database (agents, lockouts, the last-known-good
 * reads) before its routes are registered, and Fastify takes no route once
 * it listens; keeping that order intact is simpler and safer than making
 * each capability cope with a database that is not there yet. So main.ts
 * listens with this plain node:http server first (node:https with the
 * real server's certificate when CENTRALITA_TLS_CERT is set) (a second copy started by
 * mistake still fails on the port before it touches anything), answers
 * /health 503 with the same body as the real one (db down, `starting` says
 * what it waits for) and /health/live 200, refuses everything else with 503
 * and Retry-After, and closes it just before the real app listens on the
 * same port (a probe in that moment gets a refused connection, as for any
 * restart).
 */
export async function startStandIn(host: string, port: number, build: BuildInfo, tls?: TlsFiles): Promise<StandIn> {
  let starting = 'waiting for the database';
  let db: 'up' | 'down' = 'down';
  const answer = (request: IncomingMessage, response: ServerResponse): void => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/health/live') return send(response, 200, { status: 'alive', uptimeSeconds: Math.floor(process.uptime()) });
    if (request.method === 'GET' && path === '/health') {
      const body: HealthBody = {
        status: 'degraded', ready: false, db, ari: 'down', ami: 'down', pendingWrites: 0, starting,
        version: build.version, commit: build.commit,
      };
      return send(response, 503, body);
    }
    response.setHeader('retry-after', '5');
    return send(response, 503, { error: { code: 'starting', message: `centralita is starting: ${starting}` } });
  };
  // HTTPS when the real server will be (CENTRALITA_TLS_CERT): probes speak one protocol to the port.
  const server: Server | TlsServer = tls ? createTlsServer(readTls(tls), answer) : createServer(answer);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    waitingForDatabase(attempt, delayMs) {
      starting = `waiting for the database (attempt ${attempt} failed; next in ${Math.round(delayMs / 1000)} s)`;
    },
    databaseUp() {
      db = 'up';
      starting = 'applying migrations and loading';
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}
