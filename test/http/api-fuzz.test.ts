import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { writeWav } from '../../src/prompts/wav.js';
import { edges, fields, nested, sample, withEdge, type Edge, type Schema } from '../support/edge-values.js';
import { startFastApp, type FastApp } from '../support/fast-harness.js';
import { adminToken } from '../support/harness.js';
import { seedScriptedDay } from '../support/scripted-day.js';

/**
 * Every /api/v1 route, from the service's own OpenAPI document: a role ×
 * route matrix; edge values derived from each route's schema (every field's
 * boundaries and one past them, control characters, date-time extremes,
 * deep nesting, wrong types), none of which may get a 5xx nor, when refused,
 * change a stored row; the classes of input that once gave a 500; and
 * 3000 random bad requests.
 */

interface Parameter { name: string; schema: Schema; required: boolean }
interface Route {
  method: string; path: string; roles: string[]; hasBody: boolean;
  params: Parameter[]; query: Parameter[]; body?: Schema; consumes: string[];
}

/** A small deterministic generator (xorshift), so a failure can be replayed with the same seed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const nasty = ['', ' ', '0', '-1', '1e309', 'null', 'true', '../../etc/passwd', '%00', '\u0000', 'ñandú €', '😀'.repeat(50), '\u202e\u0301', '<script>x</script>',
  "'; drop table agents; --", 'x'.repeat(10_000), '00000000-0000-4000-8000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '9'.repeat(40), '*45', '+34 600'];

function value(next: () => number, depth = 0): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  switch (Math.floor(next() * (depth > 2 ? 6 : 9))) {
    case 0: return pick(nasty);
    case 1: return Math.floor(next() * 2 ** 40) * (next() < 0.5 ? -1 : 1);
    case 2: return next() < 0.5 ? 1.5 : Number.MAX_SAFE_INTEGER;
    case 3: return next() < 0.5;
    case 4: return null;
    case 5: return pick(['listen', 'whisper', 'barge', 'admin', 'agent', 'break', 'always', 'day', 'Europe/Madrid']);
    case 6: return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
    default: {
      const keys = ['name', 'role', 'agentId', 'supervisorId', 'callId', 'mode', 'number', 'pin', 'extension', 'reason', 'queueId', 'flowId', 'document', 'members', 'from', 'to', 'strategy', 'code', 'label'];
      return Object.fromEntries(Array.from({ length: 1 + Math.floor(next() * 5) }, () => [pick(keys), value(next, depth + 1)]));
    }
  }
}

describe('the API under bad input: role × route matrix and a fuzz run', () => {
  let t: FastApp;
  let routes: Route[];
  let seed: { ana: string; queueId: string; flowId: string; callId: string };
  const tokens: Record<string, string | null> = { none: null };

  /** Every stored row, as one text per table: equal before and after means nothing changed. */
  const snapshot = async (): Promise<Record<string, string>> => {
    const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public' and tablename <> 'report_rollup_state' order by 1`.execute(t.app.database.db);
    const out: Record<string, string> = {};
    for (const { tablename } of tables.rows) {
      const rows = await sql<{ r: string }>`select coalesce(string_agg(t::text, '|' order by t::text), '') as r from ${sql.table(tablename)} t`.execute(t.app.database.db);
      out[tablename] = rows.rows[0]!.r;
    }
    return out;
  };

  before(async () => {
    t = await startFastApp();
    const { ids, calls, queueId, flowId } = await seedScriptedDay(t);
    tokens.admin = adminToken;
    tokens.supervisor = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'sup', role: 'supervisor' } })).body.token;
    tokens.agent = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'ana', role: 'agent', agentId: ids.ana } })).body.token;
    seed = { ana: ids.ana!, queueId, flowId, callId: calls.c1! };
    const doc = (await t.api('/api/docs', { token: null })).body as { paths: Record<string, Record<string, {
      description?: string; parameters?: { in: string; name: string; required?: boolean; schema: Schema }[];
      requestBody?: { content: Record<string, { schema?: Schema }> };
    }>> };
    routes = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!path.startsWith('/api/v1')) continue;
      for (const [method, op] of Object.entries(methods)) {
        const roles = /Roles: ([a-z, ]+)\./.exec(op.description ?? '')?.[1]?.split(', ') ?? [];
        const parameters = (op.parameters ?? []).map((p) => ({ in: p.in, name: p.name, schema: p.schema, required: p.required === true && (p.schema as { default?: unknown }).default === undefined }));
        routes.push({
          method: method.toUpperCase(), path, roles, hasBody: op.requestBody !== undefined,
          params: parameters.filter((p) => p.in === 'path'), query: parameters.filter((p) => p.in === 'query'),
          body: op.requestBody?.content['application/json']?.schema, consumes: Object.keys(op.requestBody?.content ?? {}),
        });
      }
    }
  });
  after(async () => t?.stop());

  it('lists every route with its roles', () => {
    assert.ok(routes.length >= 60, `only ${routes.length} routes found`);
    for (const route of routes) assert.ok(route.roles.length > 0, `${route.method} ${route.path} declares no roles`);
  });

  it('role × route: no token 401, a role the route does not allow 403, an allowed role gets past the door', async () => {
    const problems: string[] = [];
    for (const route of routes) {
      const path = route.path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
      for (const role of ['none', 'agent', 'supervisor', 'admin']) {
        const res = await t.api(path, { method: route.method, token: tokens[role] ?? null, ...(route.hasBody ? { json: { fuzz: true } } : {}) });
        const refusedAtTheDoor = res.status === 403 && /may not call this route/.test(res.body?.error?.message ?? '');
        // The sign-in is open to anyone ("Roles: anyone."): no door to be refused at.
        if (route.roles.includes('anyone')) {
          if (res.status === 401 && res.body?.error?.code !== 'unauthorized') problems.push(`${route.method} ${route.path} as ${role}: ${res.status}`);
          if (res.status >= 500) problems.push(`${route.method} ${route.path} as ${role}: ${res.status}`);
          continue;
        }
        if (role === 'none' && res.status !== 401) problems.push(`${route.method} ${route.path} without a token: ${res.status}`);
        if (role !== 'none' && !route.roles.includes(role) && !refusedAtTheDoor) problems.push(`${route.method} ${route.path} as ${role}: ${res.status}, expected 403`);
        if (role !== 'none' && route.roles.includes(role) && (res.status === 401 || refusedAtTheDoor)) problems.push(`${route.method} ${route.path} as ${role}: refused (${res.status})`);
        if (res.status >= 500) problems.push(`${route.method} ${route.path} as ${role}: ${res.status}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  /**
   * Counts every row written to any table (not the rollups the scheduler may
   * write meanwhile) with triggers in a schema of the test's own, dropped
   * after. The counter is transactional: a write rolled back is not counted.
   */
  const countChanges = async (): Promise<() => Promise<number>> => {
    const db = t.app.database.db;
    await sql`drop schema if exists fuzz cascade`.execute(db);
    await sql`create schema fuzz`.execute(db);
    await sql`create table fuzz.changes (n bigint not null)`.execute(db);
    await sql`insert into fuzz.changes values (0)`.execute(db);
    await sql.raw(`create function fuzz.count() returns trigger language plpgsql as $$ begin update fuzz.changes set n = n + 1; return null; end $$`).execute(db);
    const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public' and tablename not like 'report\_%'`.execute(db);
    for (const { tablename } of tables.rows) {
      await sql.raw(`create trigger fuzz_rows after insert or update or delete on public."${tablename}" for each row execute function fuzz.count()`).execute(db);
      await sql.raw(`create trigger fuzz_truncate after truncate on public."${tablename}" for each statement execute function fuzz.count()`).execute(db);
    }
    return async () => Number((await sql<{ n: string }>`select n from fuzz.changes`.execute(db)).rows[0]!.n);
  };

  it('edge values from every route\'s schema: no 5xx, the error shape, and no row changed by a refused request', async () => {
    const started = Date.now();
    const changes = await countChanges();
    await t.app.writes.drain();
    let count = await changes();
    const unknown = '00000000-0000-4000-8000-000000000000';
    const wav = new Uint8Array(writeWav(new Int16Array(800)));
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    let refusedCount = 0;

    // Every request string is bounded: the fuzz below takes maxLength from the schema.
    const unbounded = routes.flatMap((route) => [
      ...[...route.params, ...route.query].map((p) => ({ at: `${route.method} ${route.path} ${p.name}`, schema: p.schema })),
      ...(route.body ? fields(route.body).map((f) => ({ at: `${route.method} ${route.path} body/${f.path.join('/')}`, schema: f.schema })) : []),
    ]).filter(({ schema }) => [schema, ...(schema.anyOf ?? [])].some((s) => s.type === 'string' && s.maxLength === undefined && !s.enum));
    assert.deepEqual(unbounded.map((u) => u.at), [], 'request strings without a maxLength');

    for (const route of routes) {
      const destructive = route.method === 'DELETE';
      // Real ids reach deeper than unknown ones (a PATCH of a real agent writes); never for a DELETE.
      const idFor = (field: string): string | undefined => {
        if (destructive) return undefined;
        if (field === 'id') {
          if (route.path.startsWith('/api/v1/agents/')) return seed.ana;
          if (route.path.startsWith('/api/v1/queues/')) return seed.queueId;
          if (route.path.startsWith('/api/v1/ivr-flows/')) return seed.flowId;
          if (route.path.startsWith('/api/v1/calls/')) return seed.callId;
          return undefined;
        }
        return ({ agentId: seed.ana, supervisorId: seed.ana, queueId: seed.queueId, flowId: seed.flowId, callId: seed.callId } as Record<string, string>)[field];
      };
      const baseParams = Object.fromEntries(route.params.map((p) => [p.name, String(sample(p.schema, idFor, p.name))]));
      const baseQuery = Object.fromEntries(route.query.filter((p) => p.required).map((p) => [p.name, String(sample(p.schema, idFor, p.name))]));
      const baseBody = route.body ? sample(route.body, idFor) : undefined;
      const asText = (edge: Edge): string => {
        const value = JSON.parse(edge.json) as unknown;
        return typeof value === 'string' ? value : edge.json;
      };
      const encode = (value: string): string => {
        try { return encodeURIComponent(value); } catch { return '%ED%A0%80'; }
      };
      const cases: { label: string; params: Record<string, string>; query: Record<string, string>; body?: string }[] = [];
      const json = baseBody === undefined ? undefined : JSON.stringify(baseBody);
      for (const p of route.params) for (const e of edges(p.schema, baseParams[p.name])) cases.push({ label: `params/${p.name} ${e.label}`, params: { ...baseParams, [p.name]: asText(e) }, query: baseQuery, body: json });
      for (const q of route.query) for (const e of edges(q.schema, sample(q.schema, idFor, q.name))) cases.push({ label: `querystring/${q.name} ${e.label}`, params: baseParams, query: { ...baseQuery, [q.name]: asText(e) }, body: json });
      if (route.body) {
        for (const f of fields(route.body)) {
          for (const e of edges(f.schema, sample(f.schema, idFor, f.path.at(-1)))) {
            cases.push({ label: `body/${f.path.join('/')} ${e.label}`, params: baseParams, query: baseQuery, body: withEdge(baseBody, f.path, e, () => ({})) });
          }
        }
      }
      const others = route.roles.filter((r) => r !== 'admin');
      for (const [i, c] of cases.entries()) {
        const path = route.path.replace(/\{([^}]+)\}/g, (_, name: string) => encode(c.params[name] ?? unknown));
        const query = Object.keys(c.query).length > 0 ? `?${Object.entries(c.query).map(([k, v]) => `${k}=${encode(v)}`).join('&')}` : '';
        // Admin for every value; the route's other roles in turn, one value in six (the role × route test above checks each role at every route).
        const roles = ['admin', ...(i % 6 === 0 && others.length > 0 ? [others[(i / 6) % others.length]!] : [])];
        for (const role of roles) {
          const upload = route.consumes.includes('audio/wav');
          const res = await t.api(`${path}${query}`, {
            method: route.method, token: tokens[role] ?? null,
            ...(upload ? { body: wav, headers: { 'content-type': 'audio/wav' } } : c.body !== undefined ? { body: c.body, headers: { 'content-type': 'application/json' } } : {}),
          }).catch((err: Error) => ({ status: 599, body: err.message }));
          sent += 1;
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const what = `${route.method} ${route.path} ${c.label} as ${role}`;
          if (res.status >= 500) failures.push(`${what}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
          if (res.status >= 400 && (typeof res.body?.error?.code !== 'string' || typeof res.body?.error?.message !== 'string')) {
            failures.push(`${what}: ${res.status} not in the error shape: ${JSON.stringify(res.body).slice(0, 200)}`);
          }
          await t.app.writes.drain();
          const now = await changes();
          // A refused sign-in is recorded on purpose (the name's failures, as a wrong PIN's).
          const recordsRefusals = route.path === '/api/v1/sign-in' && res.status === 401;
          if (res.status >= 400) {
            refusedCount += 1;
            if (now !== count && !recordsRefusals) failures.push(`${what}: refused (${res.status}) but ${now - count} rows changed`);
          }
          count = now;
        }
      }
    }
    const seconds = (Date.now() - started) / 1000;
    t.app.logger.info({ sent, refused: refusedCount, statuses: Object.fromEntries(statuses), seconds }, 'edge-value fuzz');
    console.log(`edge values: ${sent} requests (${refusedCount} refused) over ${routes.length} routes in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.deepEqual(failures.slice(0, 30), [], `${failures.length} failures`);
    assert.ok(sent > 3000, `only ${sent} edge requests`);
  });

  it('the classes of input that once gave a 500 are refused with a 4xx in the error shape', async () => {
    const shaped = (res: { status: number; body: any }, status: number, code?: string) => {
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(typeof res.body?.error?.message, 'string', JSON.stringify(res.body));
      if (code) assert.equal(res.body.error.code, code, JSON.stringify(res.body));
      return res.body.error.message as string;
    };
    const json = (body: string) => ({ body, headers: { 'content-type': 'application/json' } });
    // Control characters in text (Postgres refuses NUL).
    assert.equal(shaped(await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'a\u0000b', role: 'admin' } }), 400), 'body/name must not contain control characters');
    shaped(await t.api('/api/v1/agents', { method: 'POST', json: { number: '9991', name: 'a\u0000b', pin: '1234' } }), 400);
    shaped(await t.api('/api/v1/pause-reasons/fuzz_nul', { method: 'PUT', json: { code: '77', label: 'x\u0000', productive: true } }), 400);
    shaped(await t.api('/api/v1/reports/agents?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&interval=day&team=a%00'), 400);
    // Integers past the column's int4 (and offsets past bigint).
    assert.equal(shaped(await t.api(`/api/v1/ivr-flows/${seed.flowId}/versions/2147483648`), 400), 'params/version must be <= 2147483647');
    assert.equal(shaped(await t.api(`/api/v1/ivr-flows/${seed.flowId}/restore`, { method: 'POST', json: { version: 2147483648 } }), 400), 'body/version must be <= 2147483647');
    for (const list of ['calls', 'monitor', 'recordings']) shaped(await t.api(`/api/v1/${list}?offset=100000000000000000000`), 400);
    // Date-times the old format took and Date does not (leap second) or Postgres does not.
    for (const at of ['2026-01-01T23:59:60Z', '0000-01-01T00:00:00Z', '2026-02-30T00:00:00Z']) {
      assert.match(shaped(await t.api(`/api/v1/calls?from=${at}`), 400), /^querystring\/from must be a date-time/);
    }
    assert.match(shaped(await t.api('/api/v1/reports/rebuild', { method: 'POST', json: { from: '2026-01-01T23:59:60Z', to: '2026-01-02T00:00:00Z' } }), 400), /^body\/from must be a date-time/);
    // A service's own 400 on a body field names body/.
    assert.equal(shaped(await t.api('/api/v1/reports/rebuild', { method: 'POST', json: { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' } }), 400), 'body/from must be before body/to');
    assert.match(shaped(await t.api('/api/v1/ivr-flows', { method: 'POST', json: { name: 'fuzz-invalid', document: { start: 'a', nodes: {} } } }), 400, 'invalid_flow'),
      /^body\/document: the flow has 1 problem: /);
    // Deep documents (a stack overflow before).
    const flow = '"start":"a","nodes":{"a":{"type":"hangup"}}';
    assert.match(shaped(await t.api('/api/v1/ivr-flows', { method: 'POST', ...json(`{"name":"fuzz-deep","document":{${flow},"x":${nested(100_000)}}}`) }), 400),
      /^body\/document nests deeper than 32 levels/);
    assert.match(shaped(await t.api(`/api/v1/ivr-flows/${seed.flowId}`, { method: 'PUT', ...json(`{"document":{${flow},"x":"\\u0000"}}`) }), 400),
      /^body\/document must not contain control characters/);
    // A valid but tiny WAV.
    const tiny = await t.api('/api/v1/prompts?name=fuzz-tiny', { method: 'POST', body: new Uint8Array(writeWav(new Int16Array(1))), headers: { 'content-type': 'audio/wav' } });
    assert.match(shaped(tiny, 400, 'invalid_audio'), /a prompt must last at least 20 ms/);
    // A call that does not exist has no trace.
    shaped(await t.api('/api/v1/calls/00000000-0000-4000-8000-000000000000/ivr-trace'), 404, 'not_found');
    assert.equal((await t.api(`/api/v1/calls/${seed.callId}/ivr-trace`)).status, 200);
    // Fastify's own refusals, over a real socket.
    shaped(await t.socketApi(`/api/v1/agents/${'a'.repeat(101)}`), 414, 'uri_too_long');
    shaped(await t.socketApi('/api/v1/agents/%zz'), 400, 'bad_url');
    shaped(await t.socketApi('/api/v1/tokens', { method: 'POST', body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
    shaped(await t.socketApi('/api/v1/tokens', { method: 'POST', ...json('{"name":') }), 400, 'invalid_json');
    shaped(await t.socketApi('/api/v1/tokens', { method: 'POST', ...json('') }), 400, 'invalid_json');
    shaped(await t.socketApi('/api/v1/tokens', { method: 'POST', ...json(`{"name":"${'a'.repeat(1024 * 1024)}"}`) }), 413, 'payload_too_large');
    shaped(await t.socketApi(`/api/v1/calls?did=${'1'.repeat(20_000)}`), 431, 'headers_too_large');
  });

  it('3000 generated bad requests: no 5xx, and not one stored row changed', async () => {
    await t.app.writes.drain();
    const before = await snapshot();
    const next = random(Number(process.env.FUZZ_SEED ?? 20261124));
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const roles = ['admin', 'supervisor', 'agent'];
    // Not the sign-in: a wrong name and password is refused and recorded on
    // purpose (its failures count like a wrong PIN's; test/http/sign-in.test.ts).
    const fuzzed = routes.filter((r) => r.path !== '/api/v1/sign-in');
    for (let i = 0; i < 3000; i += 1) {
      const route = fuzzed[Math.floor(next() * fuzzed.length)]!;
      const path = route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(String(value(next, 3))));
      const query = next() < 0.5 ? `?${new URLSearchParams(Object.entries((value(next, 1) ?? {}) as object).map(([k, v]) => [k, String(v)])).toString()}` : '';
      // Every body is wrong in some way: an unknown field, or not an object at all.
      const body = next() < 0.8 ? { ...((value(next, 1) as object | null) ?? {}), fuzzField: value(next, 2) } : value(next, 2);
      const role = roles[Math.floor(next() * roles.length)]!;
      const res = await t.api(`${path}${query}`, { method: route.method, token: tokens[role] ?? null, ...(route.method !== 'GET' && (route.hasBody || next() < 0.2) ? { json: body } : {}) })
        .catch((err: Error) => ({ status: 599, body: err.message }));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) failures.push(`${route.method} ${path.slice(0, 120)}${query.slice(0, 80)} as ${role}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} requests got a 5xx`);
    await t.app.writes.drain();
    const afterRun = await snapshot();
    const changed = Object.keys(before).filter((table) => before[table] !== afterRun[table]);
    assert.deepEqual(changed, [], `tables changed by bad requests: ${changed.join(', ')}`);
    assert.ok((statuses.get(400) ?? 0) > 500, `statuses: ${JSON.stringify([...statuses])}`);
  });
});
