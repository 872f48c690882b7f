import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/service.js';

export interface PlaybackTicketOptions {
  /** A ticket not used this long after it was issued expires. */
  firstUseMs?: number;
  /** A series ends when no request has been in flight for this long. */
  idleMs?: number;
  /** A series ends this long after its first request, however busy (an absolute cap). */
  seriesMs?: number;
  /** Live tickets per token; issuing one more drops its oldest. */
  perToken?: number;
  now?: () => number;
}

interface Ticket {
  recordingId: string;
  principal: Principal;
  issuedAt: number;
  /** The client address of the first request: the series is that client's. */
  address?: string;
  /** When the first request came: the series ends `seriesMs` after it. */
  firstUse: number;
  inFlight: number;
  lastEnd: number;
}

/**
 * Playback links for browsers: an <audio> element cannot send the
 * Authorization header, so the link carries a random ticket naming one
 * recording and the principal that asked for it.
 *
 * A ticket is single-use per series of Range requests. An <audio> element
 * asks for a file several times (the first request, each seek, a resume after
 * a pause), all through the same URL, so one request cannot be the unit. The
 * first request starts the series and binds it to that client's address;
 * the series goes on while a request through the ticket is in flight or ended
 * less than `idleMs` (30 s) ago, and at most `seriesMs` (4 hours) after its
 * first request (so requests less than 30 s apart cannot keep a link alive
 * for ever; a response already streaming is not cut, and the page asks for
 * a new ticket as after a long pause), and then the ticket is spent: the same link
 * from a browser history, a proxy log or another address plays nothing. A
 * ticket never used expires `firstUseMs` (10 minutes) after it was issued.
 * The page asks for a new ticket when its player fails (a pause longer than
 * the idle time).
 *
 * At most `perToken` (1000) live tickets per token, the oldest dropped; a
 * revoked token's tickets are dropped (dropToken). In memory only: a restart
 * drops every ticket, and the page asks again.
 */
export class PlaybackTickets {
  private readonly tickets = new Map<string, Ticket>();
  /** Each token's live tickets, oldest first (the bootstrap admin token is ''). */
  private readonly byToken = new Map<string, Set<string>>();
  private readonly firstUseMs: number;
  private readonly idleMs: number;
  private readonly seriesMs: number;
  private readonly perToken: number;
  private readonly now: () => number;

  constructor(options: PlaybackTicketOptions = {}) {
    this.firstUseMs = options.firstUseMs ?? 10 * 60_000;
    this.idleMs = options.idleMs ?? 30_000;
    this.seriesMs = options.seriesMs ?? 4 * 3_600_000;
    this.perToken = options.perToken ?? 1000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.tickets.size;
  }

  issue(recordingId: string, principal: Principal): { url: string; expiresAt: string } {
    const now = this.now();
    for (const [key, t] of this.tickets) if (this.spent(t, now)) this.drop(key);
    const owner = principal.tokenId ?? '';
    let mine = this.byToken.get(owner);
    if (!mine) this.byToken.set(owner, (mine = new Set()));
    while (mine.size >= this.perToken) this.drop(mine.values().next().value!);
    const ticket = randomBytes(24).toString('base64url');
    this.tickets.set(ticket, { recordingId, principal, issuedAt: now, firstUse: 0, inFlight: 0, lastEnd: now });
    mine.add(ticket);
    return { url: `/api/v1/recordings/${recordingId}/audio?ticket=${ticket}`, expiresAt: new Date(now + this.firstUseMs).toISOString() };
  }

  /** The principal a request's ticket stands for, counting the request in the ticket's series until its response ends. */
  use(request: FastifyRequest, reply: FastifyReply): Principal | undefined {
    const key = new URL(request.url, 'http://localhost').searchParams.get('ticket');
    const entry = key ? this.tickets.get(key) : undefined;
    if (!key || !entry) return undefined;
    const now = this.now();
    if (this.spent(entry, now)) {
      this.drop(key);
      return undefined;
    }
    if (entry.recordingId !== (request.params as { id?: string }).id) return undefined;
    // Another client with the same link is refused, without ending the series of the one playing.
    if (entry.address !== undefined && entry.address !== request.ip) return undefined;
    if (entry.address === undefined) entry.firstUse = now;
    entry.address = request.ip;
    entry.inFlight += 1;
    reply.raw.once('close', () => {
      entry.inFlight -= 1;
      entry.lastEnd = this.now();
    });
    return entry.principal;
  }

  dropToken(tokenId: string): void {
    for (const key of this.byToken.get(tokenId) ?? []) this.tickets.delete(key);
    this.byToken.delete(tokenId);
  }

  private spent(t: Ticket, now: number): boolean {
    if (t.address === undefined) return now - t.issuedAt > this.firstUseMs;
    if (now - t.firstUse > this.seriesMs) return true;
    return t.inFlight === 0 && now - t.lastEnd > this.idleMs;
  }

  private drop(key: string): void {
    const t = this.tickets.get(key);
    if (!t) return;
    this.tickets.delete(key);
    const owner = t.principal.tokenId ?? '';
    const mine = this.byToken.get(owner);
    mine?.delete(key);
    if (mine?.size === 0) this.byToken.delete(owner);
  }
}
