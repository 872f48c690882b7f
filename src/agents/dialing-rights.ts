/**
 * Dialing rights: the external numbers an agent may reach, written as the
 * dialplan patterns Asterisk administrators know. A pattern starting with `_`
 * uses X (any digit), Z (1-9), N (2-9), [1-5] or [135] (one of), `.` (one or
 * more more characters) and `!` (zero or more); anything else is a number
 * matched exactly. `+` stands for itself.
 */

/** What the API accepts as one pattern (the schema's check; compileDialPattern is the full one). */
export const dialPatternSyntax = '^(?:\\+?[0-9*#]{1,32}|_\\+?[0-9XZNxzn*#.!\\[\\]-]{1,40})$';

/** The pattern as a regular expression; undefined when it is not a valid pattern (an unclosed [, a . not at the end). */
export function compileDialPattern(pattern: string): RegExp | undefined {
  if (!pattern.startsWith('_')) return /^\+?[0-9*#]{1,32}$/.test(pattern) ? new RegExp(`^${escape(pattern)}$`) : undefined;
  let source = '';
  const body = pattern.slice(1);
  for (let i = 0; i < body.length; i += 1) {
    const c = body[i]!;
    const upper = c.toUpperCase();
    if (upper === 'X') source += '[0-9]';
    else if (upper === 'Z') source += '[1-9]';
    else if (upper === 'N') source += '[2-9]';
    else if (c === '.' || c === '!') {
      // As in Asterisk, a wildcard ends the pattern.
      if (i !== body.length - 1) return undefined;
      source += c === '.' ? '.+' : '.*';
    } else if (c === '[') {
      const close = body.indexOf(']', i);
      const set = body.slice(i + 1, close);
      if (close < 0 || !/^(?:[0-9](?:-[0-9])?)+$/.test(set)) return undefined;
      // A range must go up ([1-5], not [5-1]): a regular expression refuses the other way.
      if ([...set.matchAll(/([0-9])-([0-9])/g)].some(([, from, to]) => from! > to!)) return undefined;
      source += `[${set}]`;
      i = close;
    } else if (/[0-9*#+]/.test(c)) source += escape(c);
    else return undefined;
  }
  return source ? new RegExp(`^${source}$`) : undefined;
}

/** The first pattern that is not valid, if any (the API names it). */
export function invalidDialPattern(patterns: readonly string[]): string | undefined {
  return patterns.find((p) => compileDialPattern(p) === undefined);
}

/** Whether an agent with these rights may reach this number. */
export function mayDial(rights: readonly string[], number: string): boolean {
  return rights.some((p) => compileDialPattern(p)?.test(number) === true);
}

function escape(text: string): string {
  return text.replace(/[*+#]/g, (c) => `\\${c}`);
}
