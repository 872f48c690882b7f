import { Type, type TSchema, type TUnsafe } from 'typebox';

/** The one error shape of the API. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    problems: Type.Optional(Type.Array(Type.String(), { description: 'every problem found, when there are several' })),
  }),
});

/**
 * A string from a fixed list, as a JSON-schema enum (a union of literals
 * would make the validator report each literal separately).
 */
export const StringEnum = <T extends string>(values: readonly T[], options: { description?: string } = {}): TUnsafe<T> =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

/** A value or null. */
export const Nullable = <T extends TSchema>(schema: T, options: { description?: string } = {}) => Type.Union([schema, Type.Null()], options);

// ---- Request fields: every value the API takes is bounded here, at the edge,
// so nothing a client sends reaches Postgres or the process in a form they refuse.

/** int4, the type of every integer column. */
export const int4 = { minimum: -2_147_483_648, maximum: 2_147_483_647 } as const;

/**
 * No control characters (U+0000–U+001F, U+007F): Postgres refuses NUL in text
 * and jsonb, and the others only break logs, CSV exports and the web pages.
 */
export const plainTextPattern = '^[^\\u0000-\\u001f\\u007f]*$';
// eslint-disable-next-line no-control-regex -- finding them is the point
const controlCharacter = /[\u0000-\u001f\u007f]/;

/** Free text a person types (names, labels): bounded, without control characters. */
export const Text = (options: { maxLength: number; minLength?: number; description?: string }) =>
  Type.String({ pattern: plainTextPattern, ...options });

/** A string checked by a pattern; the pattern is anchored, maxLength says the bound in the API document too. */
export const Matching = (pattern: string, maxLength: number, options: { description?: string } = {}) =>
  Type.String({ pattern, maxLength, ...options });

export const Uuid = (options: { description?: string } = {}) => Type.String({ format: 'uuid', maxLength: 36, ...options });

/** Path parameters of a route on one thing: `/…/:id`. */
export const IdParams = Type.Object({ id: Uuid() });

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether text is a UUID, before it goes to a uuid column: Postgres refuses
 * anything else with an error where "not found" is the answer.
 */
export const isUuid = (text: string): boolean => uuidPattern.test(text);

/** RFC 3339 date-times that Date and Postgres both take (see isDateTime). */
export const DateTime = (options: { description?: string } = {}) => Type.String({ format: 'date-time', maxLength: 64, ...options });

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * The date-time format of request fields: RFC 3339 as written by people and
 * programs (2026-03-10T08:00:00Z, with an offset, up to nanoseconds), a real
 * calendar day and time (no 23:59:60: Date cannot hold a leap second), and in
 * UTC between the years 1 and 9999, which Date and Postgres both hold.
 */
export function isDateTime(text: string): boolean {
  const m = rfc3339.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const days = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 1 : 0);
  if (month < 1 || month > 12 || day < 1 || day > days || hour > 23 || minute > 59 || second > 59) return false;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false;
  const at = Date.parse(text.replace(' ', 'T').toUpperCase());
  if (Number.isNaN(at)) return false;
  const utcYear = new Date(at).getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999;
}

/** How deep a stored free-form document may nest; flows need about 6. */
export const maxDocumentDepth = 32;

/**
 * What a stored free-form JSON document (an IVR flow) must be: nested at most
 * `maxDocumentDepth` deep (deeper ones overflow the stack of code that walks
 * them, and of JSON.stringify), and without control characters in any key or
 * string (Postgres refuses NUL in jsonb). Returns what is wrong and where, or null.
 * Walks with its own stack, so no depth overflows it.
 */
export function documentProblem(value: unknown, maxDepth = maxDocumentDepth): string | null {
  const stack: [unknown, number, string][] = [[value, 1, '']];
  while (stack.length > 0) {
    const [node, depth, at] = stack.pop()!;
    if (typeof node === 'string') {
      if (controlCharacter.test(node)) return `must not contain control characters (at ${at || '/'})`;
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    if (depth > maxDepth) return `nests deeper than ${maxDepth} levels (at ${at})`;
    for (const [key, child] of Object.entries(node)) {
      if (controlCharacter.test(key)) return `must not contain control characters (the key ${JSON.stringify(key)} at ${at || '/'})`;
      stack.push([child, depth + 1, `${at}/${key}`]);
    }
  }
  return null;
}

/** A stored free-form JSON object, checked by documentProblem (the `document` keyword of src/core/http.ts). */
export const Document = (options: { description?: string } = {}) =>
  Type.Object({}, { additionalProperties: true, document: true, ...options });
