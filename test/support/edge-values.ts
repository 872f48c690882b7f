/**
 * Edge values derived from a route's own JSON schema (as the OpenAPI
 * document gives it): for each field, each type's boundaries and one past
 * them, every control character in strings, maxLength and maxLength + 1,
 * the smallest and largest date-times and one past, deep nesting, wrong
 * types. Used by test/http/api-fuzz.test.ts.
 */
import { plainTextPattern } from '../../src/core/schemas.js';

export interface Schema {
  type?: string;
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  document?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
}

/** An edge value as JSON text (so it can be deeper than JSON.stringify goes), and what it is. */
export interface Edge { json: string; label: string }

const int4 = { minimum: -2_147_483_648, maximum: 2_147_483_647 };
const controlCharacters = [...Array.from({ length: 0x20 }, (_, c) => c), 0x7f];

/** A value each known pattern takes, so a request can be valid but for the field under test. */
const patternSamples = ['7999', '1234', 'fuzz_reason', '88', '5559999', 'Fuzz name', 'es', 'default', '5', '4599', 'fuzz-prompt', 'sound:beep', 'fuzz1', 'http://127.0.0.1:9/fuzz', '09:00-21:00'];

export const nested = (depth: number, open = '{"a":', close = '}', inner = '1'): string => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

const variants = (schema: Schema): Schema[] => schema.anyOf ?? schema.oneOf ?? [schema];

function stringSample(schema: Schema, ids: (field: string) => string | undefined, field: string): string {
  if (schema.enum) return String(schema.enum[0]);
  if (schema.format === 'uuid') return ids(field) ?? '00000000-0000-4000-8000-000000000000';
  if (schema.format === 'date-time') return '2026-03-10T08:00:00Z';
  if (schema.pattern) {
    const re = new RegExp(schema.pattern, 'u');
    const found = patternSamples.find((s) => re.test(s));
    if (found) return found;
    throw new Error(`no sample for the pattern ${schema.pattern} (of ${field}): add one to patternSamples`);
  }
  return 'fuzz';
}

/** A valid value for the schema: required properties only, the first variant of a union. */
export function sample(schema: Schema, ids: (field: string) => string | undefined, field = ''): unknown {
  if (schema.const !== undefined) return schema.const;
  const s = variants(schema)[0]!;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  switch (s.type) {
    case 'string': return stringSample(s, ids, field);
    case 'integer': case 'number': return Math.min(s.maximum ?? Infinity, Math.max(s.minimum ?? 1, 1));
    case 'boolean': return false;
    case 'null': return null;
    case 'array': return Array.from({ length: s.minItems ?? 0 }, () => sample(s.items ?? {}, ids, field));
    case 'object': case undefined: {
      if (!s.properties) return {};
      return Object.fromEntries((s.required ?? []).map((k) => [k, sample(s.properties![k]!, ids, k)]));
    }
    default: return null;
  }
}

const text = (value: unknown): Edge => ({ json: JSON.stringify(value), label: typeof value === 'string' && value.length > 40 ? `${JSON.stringify(value.slice(0, 12))}… (${value.length})` : JSON.stringify(value) });

