/**
 * A SIP test phone for integration tests against the lab Asterisk: desk
 * phones (REGISTER with digest auth, answer qualify OPTIONS, place and
 * receive calls) and the carrier trunk (unauthenticated INVITEs).
 *
 * One UDP socket per phone for SIP and one per call for RTP, all on
 * 127.0.0.1. It speaks only to one SIP server (Asterisk): requests always go
 * there whatever the Request-URI says, and there is no route set handling,
 * which Asterisk (no Record-Route) does not need.
 *
 * Set TEST_PHONE_DEBUG=1 to print every SIP message to stderr.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import type { Codec } from './audio.js';
import { authorizationFor } from './digest.js';
import { RtpSession, type DtmfOptions, type ToneOptions, type WaitForAudioOptions, type WaitForToneOptions } from './rtp.js';
import { buildSdp, chooseCodec, OFFERED_TELEPHONE_EVENT_PT, parseSdp } from './sdp.js';
import {
  newBranch,
  parseCSeq,
  parseNameAddr,
  parseSipMessage,
  parseSipUri,
  q850Cause,
  randomToken,
  serializeSipMessage,
  SipHeaders,
  tagOf,
  topViaBranch,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from './sip-message.js';

const LOCAL_ADDRESS = '127.0.0.1';
const T1_MS = 500;
const T2_MS = 4000;
/** How long a request may go without any answer. Shorter than RFC 3261's 32 s so broken tests fail fast. */
const NO_RESPONSE_TIMEOUT_MS = 8000;
/** How long a response stays cached to answer retransmissions of its request (RFC 3261 Timer J). */
const RESPONSE_CACHE_MS = 32_000;
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY';
const USER_AGENT = 'centralita-test-phone';
const DEBUG = process.env.TEST_PHONE_DEBUG === '1';

export interface SipServer {
  host: string;
  port: number;
}

export interface TestPhoneOptions {
  /** Extension of a desk phone, or any other user for the carrier. */
  user: string;
  /** Digest password; without it, challenges fail the request (the carrier is not challenged). */
  password?: string;
  displayName?: string;
  server?: SipServer;
  /** Registration lifetime; the phone refreshes it at half of what the server grants. */
  registerExpiresSec?: number;
  /** The local UDP port; default any free one (the PSTN emulator listens on a fixed one). */
  port?: number;
}

export interface CallOptions {
  /** How long to wait for an answer before cancelling (CANCEL) and failing. */
  answerTimeoutMs?: number;
  /** Cancels the call attempt (CANCEL) while it rings. */
  signal?: AbortSignal;
  /** Offered in this order; default PCMU then PCMA. */
  codecs?: readonly Codec[];
  /** Extra headers on the INVITE, e.g. a P-Asserted-Identity from the carrier. */
  headers?: Record<string, string>;
  /** Called for each provisional response (100, 180, 183 …). */
  onProgress?: (status: number, reason: string) => void;
}

export interface AnswerOptions {
  /** Codecs the phone accepts, in its order of preference; the offer's order decides. */
  codecs?: readonly Codec[];
}

export interface CallEnd {
  by: 'remote' | 'local';
  /** Q.850 cause from the Reason header of the BYE or CANCEL, if there was one. */
  cause?: string;
  /** Raw Reason header(s). */
  reason?: string;
}

export interface Party {
  user?: string;
  displayName?: string;
  uri: string;
}

/** A call attempt that ended with a final failure response (or cancellation). */
export class SipCallError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    target: string,
  ) {
    super(`call to ${target} failed: ${status} ${reason}`);
    this.name = 'SipCallError';
  }
}

interface ClientTransaction {
  request: SipRequest;
  key: string;
  provisionalSeen: boolean;
  retransmitTimer?: NodeJS.Timeout;
  timeoutTimer?: NodeJS.Timeout;
  resolve: (response: SipResponse) => void;
  reject: (error: Error) => void;
  onProvisional?: (response: SipResponse) => void;
}

interface CachedResponse {
  text: string;
  expiry: NodeJS.Timeout;
}

/** What a `Call` or `IncomingCall` needs from its phone. */
interface CallHost {
  readonly user: string;
  readonly contact: string;
  send(message: SipMessage): void;
  request(request: SipRequest, opts?: { onProvisional?: (r: SipResponse) => void }): Promise<SipResponse>;
  viaHeader(branch: string): string;
  forget(call: Call): void;
}

function partyOf(headerValue: string): Party {
  const addr = parseNameAddr(headerValue);
  let user: string | undefined;
  try {
    user = parseSipUri(addr.uri).user;
  } catch {
    user = undefined;
  }
  return { user, displayName: addr.displayName, uri: addr.uri };
}

function endFromMessage(message: SipMessage): CallEnd {
  const reasons = message.headers.getAll('reason');
  return { by: 'remote', cause: q850Cause(message), reason: reasons.length > 0 ? reasons.join(', ') : undefined };
}

