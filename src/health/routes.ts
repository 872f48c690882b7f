import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';

const UpDown = Type.Union([Type.Literal('up'), Type.Literal('down')]);

export interface HealthProbes {
  db: () => Promise<boolean>;
  ari: () => boolean;
  ami: () => boolean;
  pendingWrites: () => number;
}

/**
 * GET /health, open to anyone who can reach the port (loopback by default):
 * it shows which dependency is down, never any detail that needs a token.
 * Always 200 while the process serves, so a container is not restarted
 * because Asterisk is down (a restart would not bring it back).
 */
export function healthRoutes(app: HttpApp, probes: HealthProbes): void {
  app.get('/health', {
    schema: {
      tags: ['health'],
      summary: 'Service health',
      response: {
        200: Type.Object({
          status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
          db: UpDown, ari: UpDown, ami: UpDown,
          pendingWrites: Type.Integer({ description: 'event records waiting for the database' }),
        }),
      },
    },
  }, async () => {
    const db = (await probes.db()) ? 'up' : 'down';
    const ari = probes.ari() ? 'up' : 'down';
    const ami = probes.ami() ? 'up' : 'down';
    const status = db === 'up' && ari === 'up' && ami === 'up' ? 'ok' : 'degraded';
    return { status, db, ari, ami, pendingWrites: probes.pendingWrites() } as const;
  });
}
