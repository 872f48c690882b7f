/** A PCM WAV of a 440 Hz tone (silence unless 16-bit), header built by hand: any rate, channels and format code. */
export function toneWav(rate: number, channels: 1 | 2, bytes: number, { format = 1, bits = 16 } = {}): Buffer {
  const frameBytes = (channels * bits) / 8;
  const frames = Math.floor(bytes / frameBytes);
  const data = Buffer.alloc(frames * frameBytes);
  if (bits === 16) {
    for (let i = 0; i < frames; i++) {
      const v = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
      for (let c = 0; c < channels; c++) data.writeInt16LE(v, (i * channels + c) * 2);
    }
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'latin1');
  header.write('fmt ', 12, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(format, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * frameBytes, 28);
  header.writeUInt16LE(frameBytes, 32);
  header.writeUInt16LE(bits, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** A WAV of a sine tone at any rate, channel count and 16- or 24-bit PCM. */
export function sineWav({ hz, rate, channels, seconds, bits = 16 }: { hz: number; rate: number; channels: 1 | 2; seconds: number; bits?: number }): Buffer {
  const frames = Math.round(rate * seconds);
  const bytes = bits / 8;
  const data = Buffer.alloc(frames * channels * bytes);
  for (let i = 0; i < frames; i++) {
    const sample = Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate));
    for (let c = 0; c < channels; c++) {
      if (bits === 16) data.writeInt16LE(sample, (i * channels + c) * 2);
      else data.writeIntLE(sample * 256, (i * channels + c) * bytes, bytes);
    }
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * channels * bytes, 28);
  header.writeUInt16LE(channels * bytes, 32);
  header.writeUInt16LE(bits, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
