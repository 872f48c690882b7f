import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSdp, chooseCodec, parseSdp } from '../phones/sdp.js';
import {
  parseCSeq,
  parseNameAddr,
  parseSipMessage,
  parseSipUri,
  q850Cause,
  serializeSipMessage,
  SipHeaders,
  tagOf,
  topViaBranch,
} from '../phones/sip-message.js';

const crlf = (lines: string[]): string => lines.join('\r\n');

/** An INVITE as Asterisk sends it to a desk phone (captured from the lab). */
const ASTERISK_SDP = crlf([
  'v=0',
  'o=- 1556315599 1556315599 IN IP4 127.0.0.1',
  's=Asterisk',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 12904 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:140',
  'a=sendrecv',
  '',
]);
const ASTERISK_INVITE = crlf([
  'INVITE sip:1002@127.0.0.1:41707 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKPj711af6a5-c6e6-4219-92e8-8e0a125e3c53',
  'From: "Agent 1001" <sip:1001@127.0.0.1>;tag=bac076c6-d30d-43bb-b6bd-12cb04df1e27',
  'To: <sip:1002@127.0.0.1>',
  'Contact: <sip:asterisk@127.0.0.1:5060>',
  'Call-ID: 812ed267-22d0-42c3-a654-4193c77eeb17',
  'CSeq: 32440 INVITE',
  'Content-Type: application/sdp',
  `Content-Length:   ${Buffer.byteLength(ASTERISK_SDP)}`,
  '',
  ASTERISK_SDP,
]);

describe('SIP messages', () => {
  it("parses Asterisk's INVITE", () => {
    const message = parseSipMessage(Buffer.from(ASTERISK_INVITE));
    assert.equal(message.kind, 'request');
    if (message.kind !== 'request') return;
    assert.equal(message.method, 'INVITE');
    assert.equal(message.uri, 'sip:1002@127.0.0.1:41707');
    assert.equal(message.headers.get('call-id'), '812ed267-22d0-42c3-a654-4193c77eeb17');
    assert.deepEqual(parseCSeq(message.headers.require('CSeq')), { seq: 32440, method: 'INVITE' });
    assert.equal(topViaBranch(message), 'z9hG4bKPj711af6a5-c6e6-4219-92e8-8e0a125e3c53');
    assert.equal(message.body, ASTERISK_SDP);
  });

  it('reads compact header names, folded lines, and cuts the body at Content-Length', () => {
    const message = parseSipMessage(
      crlf(['SIP/2.0 180 Ringing', 'v: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKb', 'f: <sip:a@h>;tag=1', 't: <sip:b@h>', ' ;tag=2', 'i: abc', 'l: 3', '', 'xyzEXTRA']),
    );
    assert.equal(message.kind, 'response');
    if (message.kind !== 'response') return;
    assert.equal(message.status, 180);
    assert.equal(message.reason, 'Ringing');
    assert.equal(message.headers.get('Call-ID'), 'abc');
    assert.equal(tagOf(message.headers.require('to')), '2');
    assert.equal(topViaBranch(message), 'z9hG4bKa');
    assert.equal(message.body, 'xyz');
  });

  it('writes a message with a Content-Length that matches the body', () => {
    const text = serializeSipMessage({
      kind: 'response',
      status: 200,
      reason: 'OK',
      headers: new SipHeaders([['CSeq', '1 OPTIONS'], ['Content-Length', '999']]),
      body: 'ñ',
    });
    assert.equal(text, 'SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nContent-Length: 2\r\n\r\nñ');
    assert.throws(() => parseSipMessage('HELLO'), /not a SIP message/);
  });

  it('parses name-addr values with and without angle brackets', () => {
    const quoted = parseNameAddr('"Agent, 1001" <sip:1001@127.0.0.1;transport=udp>;tag=abc;expires=60');
    assert.equal(quoted.displayName, 'Agent, 1001');
    assert.equal(quoted.uri, 'sip:1001@127.0.0.1;transport=udp');
    assert.equal(quoted.params.get('tag'), 'abc');
    assert.equal(quoted.params.get('expires'), '60');
    const bare = parseNameAddr('sip:2001@127.0.0.1:5070;tag=x');
    assert.equal(bare.displayName, undefined);
    assert.equal(bare.uri, 'sip:2001@127.0.0.1:5070');
    assert.equal(bare.params.get('tag'), 'x');
    assert.deepEqual(parseSipUri('sip:2001@127.0.0.1:5070;transport=udp'), { user: '2001', host: '127.0.0.1', port: 5070 });
    assert.deepEqual(parseSipUri('sip:127.0.0.1'), { user: undefined, host: '127.0.0.1', port: undefined });
  });

  it('reads the Q.850 cause of a Reason header', () => {
    const bye = (reason: string): string => crlf(['BYE sip:a@h SIP/2.0', `Reason: ${reason}`, '', '']);
    assert.equal(q850Cause(parseSipMessage(bye('Q.850;cause=34'))), '34');
    assert.equal(q850Cause(parseSipMessage(bye('SIP;cause=200;text="Call completed elsewhere", Q.850;cause=26'))), '26');
    assert.equal(q850Cause(parseSipMessage(bye('SIP;cause=487'))), undefined);
  });
});

describe('SDP', () => {
  it("reads Asterisk's offer", () => {
    assert.deepEqual(parseSdp(ASTERISK_SDP), {
      address: '127.0.0.1',
      port: 12904,
      payloadTypes: [0, 8, 101],
      telephoneEventPt: 101,
      direction: 'sendrecv',
    });
  });

  it('prefers a media-level address, and only the first audio stream', () => {
    const sdp = crlf(['v=0', 'c=IN IP4 10.0.0.1', 'm=audio 4000 RTP/AVP 8 96', 'c=IN IP4 10.0.0.2', 'a=rtpmap:96 telephone-event/8000', 'a=sendonly', 'm=audio 5000 RTP/AVP 0', '']);
    assert.deepEqual(parseSdp(sdp), { address: '10.0.0.2', port: 4000, payloadTypes: [8, 96], telephoneEventPt: 96, direction: 'sendonly' });
    assert.throws(() => parseSdp('v=0\r\n'), /without an audio stream/);
  });

  it('round-trips its own offer and picks codecs in the order of the remote side', () => {
    const offer = parseSdp(buildSdp({ sessionId: '7', version: 1, address: '127.0.0.1', port: 4000, codecs: ['PCMA', 'PCMU'], telephoneEventPt: 101 }));
    assert.deepEqual(offer.payloadTypes, [8, 0, 101]);
    assert.equal(chooseCodec(offer, ['PCMU', 'PCMA']), 'PCMA');
    assert.equal(chooseCodec(offer, ['PCMU']), 'PCMU');
    assert.equal(chooseCodec({ ...offer, payloadTypes: [18] }, ['PCMU', 'PCMA']), undefined);
  });
});
