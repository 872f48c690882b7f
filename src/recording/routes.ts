import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { Principal } from '../auth/service.js';
import type { EventBus } from '../core/events.js';
import { conflict, forbidden, HttpError, notFound } from '../core/errors.js';
import type { HttpApp } from '../core/http.js';
import type { Logger } from '../core/logger.js';
import { DateTime, ErrorBody, IdParams, int4, Matching, Nullable, StringEnum, Uuid } from '../core/schemas.js';
import { openRecording } from './files.js';
import { parseRange } from './range.js';
import { PlaybackTickets } from './tickets.js';
import type { RecordingRow, RecordingsStore, RecordingStatus } from './store.js';

export interface RecordingRoutesDeps {
  store: RecordingsStore;
  recordingsDir: string;
  /** CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS: agent tokens may list and play the recordings of their own calls. */
  agentsHearOwn: boolean;
  logger: Logger;
  bus: EventBus;
  /** Port to the calls capability: the ids of the calls from a number (the list's `caller` filter). */
  callsOfCaller: (callerNumber: string) => Promise<string[]>;
}

const statuses: readonly RecordingStatus[] = ['recording', 'complete', 'missing', 'failed', 'skipped', 'deleted'];

const RecordingView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  callId: Type.String({ format: 'uuid' }),
  queueId: Nullable(Type.String({ format: 'uuid' })),
  agentIds: Type.Array(Type.String({ format: 'uuid' }), { description: 'agents who talked on the call, in order' }),
  status: StringEnum(statuses),
  startedAt: Type.String({ format: 'date-time' }),
  endedAt: Nullable(Type.String({ format: 'date-time' })),
  durationSeconds: Nullable(Type.Number()),
  bytes: Nullable(Type.Integer()),
  sha256: Nullable(Type.String({ description: 'of the whole file, hex' })),
  format: Type.String(),
  pauses: Type.Array(Type.Object({ from: Type.String(), to: Type.String() }), { description: 'paused parts (e.g. card payments): silence in the file' }),
  deletedAt: Nullable(Type.String({ format: 'date-time' })),
  kind: StringEnum(['call', 'survey_comment'] as const, { description: "a call's recording, or a caller's comment at a post-call survey" }),
});

const AuditView = Type.Object({
  id: Type.Integer(),
  action: StringEnum(['playback', 'delete'] as const),
  tokenId: Nullable(Type.String({ description: 'null for the bootstrap admin token and for the system' })),
  role: Type.String({ description: 'admin, supervisor, agent, or system (retention)' }),
  agentId: Nullable(Type.String()),
  detail: Type.Record(Type.String(), Type.Unknown()),
  at: Type.String({ format: 'date-time' }),
});

const Audio = Type.Unsafe<Readable>({ type: 'string', format: 'binary' });

const view = (row: RecordingRow) => ({
  id: row.id,
  callId: row.call_id,
  queueId: row.queue_id,
  agentIds: row.agent_ids,
  status: row.status,
  startedAt: row.started_at.toISOString(),
  endedAt: row.ended_at ? row.ended_at.toISOString() : null,
  durationSeconds: row.duration_seconds,
  bytes: row.bytes,
  sha256: row.sha256,
  format: row.format,
  pauses: row.pauses,
  deletedAt: row.deleted_at ? row.deleted_at.toISOString() : null,
  kind: row.kind,
});

/** Why a recording that is not complete cannot be played, in words. */
const notPlayable: Record<Exclude<RecordingStatus, 'complete' | 'deleted'>, string> = {
  recording: 'the call is still being recorded',
  missing: 'its file was not found when the call ended',
  failed: 'Asterisk could not record it',
  skipped: 'the caller hung up before it could start, so nothing was recorded',
};

/**
 * Recordings: listing, playback with HTTP ranges, and the audit trail.
 * Responses carry ids, never file paths; the file played is the one the
 * database row names, and only inside the recordings folder. Every playback
 * is audited before a byte is sent: no audit, no audio.
 */
