/** The SDP the test phone offers and answers: one audio stream, G.711 plus RFC 4733 events. */
import { PAYLOAD_TYPE, type Codec } from './audio.js';

/** Payload type the phone offers for telephone-event; an answer may pick another. */
export const OFFERED_TELEPHONE_EVENT_PT = 101;

export interface MediaDescription {
  address: string;
  port: number;
  /** Payload types of the m=audio line, in preference order. */
  payloadTypes: number[];
  telephoneEventPt?: number;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
}

export interface LocalSdpInput {
  sessionId: string;
  version: number;
  address: string;
  port: number;
  codecs: readonly Codec[];
  telephoneEventPt?: number;
}

export function buildSdp({ sessionId, version, address, port, codecs, telephoneEventPt }: LocalSdpInput): string {
  const pts = codecs.map((c) => PAYLOAD_TYPE[c]);
  if (telephoneEventPt !== undefined) pts.push(telephoneEventPt);
  const lines = [
    'v=0',
    `o=- ${sessionId} ${version} IN IP4 ${address}`,
    's=centralita-test-phone',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP ${pts.join(' ')}`,
    ...codecs.map((c) => `a=rtpmap:${PAYLOAD_TYPE[c]} ${c}/8000`),
  ];
  if (telephoneEventPt !== undefined) {
    lines.push(`a=rtpmap:${telephoneEventPt} telephone-event/8000`, `a=fmtp:${telephoneEventPt} 0-16`);
  }
  lines.push('a=ptime:20', 'a=sendrecv');
  return `${lines.join('\r\n')}\r\n`;
}

/** The first audio stream of an SDP body. */
export function parseSdp(body: string): MediaDescription {
  let sessionAddress: string | undefined;
  let mediaAddress: string | undefined;
  let port: number | undefined;
  let payloadTypes: number[] = [];
  let telephoneEventPt: number | undefined;
  let direction: MediaDescription['direction'] = 'sendrecv';
  let section: 'session' | 'audio' | 'other' = 'session';
  for (const line of body.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      const m = /^m=(\S+)\s+(\d+)(?:\/\d+)?\s+\S+\s*(.*)$/.exec(line);
      // Only the first audio stream counts; anything after it is ignored.
      if (m?.[1] === 'audio' && port === undefined) {
        section = 'audio';
        port = Number(m[2]);
        payloadTypes = (m[3] ?? '').split(/\s+/).filter((p) => p !== '').map(Number);
      } else {
        section = 'other';
      }
      continue;
    }
    if (section === 'other') continue;
    const connection = /^c=IN IP4 (\S+)/.exec(line);
    if (connection?.[1]) {
      if (section === 'session') sessionAddress = connection[1];
      else mediaAddress = connection[1];
      continue;
    }
    const rtpmap = /^a=rtpmap:(\d+)\s+telephone-event\/8000/i.exec(line);
    if (rtpmap?.[1] && section === 'audio') telephoneEventPt = Number(rtpmap[1]);
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/.exec(line);
    if (dir?.[1]) direction = dir[1] as MediaDescription['direction'];
  }
  const address = mediaAddress ?? sessionAddress;
  if (port === undefined || address === undefined) throw new Error(`SDP without an audio stream:\n${body}`);
  return { address, port, payloadTypes, telephoneEventPt, direction };
}

/** The first codec of the remote list that the phone also allows (the remote's preference wins). */
export function chooseCodec(remote: MediaDescription, allowed: readonly Codec[]): Codec | undefined {
  for (const pt of remote.payloadTypes) {
    const codec = allowed.find((c) => PAYLOAD_TYPE[c] === pt);
    if (codec) return codec;
  }
  return undefined;
}