/** A response to `request`, copying the headers RFC 3261 §8.2.6 says to copy. */
function responseTo(request: SipRequest, status: number, reason: string, toTag?: string): SipResponse {
  const headers = new SipHeaders();
  for (const via of request.headers.getAll('via')) headers.add('Via', via);
  headers.add('From', request.headers.require('from'));
  const to = request.headers.require('to');
  headers.add('To', toTag !== undefined && tagOf(to) === undefined ? `${to};tag=${toTag}` : to);
  headers.add('Call-ID', request.headers.require('call-id'));
  headers.add('CSeq', request.headers.require('cseq'));
  // A proxy on the way (Kamailio, in the scale-out lab) stays on the dialog's path (RFC 3261 12.1.1).
  for (const route of request.headers.getAll('record-route')) headers.add('Record-Route', route);
  headers.add('User-Agent', USER_AGENT);
  return { kind: 'response', status, reason, headers, body: '' };
}

interface DialogState {
  direction: 'outgoing' | 'incoming';
  callId: string;
  /** Our side as it appears in From of our requests (with our tag). */
  localHeader: string;
  /** The far side as it appears in To of our requests (with its tag). */
  remoteHeader: string;
  /** Where in-dialog requests go: the far side's Contact. */
  remoteTarget: string;
  /** The last CSeq number we used in this dialog. */
  localCSeq: number;
  localSdp: string;
  /** The ACK that confirmed an outgoing call, resent if the 200 OK is retransmitted. */
  ack?: SipRequest;
}

/**
 * An established call (dialog + RTP). Audio methods act on the phone's own
 * RTP stream: what it sends and what it received.
 */
export class Call {
  readonly ended: Promise<CallEnd>;
  readonly direction: 'outgoing' | 'incoming';
  readonly callId: string;
  private resolveEnded!: (end: CallEnd) => void;
  private endedWith: CallEnd | undefined;
  /** @internal */
  readonly dialog: DialogState;

  /** @internal created by TestPhone */
  constructor(
    private readonly host: CallHost,
    dialog: DialogState,
    readonly media: RtpSession,
  ) {
    this.dialog = { ...dialog };
    this.direction = dialog.direction;
    this.callId = dialog.callId;
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }

  get remoteParty(): Party {
    return partyOf(this.dialog.remoteHeader);
  }

  get codec(): Codec {
    const codec = this.media.codec;
    if (!codec) throw new Error('call has no negotiated codec');
    return codec;
  }

  get isActive(): boolean {
    return this.endedWith === undefined;
  }

  playTone(hz: number, options?: ToneOptions): void {
    this.media.playTone(hz, options);
  }

  stopTone(): void {
    this.media.stopTone();
  }

  sendDtmf(digits: string, options?: DtmfOptions): Promise<void> {
    return this.media.sendDtmf(digits, options);
  }

  received(): Int16Array {
    return this.media.received();
  }

  mark(): number {
    return this.media.mark();
  }

  receivedSince(mark: number): Int16Array {
    return this.media.receivedSince(mark);
  }

  receivedDtmf(): string {
    return this.media.receivedDtmf();
  }

  waitForAudio(options?: WaitForAudioOptions): Promise<number> {
    return this.media.waitForAudio(options);
  }

  waitForTone(hz: number, options?: WaitForToneOptions): Promise<void> {
    return this.media.waitForTone(hz, options);
  }

  /** Sends BYE and waits for its answer; a call already ended is left alone. */
  async hangup(): Promise<void> {
    if (this.endedWith) return;
    this.finish({ by: 'local' });
    const bye = this.inDialogRequest('BYE');
    try {
      await this.host.request(bye);
    } catch {
      // The call is over for us either way; a lost BYE only leaves Asterisk to time out.
    }
  }

  /**
   * The phone's HOLD key: a re-INVITE offering `sendonly` (RFC 3264 §8.4),
   * as desk phones do. `unhold` offers `sendrecv` again. Resolves once the
   * re-INVITE is answered and ACKed.
   */
  hold(): Promise<void> {
    return this.reinvite('sendonly');
  }

  unhold(): Promise<void> {
    return this.reinvite('sendrecv');
  }

  /**
   * The phone's TRANSFER key: REFER to `target` (an extension: blind), or
   * with `replaces` another call of this phone (attended: RFC 3891 Replaces
   * naming that call's dialog). Resolves with the REFER's final status.
   */
  async refer(target: string | Call): Promise<number> {
    const request = this.inDialogRequest('REFER');
    const host = /@([^;>]+)/.exec(this.dialog.remoteTarget)?.[1] ?? '127.0.0.1';
    let referTo: string;
    if (typeof target === 'string') referTo = `<sip:${target}@${host}>`;
    else {
      const d = target.dialog;
      const toTag = /;tag=([^;>\s]+)/.exec(d.remoteHeader)?.[1] ?? '';
      const fromTag = /;tag=([^;>\s]+)/.exec(d.localHeader)?.[1] ?? '';
      const replaces = encodeURIComponent(`${d.callId};to-tag=${toTag};from-tag=${fromTag}`);
      referTo = `<${d.remoteTarget}?Replaces=${replaces}>`;
    }
    request.headers.add('Refer-To', referTo).add('Referred-By', `<sip:${this.host.user}@${host}>`);
    return (await this.host.request(request)).status;
  }

