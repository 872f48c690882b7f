import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { afterEach, describe, it } from 'node:test';
import { decode, encode, sine, tonesPresent } from '../phones/audio.js';
import { RtpSession } from '../phones/rtp.js';

interface Packet {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

function parse(data: Buffer): Packet {
  return {
    marker: ((data[1] ?? 0) & 0x80) !== 0,
    payloadType: (data[1] ?? 0) & 0x7f,
    sequence: data.readUInt16BE(2),
    timestamp: data.readUInt32BE(4),
    ssrc: data.readUInt32BE(8),
    payload: data.subarray(12),
  };
}

function rtpPacket(payloadType: number, sequence: number, timestamp: number, payload: Buffer, { csrcs = 0, extensionWords = -1 } = {}): Buffer {
  const header = Buffer.alloc(12 + 4 * csrcs);
  header[0] = 0x80 | (extensionWords >= 0 ? 0x10 : 0) | csrcs;
  header[1] = payloadType;
  header.writeUInt16BE(sequence, 2);
  header.writeUInt32BE(timestamp, 4);
  header.writeUInt32BE(1234, 8);
  const extension = extensionWords >= 0 ? Buffer.alloc(4 + 4 * extensionWords) : Buffer.alloc(0);
  if (extensionWords >= 0) extension.writeUInt16BE(extensionWords, 2);
  return Buffer.concat([header, extension, payload]);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('RTP session', () => {
  // A fresh far end per test, so late packets of one test never land in the next.
  let farEnd: dgram.Socket;
  let packets: Packet[];
  const openFarEnd = async (): Promise<void> => {
    packets = [];
    farEnd = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => farEnd.bind(0, '127.0.0.1', resolve));
    farEnd.on('message', (data) => packets.push(parse(data)));
  };

  afterEach(() => farEnd.close());

  it('sends a 20 ms frame every 20 ms, continuous in sequence and timestamp, carrying the tone', async () => {
    await openFarEnd();
    const session = await RtpSession.open();
    let elapsedMs: number;
    try {
      session.setRemote({ address: '127.0.0.1', port: farEnd.address().port, codec: 'PCMA' });
      session.playTone(1000);
      const startedAt = performance.now();
      session.start();
      await sleep(500);
      elapsedMs = performance.now() - startedAt;
      session.close();
      await sleep(100);
    } finally {
      session.close();
    }
    // One frame at the start and one per 20 ms after; late timers are caught up, not skipped.
    // Never ahead of the grid; behind it by at most the last timer's lateness, which on a
    // loaded machine (the fast tier runs beside tsc and eslint) reaches about 100 ms.
    const due = Math.floor(elapsedMs / 20) + 1;
    assert.ok(packets.length <= due + 1 && packets.length >= due - 5, `${packets.length} packets in ${elapsedMs.toFixed(0)} ms, ${due} due`);
    packets.forEach((p, i) => {
      assert.equal(p.payloadType, 8);
      assert.equal(p.payload.length, 160);
      if (i === 0) return;
      const previous = packets[i - 1];
      assert.ok(previous);
      assert.equal(p.sequence, (previous.sequence + 1) & 0xffff);
      assert.equal(p.timestamp, (previous.timestamp + 160) >>> 0);
      assert.equal(p.ssrc, previous.ssrc);
    });
    const audio = decode('PCMA', Buffer.concat(packets.map((p) => p.payload)));
    assert.deepEqual(tonesPresent(audio, [440, 1000]), [1000]);
  });

  it('sends RFC 4733 events: start with marker, growing duration, end three times, then audio continues the clock', async () => {
    await openFarEnd();
    const session = await RtpSession.open();
    try {
      session.setRemote({ address: '127.0.0.1', port: farEnd.address().port, codec: 'PCMU', telephoneEventPt: 101 });
      session.start();
      await sleep(60);
      await session.sendDtmf('5#', { durationMs: 60, gapMs: 40, volume: 12 });
      await sleep(60);
    } finally {
      session.close();
    }
    const firstEvent = packets.findIndex((p) => p.payloadType === 101);
    assert.ok(firstEvent > 0, 'audio before the digits');
    const events = packets.filter((p) => p.payloadType === 101);
    const summary = events.map((p) => ({
      event: p.payload[0],
      end: ((p.payload[1] ?? 0) & 0x80) !== 0,
      volume: (p.payload[1] ?? 0) & 0x3f,
      duration: p.payload.readUInt16BE(2),
      marker: p.marker,
    }));
    const digit = (event: number): object[] => [
      { event, end: false, volume: 12, duration: 160, marker: true },
      { event, end: false, volume: 12, duration: 320, marker: false },
      { event, end: true, volume: 12, duration: 480, marker: false },
      { event, end: true, volume: 12, duration: 480, marker: false },
      { event, end: true, volume: 12, duration: 480, marker: false },
    ];
    assert.deepEqual(summary, [...digit(5), ...digit(11)]);

    const five = events.slice(0, 5);
    const hash = events.slice(5);
    assert.ok(five.every((p) => p.timestamp === five[0]?.timestamp), 'one timestamp per event');
    assert.ok(hash.every((p) => p.timestamp === hash[0]?.timestamp), 'one timestamp per event');
    const sequences = packets.map((p) => p.sequence);
    sequences.slice(1).forEach((s, i) => assert.equal(s, ((sequences[i] ?? 0) + 1) & 0xffff, 'sequence numbers never repeat'));

    // 40 ms of audio between the digits, and the clock keeps running underneath the events.
    const between = packets.slice(firstEvent + 5, packets.indexOf(hash[0] as Packet));
    assert.equal(between.length, 2);
    assert.ok(between.every((p) => p.payloadType === 0));
    assert.equal(between[0]?.timestamp, ((five[0]?.timestamp ?? 0) + 5 * 160) >>> 0);
    assert.equal(hash[0]?.timestamp, ((five[0]?.timestamp ?? 0) + 7 * 160) >>> 0);
  });

  it('refuses DTMF when the far end did not negotiate telephone-event', async () => {
    await openFarEnd();
    const session = await RtpSession.open();
    try {
      session.setRemote({ address: '127.0.0.1', port: farEnd.address().port, codec: 'PCMU' });
      session.start();
      await assert.rejects(session.sendDtmf('1'), /telephone-event/);
    } finally {
      session.close();
    }
  });

  it('records received G.711 audio in arrival order and reads received events, ignoring other payloads', async () => {
    await openFarEnd();
    const session = await RtpSession.open();
    const sender = dgram.createSocket('udp4');
    try {
      session.setRemote({ address: '127.0.0.1', port: farEnd.address().port, codec: 'PCMU', telephoneEventPt: 96 });
      const send = (packet: Buffer): Promise<void> =>
        new Promise((resolve, reject) => sender.send(packet, session.port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
      const tone = sine(440, 1600);
      const frames = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => tone.subarray(i * 160, (i + 1) * 160));
      const waitingForTone = session.waitForTone(440, { since: 0, timeoutMs: 2000, windowMs: 100 });
      for (const [i, frame] of frames.entries()) {
        const codec = i % 2 === 0 ? 'PCMU' : 'PCMA';
        await send(rtpPacket(codec === 'PCMU' ? 0 : 8, i, i * 160, encode(codec, frame), { csrcs: i === 3 ? 2 : 0, extensionWords: i === 4 ? 1 : -1 }));
      }
      await waitingForTone;
      await send(rtpPacket(13, 20, 5000, Buffer.from([40])));
      for (const end of [false, true, true, true]) await send(rtpPacket(96, 21, 6000, Buffer.from([7, end ? 0x8a : 0x0a, 0, 160])));
      for (const end of [false, true, true]) await send(rtpPacket(96, 25, 7000, Buffer.from([10, end ? 0x8a : 0x0a, 0, 160])));
      await sleep(50);

      const received = session.received();
      assert.equal(received.length, 1600, 'only the ten audio frames count as audio');
      for (let i = 0; i < received.length; i++) {
        assert.ok(Math.abs((received[i] ?? 0) - (tone[i] ?? 0)) <= 300, `sample ${i}: ${received[i]} for ${tone[i]}`);
      }
      assert.equal(session.receivedDtmf(), '7*');
      const mark = session.mark();
      assert.equal(session.receivedSince(mark).length, 0);
      await assert.rejects(session.waitForAudio({ timeoutMs: 100 }), /no audio above RMS/);
    } finally {
      sender.close();
      session.close();
    }
  });
});