/** Every edge value of one field's schema. `valid` is a sample the edges of a string are built around. */
export function edges(schema: Schema, valid: unknown): Edge[] {
  const out: Edge[] = [];
  const add = (value: unknown, label?: string) => out.push(label ? { json: JSON.stringify(value), label } : text(value));
  for (const s of variants(schema)) {
    if (s.enum) {
      for (const v of s.enum) add(v);
      add(`${String(s.enum[0])}x`);
      add(String(s.enum[0]).toUpperCase());
    }
    if (s.type === 'string' && !s.enum) {
      const base = typeof valid === 'string' ? valid : 'fuzz';
      // Free text gets every control character; a string a pattern or format pins down, a few.
      const free = !s.format && (!s.pattern || s.pattern === plainTextPattern);
      for (const c of free ? controlCharacters : [0x00, 0x09, 0x0a, 0x1f, 0x7f]) add(`${base.slice(0, 1)}${String.fromCharCode(c)}${base.slice(1)}`, `control character 0x${c.toString(16).padStart(2, '0')}`);
      add('');
      if (s.maxLength !== undefined) {
        const fill = base.at(-1) ?? 'x';
        add(base.padEnd(s.maxLength, fill), `maxLength (${s.maxLength})`);
        add(base.padEnd(s.maxLength + 1, fill), `maxLength + 1 (${s.maxLength + 1})`);
        add('😀'.repeat(s.maxLength), `maxLength astral characters (${s.maxLength})`);
      }
      add('x'.repeat(100_000), '100 000 characters');
      add('\u202e\u0301ñ€', 'right-to-left mark, combining accent');
      add("'; drop table agents; --", 'SQL');
      add('\ud800', 'a lone surrogate');
      if (s.format === 'uuid') {
        for (const v of ['00000000-0000-4000-8000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', '00000000-0000-0000-0000-00000000000', 'urn:uuid:00000000-0000-4000-8000-000000000000']) add(v);
      }
      if (s.format === 'date-time') {
        for (const v of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '0000-12-31T23:59:59Z', '10000-01-01T00:00:00Z', '0001-01-01T00:00:00+00:01',
          '9999-12-31T23:59:59-00:01', '2026-01-01T23:59:60Z', '2026-02-29T00:00:00Z', '2026-03-10T08:00:00+23:59', '2026-03-10T08:00:00+24:00',
          '2026-03-10', '2026-03-10T08:00:00.123456789Z', '1969-12-31T23:59:59.999Z', '275760-09-13T00:00:00Z']) add(v);
      }
    }
    if (s.type === 'integer' || s.type === 'number') {
      const min = s.minimum ?? int4.minimum;
      const max = s.maximum ?? int4.maximum;
      for (const v of [min, min - 1, max, max + 1, 0, -1, int4.maximum, int4.maximum + 1, int4.minimum, int4.minimum - 1, 2 ** 53, -(2 ** 53), 1.5]) add(v);
      out.push({ json: '1e309', label: '1e309' }, { json: '-0', label: '-0' }, { json: '100000000000000000000', label: '1e20' });
    }
    if (s.type === 'boolean') for (const v of [true, false]) add(v);
    if (s.type === 'array') {
      add([]);
      if (s.maxItems !== undefined) out.push({ json: JSON.stringify(Array.from({ length: s.maxItems + 1 }, () => sample(s.items ?? {}, () => undefined))), label: `maxItems + 1 (${s.maxItems + 1})` });
      out.push({ json: nested(40, '[', ']'), label: 'arrays 40 deep' });
    }
    if (s.type === 'object' || s.document) {
      out.push({ json: nested(31), label: 'objects 32 deep' }, { json: nested(32), label: 'objects 33 deep' }, { json: nested(10_000), label: 'objects 10 000 deep' },
        { json: `{"a":${nested(10_000, '[', ']')}}`, label: 'arrays 10 000 deep' }, { json: '{"a\\u0000":1}', label: 'a NUL in a key' },
        { json: '{"a":"\\u0000"}', label: 'a NUL in a string' });
    }
  }
  // Wrong types, and JSON's odd values.
  out.push(...['null', 'true', '0', '"x"', '[]', '{}', '[null]', '"1"'].map((json) => ({ json, label: `wrong type ${json}` })));
  if (schema.nullable) out.push({ json: 'null', label: 'null' });
  const seen = new Set<string>();
  return out.filter((e) => (seen.has(e.json) ? false : (seen.add(e.json), true)));
}

/** A field inside a body: its path from the root, and its schema. */
export interface Field { path: string[]; schema: Schema }

/** The body's fields, depth first (into objects and the items of arrays), the root first. */
export function fields(schema: Schema, path: string[] = []): Field[] {
  const out: Field[] = [{ path, schema }];
  for (const s of variants(schema)) {
    if (s.properties && !s.document) for (const [k, child] of Object.entries(s.properties)) out.push(...fields(child, [...path, k]));
    if (s.type === 'array' && s.items) out.push(...fields(s.items, [...path, '0']));
  }
  return out;
}

/** JSON text of `base` with the value at `path` replaced by the edge's JSON text (made as deep as needed). */
export function withEdge(base: unknown, path: string[], edge: Edge, fill: (path: string[]) => unknown): string {
  if (path.length === 0) return edge.json;
  const marker = '"__fuzz_edge_marker__"';
  const root = structuredClone(base ?? {}) as Record<string, unknown>;
  let at: Record<string, unknown> = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    if (at[key] === undefined || at[key] === null || typeof at[key] !== 'object') at[key] = fill(path.slice(0, i + 1));
    if (Array.isArray(at[key]) && (at[key] as unknown[]).length === 0) (at[key] as unknown[]).push(fill([...path.slice(0, i + 1), '0']));
    at = at[key] as Record<string, unknown>;
  }
  at[path.at(-1)!] = JSON.parse(marker);
  return JSON.stringify(root).replace(marker, () => edge.json);
}