  private async reinvite(direction: 'sendonly' | 'sendrecv'): Promise<void> {
    const { dialog } = this;
    dialog.localSdp = dialog.localSdp
      .replace(/^(o=\S+ \S+ )(\d+)/m, (_m, head: string, version: string) => `${head}${Number(version) + 1}`)
      .replace(/^a=(sendrecv|sendonly|recvonly|inactive)$/m, `a=${direction}`);
    const invite = this.inDialogRequest('INVITE');
    invite.headers.add('Content-Type', 'application/sdp');
    invite.body = dialog.localSdp;
    const response = await this.host.request(invite);
    if (response.status < 200 || response.status >= 300) throw new Error(`re-INVITE (${direction}) answered ${response.status}`);
    const ack = this.inDialogRequest('ACK');
    // The ACK of a 2xx takes the INVITE's CSeq number (RFC 3261 §13.2.2.4).
    dialog.localCSeq -= 1;
    ack.headers.set('CSeq', `${dialog.localCSeq} ACK`);
    this.host.send(ack);
  }

  /** @internal */
  resendAck(): void {
    if (this.dialog.ack) this.host.send(this.dialog.ack);
  }

  /** @internal a request from the far side within this dialog. */
  onRequest(request: SipRequest, respond: (response: SipResponse) => void): void {
    switch (request.method) {
      case 'BYE':
        respond(responseTo(request, 200, 'OK'));
        this.finish(endFromMessage(request));
        return;
      case 'INVITE':
      case 'UPDATE': {
        const contact = request.headers.get('contact');
        if (contact) this.dialog.remoteTarget = parseNameAddr(contact).uri;
        if (request.body.trim() !== '') {
          const offer = parseSdp(request.body);
          const codec = chooseCodec(offer, [this.codec]) ?? this.codec;
          this.media.setRemote({ address: offer.address, port: offer.port, codec, telephoneEventPt: offer.telephoneEventPt });
        }
        const ok = responseTo(request, 200, 'OK');
        ok.headers.add('Contact', this.host.contact);
        // The session does not change, so the same SDP (same version) answers any offer;
        // an offer-less re-INVITE gets it as our offer. An UPDATE without SDP gets none.
        if (request.method === 'INVITE' || request.body.trim() !== '') {
          ok.headers.add('Content-Type', 'application/sdp');
          ok.body = this.dialog.localSdp;
        }
        respond(ok);
        return;
      }
      case 'ACK':
        return;
      default:
        respond(responseTo(request, 200, 'OK'));
    }
  }

  /** @internal */
  finish(end: CallEnd): void {
    if (this.endedWith) return;
    this.endedWith = end;
    this.media.close();
    this.host.forget(this);
    this.resolveEnded(end);
  }

  private inDialogRequest(method: string): SipRequest {
    const { dialog } = this;
    dialog.localCSeq++;
    const headers = new SipHeaders()
      .add('Via', this.host.viaHeader(newBranch()))
      .add('Max-Forwards', '70')
      .add('From', dialog.localHeader)
      .add('To', dialog.remoteHeader)
      .add('Call-ID', dialog.callId)
      .add('CSeq', `${dialog.localCSeq} ${method}`)
      .add('Contact', this.host.contact)
      .add('User-Agent', USER_AGENT);
    return { kind: 'request', method, uri: dialog.remoteTarget, headers, body: '' };
  }
}

/** An INVITE ringing on the phone, to answer or reject. */
export class IncomingCall {
  readonly from: Party;
  readonly to: Party;
  /** Resolves if the caller gives up (CANCEL) before the call is answered or rejected. */
  readonly cancelled: Promise<CallEnd>;
  private resolveCancelled!: (end: CallEnd) => void;
  private state: 'ringing' | 'answering' | 'answered' | 'rejected' | 'cancelled' = 'ringing';
  /** Once a final response went out, a CANCEL no longer changes anything (RFC 3261 §9.2). */
  private finalSent = false;
  private readonly localTag = randomToken();
  private ackWaiter: (() => void) | undefined;
  private stopWaitingForAck: ((why: string) => void) | undefined;
  private okRetransmitTimer: NodeJS.Timeout | undefined;

  /** @internal created by TestPhone */
  constructor(
    private readonly host: CallHost,
    /** The INVITE as received, for tests that look at its headers. */
    readonly invite: SipRequest,
    private readonly respond: (response: SipResponse) => void,
    private readonly onAnswered: (call: Call) => void,
  ) {
    this.from = partyOf(invite.headers.require('from'));
    this.to = partyOf(invite.headers.require('to'));
    this.cancelled = new Promise((resolve) => {
      this.resolveCancelled = resolve;
    });
  }

