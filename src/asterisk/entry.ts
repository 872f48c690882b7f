/**
 * How a channel entered the Stasis application: the dialplan's contract with
 * centralita (see dialplan/centralita-lab.conf). Parsed once at the edge so
 * handlers never read arguments by position.
 */
export type CallEntry =
  | { kind: 'did'; did: string }
  | { kind: 'feature'; code: string }
  /** Anything else: channels centralita makes carry their own kind (`queue-leg`, `recording`…; see StasisRouter). */
  | { kind: 'other'; args: readonly string[] };

export function parseCallEntry(args: readonly string[]): CallEntry {
  const [kind, value] = args;
  if (kind === 'did' && value && /^\+?[0-9]{1,32}$/.test(value)) return { kind: 'did', did: value };
  if (kind === 'feature' && value && /^\*[0-9*#]{1,16}$/.test(value)) return { kind: 'feature', code: value };
  return { kind: 'other', args };
}
