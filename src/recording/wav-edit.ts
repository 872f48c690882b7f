/**
 * The few WAV operations call recordings need. Asterisk's `wav` format is
 * 16-bit linear PCM, 8 kHz, mono; after a crash its header sizes may be
 * stale, so the data runs to the end of the file whatever the header says.
 */
export const sampleRate = 8000;
const bytesPerSample = 2;

/** The PCM data of a recording (from the `data` chunk to the end of the file). */
export function pcmOf(file: Buffer): Buffer {
  if (file.length < 12 || file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  for (let offset = 12; offset + 8 <= file.length;) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    if (id === 'data') {
      const data = file.subarray(offset + 8);
      return data.subarray(0, data.length - (data.length % bytesPerSample));
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error('the WAV has no data chunk');
}

/** A WAV file (16-bit mono 8 kHz) around PCM data, with correct sizes. */
export function wavOf(pcm: Buffer): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * bytesPerSample, 28);
  header.writeUInt16LE(bytesPerSample, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}

export const durationOf = (pcm: Buffer): number => pcm.length / bytesPerSample / sampleRate;

export interface PauseSpan { from: Date; to: Date }

/**
 * Where the paused parts go back in: Asterisk writes nothing while a
 * recording is paused, so each pause becomes silence at the point of the
 * file where it began (its wall-clock offset less the earlier pauses).
 */
export function silenceInserts(startedAt: Date, pauses: PauseSpan[]): { atSample: number; samples: number }[] {
  let pausedBefore = 0;
  return [...pauses].sort((a, b) => a.from.getTime() - b.from.getTime()).map((p) => {
    const atMs = p.from.getTime() - startedAt.getTime() - pausedBefore;
    const lengthMs = Math.max(0, p.to.getTime() - p.from.getTime());
    pausedBefore += lengthMs;
    return { atSample: Math.max(0, Math.round((atMs * sampleRate) / 1000)), samples: Math.round((lengthMs * sampleRate) / 1000) };
  });
}

/** The PCM with silence inserted (positions beyond the end put it at the end). */
export function insertSilence(pcm: Buffer, inserts: { atSample: number; samples: number }[]): Buffer {
  const parts: Buffer[] = [];
  let cursor = 0;
  for (const insert of [...inserts].sort((a, b) => a.atSample - b.atSample)) {
    const at = Math.min(pcm.length, insert.atSample * bytesPerSample);
    parts.push(pcm.subarray(cursor, at), Buffer.alloc(insert.samples * bytesPerSample));
    cursor = at;
  }
  parts.push(pcm.subarray(cursor));
  return Buffer.concat(parts);
}

/** YYYY/MM/DD/<call-id>[-n].wav, by the recording's start in UTC. */
export function datedPath(callId: string, startedAt: Date, attempt = 0): string {
  const d = startedAt.toISOString();
  return `${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${callId}${attempt > 0 ? `-${attempt + 1}` : ''}.wav`;
}