  get isRinging(): boolean {
    return this.state === 'ringing';
  }

  /** @internal sends 180 Ringing. */
  ring(): void {
    const ringing = responseTo(this.invite, 180, 'Ringing', this.localTag);
    ringing.headers.add('Contact', this.host.contact);
    this.respond(ringing);
  }

  /** Answers with 200 OK and SDP; resolves once Asterisk's ACK confirms the call. */
  async answer({ codecs = ['PCMU', 'PCMA'] }: AnswerOptions = {}): Promise<Call> {
    if (this.state !== 'ringing') throw new Error(`cannot answer a call that is ${this.state}`);
    const offer = parseSdp(this.invite.body);
    const codec = chooseCodec(offer, codecs);
    if (!codec) {
      await this.reject(488, 'Not Acceptable Here');
      throw new Error(`no common codec in the offer (payload types ${offer.payloadTypes.join(' ')})`);
    }
    this.state = 'answering';
    const media = await RtpSession.open(LOCAL_ADDRESS);
    if (this.state !== 'answering') {
      media.close();
      throw new Error(`call from ${this.from.uri} was cancelled while being answered`);
    }
    media.setRemote({ address: offer.address, port: offer.port, codec, telephoneEventPt: offer.telephoneEventPt });
    const localSdp = buildSdp({
      sessionId: String(randomInt(1, 2 ** 31)),
      version: 1,
      address: LOCAL_ADDRESS,
      port: media.port,
      codecs: [codec],
      telephoneEventPt: offer.telephoneEventPt,
    });
    const ok = responseTo(this.invite, 200, 'OK', this.localTag);
    ok.headers.add('Contact', this.host.contact).add('Allow', ALLOW).add('Content-Type', 'application/sdp');
    ok.body = localSdp;

    const acked = new Promise<void>((resolve) => {
      this.ackWaiter = resolve;
    });
    this.finalSent = true;
    this.respond(ok);
    // Over UDP the 200 OK is resent until the ACK arrives (RFC 3261 Timer G).
    let interval = T1_MS;
    const retransmit = (): void => {
      this.respond(ok);
      interval = Math.min(interval * 2, T2_MS);
      this.okRetransmitTimer = setTimeout(retransmit, interval);
    };
    this.okRetransmitTimer = setTimeout(retransmit, interval);
    let noAck: NodeJS.Timeout | undefined;
    const notConfirmed = new Promise<string>((resolve) => {
      noAck = setTimeout(() => resolve(`no ACK within ${NO_RESPONSE_TIMEOUT_MS} ms`), NO_RESPONSE_TIMEOUT_MS);
      this.stopWaitingForAck = resolve;
    });
    const outcome = await Promise.race([acked.then(() => undefined), notConfirmed]);
    clearTimeout(noAck);
    clearTimeout(this.okRetransmitTimer);
    if (outcome !== undefined) {
      media.close();
      throw new Error(`answered call from ${this.from.uri} was not confirmed: ${outcome}`);
    }
    this.state = 'answered';
    const call = new Call(
      this.host,
      {
        direction: 'incoming',
        callId: this.invite.headers.require('call-id'),
        localHeader: ok.headers.require('to'),
        remoteHeader: this.invite.headers.require('from'),
        remoteTarget: parseNameAddr(this.invite.headers.get('contact') ?? `<${this.invite.uri}>`).uri,
        localCSeq: 0,
        localSdp,
      },
      media,
    );
    this.onAnswered(call);
    media.start();
    return call;
  }

  /** Rejects with a final response (486 Busy Here by default). */
  async reject(status = 486, reason = status === 486 ? 'Busy Here' : 'Rejected'): Promise<void> {
    if (this.state !== 'ringing') throw new Error(`cannot reject a call that is ${this.state}`);
    this.state = 'rejected';
    this.finalSent = true;
    this.respond(responseTo(this.invite, status, reason, this.localTag));
  }

  /** @internal the ACK for our 200 OK (or for a failure response, which needs nothing). */
  onAck(): void {
    this.ackWaiter?.();
  }

  /** @internal */
  onCancel(cancel: SipRequest): void {
    if (this.finalSent) return;
    this.state = 'cancelled';
    this.finalSent = true;
    this.respond(responseTo(this.invite, 487, 'Request Terminated', this.localTag));
    this.resolveCancelled(endFromMessage(cancel));
  }

  /** @internal the phone is closing with the call still ringing. */
  abandon(): void {
    this.stopWaitingForAck?.('the phone closed');
    if (this.state === 'ringing') void this.reject(480, 'Temporarily Unavailable');
  }
}

export class TestPhone implements CallHost {
  readonly user: string;
  private readonly password: string | undefined;
  private readonly displayName: string | undefined;
  private readonly server: SipServer;
  private readonly registerExpiresSec: number;
  private readonly socket: dgram.Socket;
  readonly port: number;

