/** Which bytes of a file a request asked for (RFC 9110 §14), both ends inclusive. */
export type RangeRequest =
  | { kind: 'whole' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

const singleRange = /^bytes=(\d*)-(\d*)$/i;

/**
 * Reads a Range header against a file of `size` bytes. One range only
 * (`bytes=a-b`, `bytes=a-`, `bytes=-n`): players ask for one at a time. A
 * header we do not understand (another unit, several ranges, bad syntax,
 * a-b with b < a) is ignored and the whole file is served, as RFC 9110
 * allows; a well-formed range that starts past the end, a zero-length
 * suffix, or any range of an empty file is unsatisfiable (416).
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const match = singleRange.exec(header.trim());
  if (!match) return { kind: 'whole' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'whole' };

  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }

  const start = Number(first);
  const end = last === '' ? size - 1 : Number(last);
  if (last !== '' && end < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}
