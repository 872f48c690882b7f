import { Type, type Static } from 'typebox';
import type { AriConnectionState } from '../asterisk/ari.js';
import type { HttpApp } from '../core/http.js';
import type { HaStatus } from '../core/lease.js';
import { Nullable, StringEnum } from '../core/schemas.js';
import type { BuildInfo } from '../core/version.js';

const UpDown = StringEnum(['up', 'down'] as const);

/** The body of GET /health, 200 or 503 alike (the stand-in of src/health/stand-in.ts answers it too). */
export const HealthBody = Type.Object({
  status: StringEnum(['ok', 'degraded'] as const, { description: 'ok when every dependency is up and the recordings disk has room' }),
  ready: Type.Boolean({ description: 'taking calls and requests: the database and ARI are up (the HTTP status is 200; else 503)' }),
  db: UpDown,
  ari: StringEnum(['up', 'down', 'replaced'] as const, { description: 'replaced: another instance took the Stasis application; this one handles no calls' }),
  ami: UpDown,
  pendingWrites: Type.Integer({ description: 'event records waiting for the database' }),
  mediaServers: Type.Optional(Type.Array(Type.Object({
    name: Type.String(),
    state: StringEnum(['up', 'down', 'lost'] as const, { description: 'lost: unreachable past CENTRALITA_MEDIA_SERVER_LOST_SECONDS; its calls were ended' }),
  }), { description: 'with several media servers (docs/scale-out.md): each one; any not up makes the service degraded' })),
  role: Type.Optional(StringEnum(['single', 'leader', 'standby'] as const, {
    description: 'active/standby (docs/ha.md): leader acts on calls; a standby serves reads and is ready while the database is up. single: no HA',
  })),
  recordings: Type.Optional(Nullable(
    Type.Object({ freeBytes: Type.Integer(), totalBytes: Type.Integer(), lowDisk: Type.Boolean() }),
    { description: "the recordings folder's disk; null when it cannot be read (missing folder), which counts as degraded" },
  )),
  starting: Type.Optional(Type.String({ description: 'while starting: what the service waits for (the database, migrations)' })),
  version: Type.String({ description: "package.json's version" }),
  commit: Nullable(Type.String(), { description: 'the git commit built, null when unknown' }),
});
export type HealthBody = Static<typeof HealthBody>;

export const LeaderBody = Type.Object({
  role: StringEnum(['single', 'leader', 'standby'] as const),
  leader: Type.Boolean({ description: 'this instance holds the leader lease now' }),
});

export const LiveBody = Type.Object({
  status: StringEnum(['alive'] as const),
  uptimeSeconds: Type.Integer(),
});

export interface HealthProbes {
  /** Active/standby: the role (a standby is ready without ARI: it serves reads). */
  ha?: HaStatus;
  db: () => Promise<boolean>;
  ari: () => AriConnectionState;
  ami: () => boolean;
  pendingWrites: () => number;
  /** Several media servers: each one's state. */
  mediaServers?: () => { name: string; state: 'up' | 'down' | 'lost' }[];
  /** Room on the recordings folder's disk; low under CENTRALITA_RECORDINGS_MIN_FREE_MB. */
  recordingsDisk?: () => Promise<{ freeBytes: number; totalBytes: number; low: boolean }>;
  build: BuildInfo;
}

/**
 * GET /health, open to anyone who can reach the port (loopback by default):
 * it shows which dependency is down, never any detail that needs a token.
 *
 * Readiness: 503 (same body) while the service cannot do its work — the
 * database unreachable, ARI down, or the Stasis application taken by another
 * instance — so a load balancer or an orchestrator sends nothing to it; 200
 * otherwise. AMI down (phones' states stale) or a low recordings disk make
 * it `degraded` but still ready: calls are answered and queued.
 *
 * GET /health/live is liveness: 200 whenever the process runs and its event
 * loop answers (a blocked loop answers nothing, and the probe times out).
 * Restart on liveness, never on readiness: restarting centralita brings
 * neither Postgres nor Asterisk back.
 */
export function healthRoutes(app: HttpApp, probes: HealthProbes): void {
  app.get('/health', {
    schema: {
      tags: ['health'],
      summary: 'Readiness: 200 when ready, 503 when not (same body)',
      response: { 200: HealthBody, 503: HealthBody },
    },
  }, async (_request, reply) => {
    const db = (await probes.db()) ? 'up' : 'down';
    const ariState = probes.ari();
    const ari = ariState === 'up' || ariState === 'replaced' ? ariState : 'down';
    const ami = probes.ami() ? 'up' : 'down';
    // a disk that cannot be measured is left out of the answer (the metrics log why)
    const disk = probes.recordingsDisk ? await probes.recordingsDisk().catch(() => null) : undefined;
    const recordings = disk && { freeBytes: disk.freeBytes, totalBytes: disk.totalBytes, lowDisk: disk.low };
    const role = probes.ha?.role() ?? 'single';
    const ready = db === 'up' && (ari === 'up' || role === 'standby');
    const mediaServers = probes.mediaServers?.();
    const status = ready && ami === 'up' && recordings !== null && !recordings?.lowDisk && !mediaServers?.some((s) => s.state !== 'up') ? 'ok' : 'degraded';
    const body: HealthBody = {
      status, ready, db, ari, ami, pendingWrites: probes.pendingWrites(), ...(mediaServers ? { mediaServers } : {}), role, ...(recordings === undefined ? {} : { recordings }),
      version: probes.build.version, commit: probes.build.commit,
    };
    return reply.status(ready ? 200 : 503).send(body);
  });

  app.get('/health/leader', {
    schema: {
      tags: ['health'],
      summary: 'For a load balancer or keepalived (docs/ha.md): 200 on the instance that holds the leader lease (or a single instance), 503 elsewhere',
      response: { 200: LeaderBody, 503: LeaderBody },
    },
  }, async (_request, reply) => {
    const role = probes.ha?.role() ?? 'single';
    // A leader whose Stasis application another instance took (cut off from Postgres, not from Asterisk) is no leader.
    const leading = role === 'single' || (role === 'leader' && probes.ha!.held() && probes.ari() !== 'replaced');
    return reply.status(leading ? 200 : 503).send({ role, leader: leading });
  });

  app.get('/health/live', {
    schema: {
      tags: ['health'],
      summary: 'Liveness: 200 while the process runs and its event loop answers',
      response: { 200: LiveBody },
    },
  }, async () => ({ status: 'alive' as const, uptimeSeconds: Math.floor(process.uptime()) }));
}

/** The methods that change nothing: a standby serves them. */
const reads = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A standby (HA) answers every change with 503 `standby`, naming the
 * leader's address; reads are served from its own view of the database.
 */
export function standbyGuard(app: HttpApp, ha: HaStatus): void {
  app.addHook('onRequest', async (request, reply) => {
    if (reads.has(request.method) || ha.role() === 'leader') return;
    const leader = await ha.leaderAddress().catch(() => null);
    return reply.status(503).header('retry-after', '1').send({
      error: { code: 'standby', message: 'this instance is a standby: changes go to the leader', leader },
    });
  });
}
