import { Type } from 'typebox';
import type { HttpApp } from '../core/http.js';

const UpDown = Type.Union([Type.Literal('up'), Type.Literal('down')]);

export interface HealthProbes {
  db: () => Promise<boolean>;
  ari: () => boolean;
  ami: () => boolean;
  pendingWrites: () => number;
  /** Room on the recordings folder's disk; low under CENTRALITA_RECORDINGS_MIN_FREE_MB. */
  recordingsDisk?: () => Promise<{ freeBytes: number; totalBytes: number; low: boolean }>;
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
          recordings: Type.Optional(Type.Union([
            Type.Object({ freeBytes: Type.Integer(), totalBytes: Type.Integer(), lowDisk: Type.Boolean() }),
            Type.Null(),
          ], { description: "the recordings folder's disk; null when it cannot be read (missing folder), which counts as degraded" })),
        }),
      },
    },
  }, async () => {
    const db = (await probes.db()) ? 'up' : 'down';
    const ari = probes.ari() ? 'up' : 'down';
    const ami = probes.ami() ? 'up' : 'down';
    const disk = probes.recordingsDisk ? await probes.recordingsDisk().catch(() => null) : undefined;
    const recordings = disk && { freeBytes: disk.freeBytes, totalBytes: disk.totalBytes, lowDisk: disk.low };
    const status = db === 'up' && ari === 'up' && ami === 'up' && recordings !== null && !recordings?.lowDisk ? 'ok' : 'degraded';
    return { status, db, ari, ami, pendingWrites: probes.pendingWrites(), ...(recordings === undefined ? {} : { recordings }) } as const;
  });
}