export function recordingRoutes(app: HttpApp, deps: RecordingRoutesDeps): void {
  const { store, recordingsDir, agentsHearOwn, logger, bus } = deps;
  const tickets = new PlaybackTickets();
  // A revoked token's tickets die with it (offboarding included).
  const offRevoked = bus.on('token.revoked', ({ tokenId }) => tickets.dropToken(tokenId));
  app.addHook('onClose', async () => offRevoked());

  /** The agent whose recordings an agent token is limited to; null for other roles. */
  function ownAgent(principal: Principal): string | null {
    if (principal.role !== 'agent') return null;
    if (!agentsHearOwn || !principal.agentId) {
      throw forbidden('agent tokens may not hear recordings on this service (CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS is false)');
    }
    return principal.agentId;
  }

  async function recordingFor(id: string, principal: Principal): Promise<RecordingRow> {
    const agentId = ownAgent(principal);
    const row = await store.get(id);
    if (!row) throw notFound('recording');
    if (agentId !== null && !row.agent_ids.includes(agentId)) throw forbidden('an agent token may hear only the recordings of its own calls');
    return row;
  }

  app.post('/api/v1/recordings/:id/ticket', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['recordings'], summary: 'A single-use link to play one recording in a browser',
      description: 'For an <audio> element, which cannot send the Authorization header: the link carries a ticket good for this recording only, '
        + 'to be used within 10 minutes (expiresAt). Its first request starts a series of Range requests from that client address, which lasts '
        + 'while requests follow each other within 30 s; then the ticket is spent. At most 1000 live tickets per token (the oldest dropped). '
        + 'Each request through it is audited as the token\'s playback.',
      params: IdParams, response: { 200: Type.Object({ url: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }), 403: ErrorBody, 404: ErrorBody },
    },
  }, async (request) => {
    const row = await recordingFor(request.params.id, request.principal!);
    return tickets.issue(row.id, request.principal!);
  });

  app.get('/api/v1/recordings', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['recordings'],
      summary: 'Call recordings, newest first',
      description: 'Agent tokens (only when CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS is true) see the recordings of their own calls.',
      querystring: Type.Object({
        from: Type.Optional(DateTime({ description: 'started at or after' })),
        to: Type.Optional(DateTime({ description: 'started before' })),
        agent: Type.Optional(Uuid({ description: 'an agent who talked on the call' })),
        queue: Type.Optional(Uuid()),
        call: Type.Optional(Uuid()),
        caller: Type.Optional(Matching('^\\+?[0-9]{1,32}$', 33, { description: "the caller's number" })),
        kind: Type.Optional(StringEnum(['call', 'survey_comment'] as const, { description: 'only call recordings, or only survey comments' })),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        offset: Type.Integer({ minimum: 0, maximum: int4.maximum, default: 0 }),
      }, { additionalProperties: false }),
      response: { 200: Type.Array(RecordingView), 400: ErrorBody, 403: ErrorBody },
    },
  }, async (request) => {
    const { from, to, agent, queue, call, caller, kind, limit, offset } = request.query;
    const own = ownAgent(request.principal!);
    if (own !== null && agent !== undefined && agent !== own) throw forbidden('an agent token may list only the recordings of its own calls');
    const rows = await store.list({
      from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined,
      agentId: own ?? agent, queueId: queue, callId: call, kind, limit, offset,
      ...(caller ? { callIds: await deps.callsOfCaller(caller) } : {}),
    });
    return rows.map(view);
  });

  app.get('/api/v1/recordings/:id', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: { tags: ['recordings'], summary: 'One call recording', params: IdParams, response: { 200: RecordingView, 403: ErrorBody, 404: ErrorBody } },
  }, async (request) => view(await recordingFor(request.params.id, request.principal!)));

  app.get('/api/v1/recordings/:id/audio', {
    config: { roles: ['admin', 'supervisor', 'agent'], ticket: (request, reply) => tickets.use(request, reply) },
    // A HEAD would run this handler and be audited as a playback.
    exposeHeadRoute: false,
    schema: {
      tags: ['recordings'],
      summary: "A recording's audio (WAV), whole or one byte range",
      description: 'Supports one Range (bytes=a-b, bytes=a-, bytes=-n): 206 with Content-Range, or 416 with Content-Range: bytes */size. '
        + 'Each playback is written to the audit trail first; when that write fails the answer is 503 and nothing is sent. '
        + '409 while the recording is not complete, 410 once retention deleted it.',
      params: IdParams,
      produces: ['audio/wav'],
      response: { 200: Audio, 206: Audio, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 410: ErrorBody, 416: ErrorBody, 503: ErrorBody },
    },
  }, async (request, reply) => {
    const principal = request.principal!;
    const row = await recordingFor(request.params.id, principal);
    if (row.status === 'deleted' || row.deleted_at) {
      throw new HttpError(410, 'gone', `recording ${row.id} was deleted${row.deleted_at ? ` on ${row.deleted_at.toISOString()}` : ''} when its retention ran out`);
    }
    if (row.status !== 'complete') throw conflict(`recording ${row.id} is ${row.status}: ${notPlayable[row.status]}; only a complete recording can be played`);
    if (!row.path) throw new Error(`complete recording ${row.id} has no path`);

    let file: FileHandle;
    try {
      file = await openRecording(recordingsDir, row.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      logger.warn({ recordingId: row.id, path: row.path }, 'recording file missing');
      throw new HttpError(404, 'file_missing', `the file of recording ${row.id} is missing from the recordings folder`);
    }

    let streaming = false;
    try {
      const { size } = await file.stat();
      // Files are never rewritten once complete, so their sha256 is a strong validator.
      const etag = row.sha256 ? `"${row.sha256}"` : undefined;
      const ifRange = request.headers['if-range'];
      const range = ifRange !== undefined && ifRange !== etag ? { kind: 'whole' as const } : parseRange(request.headers.range, size);
      if (range.kind === 'unsatisfiable') {
        return reply.status(416).header('content-range', `bytes */${size}`).send({
          error: { code: 'range_not_satisfiable', message: `the range ${request.headers.range ?? ''} is outside the recording's ${size} bytes` },
        });
      }

      const served = range.kind === 'partial' ? `bytes=${range.start}-${range.end}` : null;
      try {
        await store.audit({
          recording_id: row.id, action: 'playback', token_id: principal.tokenId, role: principal.role, agent_id: principal.agentId,
          detail: { range: served, ip: request.ip },
        });
      } catch (err) {
        logger.error({ err, recordingId: row.id }, 'playback refused: the audit row could not be written');
        throw new HttpError(503, 'audit_unavailable', 'the playback could not be written to the audit trail, so it is refused; try again later');
      }

      void reply.type('audio/wav').header('accept-ranges', 'bytes').header('cache-control', 'no-store')
        .header('content-disposition', `inline; filename="${row.id}.${row.format}"`);
      if (etag) void reply.header('etag', etag);
      streaming = true;
      if (range.kind === 'partial') {
        void reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', range.end - range.start + 1);
        return reply.send(file.createReadStream({ start: range.start, end: range.end }));
      }
      void reply.header('content-length', size);
      return reply.send(file.createReadStream());
    } finally {
      // The read stream closes the file when it ends or is destroyed.
      if (!streaming) await file.close();
    }
  });

  app.get('/api/v1/recordings/:id/audit', {
    config: { roles: ['admin', 'supervisor'] },
    schema: { tags: ['recordings'], summary: "A recording's audit trail: every playback and its deletion", params: IdParams, response: { 200: Type.Array(AuditView), 404: ErrorBody } },
  }, async (request) => {
    const row = await store.get(request.params.id);
    if (!row) throw notFound('recording');
    return (await store.auditOf(row.id)).map((entry) => ({
      id: Number(entry.id), action: entry.action, tokenId: entry.token_id, role: entry.role, agentId: entry.agent_id, detail: entry.detail, at: entry.at.toISOString(),
    }));
  });
}