  private reachable = true;
  private closed = false;
  private closing: Promise<void> | undefined;
  private registered = false;
  private registerTimer: NodeJS.Timeout | undefined;
  private registerCSeq = 0;
  private readonly registerCallId = randomToken(12);
  private readonly registerFromTag = randomToken();

  private readonly transactions = new Map<string, ClientTransaction>();
  private readonly responseCache = new Map<string, CachedResponse>();
  private readonly calls = new Map<string, Call>();
  /** Ringing calls by the branch of their INVITE (CANCEL carries the same branch). */
  private readonly ringing = new Map<string, IncomingCall>();
  private readonly incomingQueue: IncomingCall[] = [];
  private readonly incomingWaiters: Array<{ resolve: (call: IncomingCall) => void; reject: (error: Error) => void }> = [];

  private constructor(socket: dgram.Socket, options: TestPhoneOptions) {
    this.socket = socket;
    this.port = socket.address().port;
    this.user = options.user;
    this.password = options.password;
    this.displayName = options.displayName;
    this.server = options.server ?? { host: '127.0.0.1', port: 5060 };
    this.registerExpiresSec = options.registerExpiresSec ?? 120;
    socket.on('message', (data) => this.onDatagram(data));
  }

  static async start(options: TestPhoneOptions): Promise<TestPhone> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 0, LOCAL_ADDRESS, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (error) => {
      if (DEBUG) console.error(`[phone] socket error: ${error.message}`);
    });
    return new TestPhone(socket, options);
  }

  get contact(): string {
    return `<sip:${this.user}@${LOCAL_ADDRESS}:${this.port}>`;
  }

  /** Our address of record, as Asterisk's AOR contact shows it. */
  get contactUri(): string {
    return `sip:${this.user}@${LOCAL_ADDRESS}:${this.port}`;
  }

  private get fromUri(): string {
    return `sip:${this.user}@${this.server.host}`;
  }

  private get fromHeaderValue(): string {
    const name = this.displayName === undefined ? '' : `"${this.displayName.replace(/"/g, '')}" `;
    return `${name}<${this.fromUri}>`;
  }

  viaHeader(branch: string): string {
    return `SIP/2.0/UDP ${LOCAL_ADDRESS}:${this.port};rport;branch=${branch}`;
  }

  /** REGISTER (answering the digest challenge) and keep the registration refreshed. */
  async register(): Promise<void> {
    const granted = await this.sendRegister(this.registerExpiresSec);
    this.registered = true;
    clearTimeout(this.registerTimer);
    this.registerTimer = setTimeout(() => {
      this.register().catch((error: unknown) => {
        console.error(`[phone ${this.user}] registration refresh failed: ${String(error)}`);
      });
    }, Math.max(1, granted / 2) * 1000);
  }

  /** REGISTER with Expires: 0, removing the phone's contact. */
  async unregister(): Promise<void> {
    clearTimeout(this.registerTimer);
    this.registerTimer = undefined;
    this.registered = false;
    await this.sendRegister(0);
  }

  /** An unreachable phone ignores every request, like a phone that lost power: qualify OPTIONS and INVITEs time out. */
  setReachable(reachable: boolean): void {
    this.reachable = reachable;
  }

  private async sendRegister(expires: number): Promise<number> {
    const registrar = `sip:${this.server.host}:${this.server.port}`;
    const build = (authorization?: [string, string]): SipRequest => {
      const headers = new SipHeaders()
        .add('Via', this.viaHeader(newBranch()))
        .add('Max-Forwards', '70')
        .add('From', `${this.fromHeaderValue};tag=${this.registerFromTag}`)
        .add('To', `<${this.fromUri}>`)
        .add('Call-ID', this.registerCallId)
        .add('CSeq', `${++this.registerCSeq} REGISTER`)
        .add('Contact', this.contact)
        .add('Expires', String(expires))
        .add('Allow', ALLOW)
        .add('User-Agent', USER_AGENT);
      if (authorization) headers.add(...authorization);
      return { kind: 'request', method: 'REGISTER', uri: registrar, headers, body: '' };
    };
    let response = await this.request(build());
    if (response.status === 401 || response.status === 407) {
      response = await this.request(build(this.authorization(response, 'REGISTER', registrar)));
    }
    if (response.status < 200 || response.status >= 300) {
      throw new Error(`REGISTER ${this.user} (expires ${expires}) failed: ${response.status} ${response.reason}`);
    }
    const contact = response.headers.getAll('contact').map(parseNameAddr).find((c) => c.uri === this.contactUri);
    return Number(contact?.params.get('expires') ?? response.headers.get('expires') ?? expires);
  }

  private authorization(challenge: SipResponse, method: string, uri: string): [string, string] {
    if (this.password === undefined) {
      throw new Error(`${method} from ${this.user} was challenged (${challenge.status}) but the phone has no password`);
    }
    const proxy = challenge.status === 407;
    const challenges = challenge.headers.getAll(proxy ? 'proxy-authenticate' : 'www-authenticate');
    const value = authorizationFor(challenges, { username: this.user, password: this.password }, method, uri);
    return [proxy ? 'Proxy-Authorization' : 'Authorization', value];
  }

  /**
   * INVITE `target` (an extension/DID, or a full SIP URI) offering
   * PCMU, PCMA and telephone-event. Resolves once answered (ACK sent);
   * rejects with SipCallError on a final failure, on timeout or on abort
   * (the attempt is then CANCELled).
   */
  async call(target: string, options: CallOptions = {}): Promise<Call> {
    const { answerTimeoutMs = 30_000, signal, codecs = ['PCMU', 'PCMA'], headers: extraHeaders = {}, onProgress } = options;
    this.assertOpen();
    const uri = target.startsWith('sip:') ? target : `sip:${target}@${this.server.host}:${this.server.port}`;
    const callId = randomToken(12);
    const fromHeader = `${this.fromHeaderValue};tag=${randomToken()}`;
    const toHeader = `<${uri}>`;
    const media = await RtpSession.open(LOCAL_ADDRESS);
    const localSdp = buildSdp({
      sessionId: String(randomInt(1, 2 ** 31)),
      version: 1,
      address: LOCAL_ADDRESS,
      port: media.port,
      codecs,
      telephoneEventPt: OFFERED_TELEPHONE_EVENT_PT,
    });
    let cseq = 0;
    const buildInvite = (authorization?: [string, string]): SipRequest => {
      const headers = new SipHeaders()
        .add('Via', this.viaHeader(newBranch()))
        .add('Max-Forwards', '70')
        .add('From', fromHeader)
        .add('To', toHeader)
        .add('Call-ID', callId)
        .add('CSeq', `${++cseq} INVITE`)
        .add('Contact', this.contact)
        .add('Allow', ALLOW)
        .add('User-Agent', USER_AGENT)
        .add('Content-Type', 'application/sdp');
      for (const [name, value] of Object.entries(extraHeaders)) headers.add(name, value);
      if (authorization) headers.add(...authorization);
      return { kind: 'request', method: 'INVITE', uri, headers, body: localSdp };
    };

    try {
      let invite = buildInvite();
      let outcome = await this.inviteWithCancel(invite, answerTimeoutMs, signal, onProgress);
      if (outcome.response.status === 401 || outcome.response.status === 407) {
        invite = buildInvite(this.authorization(outcome.response, 'INVITE', uri));
        outcome = await this.inviteWithCancel(invite, answerTimeoutMs, signal, onProgress);
      }
      const { response, gaveUp } = outcome;
      const answered = response.status >= 200 && response.status < 300;
      if (answered) {
        const answer = parseSdp(response.body);
        const codec = chooseCodec(answer, codecs) ?? codecs[0] ?? 'PCMU';
        media.setRemote({ address: answer.address, port: answer.port, codec, telephoneEventPt: answer.telephoneEventPt });
        const ack = this.ackFor(invite, response);
        const call = new Call(
          this,
          { direction: 'outgoing', callId, localHeader: fromHeader, remoteHeader: response.headers.require('to'), remoteTarget: ack.uri, localCSeq: cseq, localSdp, ack },
          media,
        );
        this.calls.set(callId, call);
        this.send(ack);
        if (!gaveUp) {
          if (!chooseCodec(answer, codecs)) {
            await call.hangup();
            throw new Error(`call to ${target}: the answer has none of the offered codecs (${answer.payloadTypes.join(' ')})`);
          }
          media.start();
          return call;
        }
        // Answered just as we cancelled: confirm, then end it at once.
        await call.hangup();
      }
      if (gaveUp) throw new SipCallError(487, `cancelled by the test phone (${gaveUp})`, target);
      throw new SipCallError(response.status, response.reason, target);
    } catch (error) {
      media.close();
      throw error;
    }
  }

  /**
   * One INVITE transaction. On timeout or abort it CANCELs and still waits
   * for the INVITE's final answer, which `gaveUp` then explains.
   */
  private async inviteWithCancel(
    invite: SipRequest,
    answerTimeoutMs: number,
    signal: AbortSignal | undefined,
    onProgress: CallOptions['onProgress'],
  ): Promise<{ response: SipResponse; gaveUp?: string }> {
    const final = this.request(invite, { onProvisional: (r) => onProgress?.(r.status, r.reason) });
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const givenUp = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${answerTimeoutMs} ms`), answerTimeoutMs);
      onAbort = () => resolve('aborted');
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const first = await Promise.race([final, givenUp]);
      if (typeof first !== 'string') return { response: first };
      this.sendCancel(invite);
      return { response: await final, gaveUp: first };
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  private sendCancel(invite: SipRequest): void {
    const cseq = parseCSeq(invite.headers.require('cseq'));
    const headers = new SipHeaders()
      .add('Via', invite.headers.require('via'))
      .add('Max-Forwards', '70')
      .add('From', invite.headers.require('from'))
      .add('To', invite.headers.require('to'))
      .add('Call-ID', invite.headers.require('call-id'))
      .add('CSeq', `${cseq.seq} CANCEL`)
      .add('User-Agent', USER_AGENT);
    this.request({ kind: 'request', method: 'CANCEL', uri: invite.uri, headers, body: '' }).catch(() => undefined);
  }

  /** ACK for a final response to `invite` (RFC 3261 §17.1.1.3 for non-2xx, §13.2.2.4 for 2xx). */
  private ackFor(invite: SipRequest, response: SipResponse): SipRequest {
    const success = response.status >= 200 && response.status < 300;
    const cseq = parseCSeq(invite.headers.require('cseq'));
    const headers = new SipHeaders()
      .add('Via', success ? this.viaHeader(newBranch()) : invite.headers.require('via'))
      .add('Max-Forwards', '70')
      .add('From', invite.headers.require('from'))
      .add('To', response.headers.require('to'))
      .add('Call-ID', invite.headers.require('call-id'))
      .add('CSeq', `${cseq.seq} ACK`)
      .add('User-Agent', USER_AGENT);
    const uri = success ? parseNameAddr(response.headers.get('contact') ?? `<${invite.uri}>`).uri : invite.uri;
    return { kind: 'request', method: 'ACK', uri, headers, body: '' };
  }

  /**
   * Resolves with the next call that rang on this phone, oldest first,
   * including one the caller already cancelled (see `isRinging`, `cancelled`).
   */
  waitForIncoming(timeoutMs = 10_000): Promise<IncomingCall> {
    this.assertOpen();
    const queued = this.incomingQueue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (call: IncomingCall): void => {
          clearTimeout(timer);
          resolve(call);
        },
        reject: (error: Error): void => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const at = this.incomingWaiters.indexOf(waiter);
        if (at !== -1) this.incomingWaiters.splice(at, 1);
        reject(new Error(`no call rang on phone ${this.user} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.incomingWaiters.push(waiter);
    });
  }

  /** Hangs up every call, rejects ringing ones, unregisters if registered, and frees the sockets. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.reachable = true;
    for (const waiter of this.incomingWaiters.splice(0)) waiter.reject(new Error(`phone ${this.user} closed`));
    for (const incoming of this.ringing.values()) incoming.abandon();
    await Promise.allSettled([...this.calls.values()].map((call) => call.hangup()));
    if (this.registered) await this.unregister().catch(() => undefined);
    this.closed = true;
    clearTimeout(this.registerTimer);
    for (const tx of this.transactions.values()) {
      clearTimeout(tx.retransmitTimer);
      clearTimeout(tx.timeoutTimer);
      tx.reject(new Error(`phone ${this.user} closed`));
    }
    this.transactions.clear();
    for (const cached of this.responseCache.values()) clearTimeout(cached.expiry);
    this.responseCache.clear();
    this.socket.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`phone ${this.user} is closed`);
  }

  send(message: SipMessage): void {
    if (this.closed) return;
    const text = serializeSipMessage(message);
    if (DEBUG) console.error(`[phone ${this.user} >>>]\n${text}`);
    this.socket.send(text, this.server.port, this.server.host);
  }

  /**
   * A client transaction: sends, retransmits over UDP (Timers A/E), and
   * resolves with the final response. INVITE failures are ACKed here.
   */
  request(request: SipRequest, { onProvisional }: { onProvisional?: (r: SipResponse) => void } = {}): Promise<SipResponse> {
    if (this.closed) return Promise.reject(new Error(`phone ${this.user} is closed`));
    const branch = topViaBranch(request);
    if (!branch) return Promise.reject(new Error('request without a Via branch'));
    const key = `${branch} ${request.method}`;
    return new Promise((resolve, reject) => {
      const tx: ClientTransaction = {
        request,
        key,
        provisionalSeen: false,
        onProvisional,
        resolve: (response) => {
          this.endTransaction(tx);
          resolve(response);
        },
        reject: (error) => {
          this.endTransaction(tx);
          reject(error);
        },
      };
      this.transactions.set(key, tx);
      this.send(request);
      let interval = T1_MS;
      const retransmit = (): void => {
        // An INVITE stops being resent once anything came back; others go on until the final answer.
        if (request.method === 'INVITE' && tx.provisionalSeen) return;
        this.send(request);
        interval = request.method === 'INVITE' ? interval * 2 : Math.min(interval * 2, T2_MS);
        tx.retransmitTimer = setTimeout(retransmit, interval);
      };
      tx.retransmitTimer = setTimeout(retransmit, interval);
      tx.timeoutTimer = setTimeout(() => {
        if (!tx.provisionalSeen) tx.reject(new Error(`no response to ${request.method} ${request.uri} within ${NO_RESPONSE_TIMEOUT_MS} ms`));
      }, NO_RESPONSE_TIMEOUT_MS);
    });
  }

  private endTransaction(tx: ClientTransaction): void {
    clearTimeout(tx.retransmitTimer);
    clearTimeout(tx.timeoutTimer);
    this.transactions.delete(tx.key);
  }

  forget(call: Call): void {
    this.calls.delete(call.callId);
  }

  private onDatagram(data: Buffer): void {
    if (this.closed) return;
    let message: SipMessage;
    try {
      message = parseSipMessage(data);
    } catch (error) {
      if (DEBUG) console.error(`[phone ${this.user}] unparsable datagram: ${String(error)}`);
      return;
    }
    if (DEBUG) console.error(`[phone ${this.user} <<<]\n${data.toString('utf8')}`);
    try {
      if (message.kind === 'response') this.onResponse(message);
      else if (this.reachable) this.onRequest(message);
    } catch (error) {
      // A malformed message must not crash the test process; it shows up as a missing answer instead.
      console.error(`[phone ${this.user}] could not handle ${message.kind === 'request' ? message.method : message.status}: ${String(error)}`);
    }
  }

  private onResponse(response: SipResponse): void {
    const branch = topViaBranch(response);
    const cseq = parseCSeq(response.headers.require('cseq'));
    const tx = this.transactions.get(`${branch} ${cseq.method}`);
    if (!tx) {
      // A retransmitted 200 OK means our ACK got lost: send it again.
      if (cseq.method === 'INVITE' && response.status >= 200 && response.status < 300) {
        this.calls.get(response.headers.get('call-id') ?? '')?.resendAck();
      }
      return;
    }
    if (response.status < 200) {
      tx.provisionalSeen = true;
      tx.onProvisional?.(response);
      return;
    }
    if (tx.request.method === 'INVITE' && response.status >= 300) this.send(this.ackFor(tx.request, response));
    tx.resolve(response);
  }

  private onRequest(request: SipRequest): void {
    const branch = topViaBranch(request) ?? '';
    const cacheKey = `${branch} ${request.method}`;
    const cached = this.responseCache.get(cacheKey);
    if (cached && request.method !== 'ACK') {
      this.socket.send(cached.text, this.server.port, this.server.host);
      return;
    }
    const respond = (response: SipResponse): void => {
      this.send(response);
      const previous = this.responseCache.get(cacheKey);
      if (previous) clearTimeout(previous.expiry);
      const expiry = setTimeout(() => this.responseCache.delete(cacheKey), RESPONSE_CACHE_MS);
      expiry.unref();
      this.responseCache.set(cacheKey, { text: serializeSipMessage(response), expiry });
    };

    const callId = request.headers.get('call-id') ?? '';
    const toTag = tagOf(request.headers.get('to') ?? '');
    const call = this.calls.get(callId);

    if (request.method === 'ACK') {
      this.ringing.get(branch)?.onAck();
      for (const incoming of this.ringing.values()) {
        if (incoming.invite.headers.get('call-id') === callId) incoming.onAck();
      }
      return;
    }
    if (request.method === 'CANCEL') {
      const incoming = this.ringing.get(branch);
      if (incoming) {
        respond(responseTo(request, 200, 'OK'));
        incoming.onCancel(request);
      } else {
        respond(responseTo(request, 481, 'Call/Transaction Does Not Exist'));
      }
      return;
    }
    if (toTag !== undefined) {
      if (call) call.onRequest(request, respond);
      else respond(responseTo(request, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    switch (request.method) {
      case 'INVITE':
        this.onIncomingInvite(request, branch, respond);
        return;
      case 'OPTIONS': {
        const ok = responseTo(request, 200, 'OK', randomToken());
        ok.headers.add('Allow', ALLOW).add('Accept', 'application/sdp').add('Contact', this.contact);
        respond(ok);
        return;
      }
      case 'NOTIFY':
      case 'MESSAGE':
        respond(responseTo(request, 200, 'OK', randomToken()));
        return;
      default:
        respond(responseTo(request, 405, 'Method Not Allowed', randomToken()));
    }
  }

  private onIncomingInvite(invite: SipRequest, branch: string, respond: (r: SipResponse) => void): void {
    if (invite.body.trim() === '') {
      // Asterisk always offers SDP; an offer-less INVITE is outside what this phone does.
      respond(responseTo(invite, 488, 'Not Acceptable Here (no SDP offer)', randomToken()));
      return;
    }
    respond(responseTo(invite, 100, 'Trying'));
    const incoming = new IncomingCall(this, invite, respond, (call) => {
      this.calls.set(call.callId, call);
    });
    this.ringing.set(branch, incoming);
    // Ringing entries only serve CANCEL and ACK matching; drop them once the transaction is surely over.
    const cleanup = setTimeout(() => this.ringing.delete(branch), 5 * 60_000);
    cleanup.unref();
    incoming.ring();
    const waiter = this.incomingWaiters.shift();
    if (waiter) waiter.resolve(incoming);
    else this.incomingQueue.push(incoming);
  }
}
