import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { adminToken, resetDatabase, startTestApp, type TestApp } from '../support/harness.js';
import { seedScriptedDay } from '../support/scripted-day.js';

/**
 * Every /api/v1 route, from the service's own OpenAPI document: a role ×
 * route matrix, and 10 000 generated bad requests that must never get a 5xx
 * nor change any stored row.
 */

interface Route { method: string; path: string; roles: string[]; hasBody: boolean }

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
  let t: TestApp;
  let routes: Route[];
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
    // No phones: an app name of its own, so it never takes the lab's Stasis app from another test.
    t = await startTestApp({ ari: { url: 'http://127.0.0.1:8088/ari', user: 'centralita', password: 'centralita-lab-ari', app: 'centralita-fuzz' } });
    await resetDatabase(t.app);
    const { ids } = await seedScriptedDay(t);
    tokens.admin = adminToken;
    tokens.supervisor = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'sup', role: 'supervisor' } })).body.token;
    tokens.agent = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'ana', role: 'agent', agentId: ids.ana } })).body.token;
    const doc = (await t.api('/api/docs', { token: null })).body as { paths: Record<string, Record<string, { description?: string; requestBody?: unknown }>> };
    routes = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!path.startsWith('/api/v1')) continue;
      for (const [method, op] of Object.entries(methods)) {
        const roles = /Roles: ([a-z, ]+)\./.exec(op.description ?? '')?.[1]?.split(', ') ?? [];
        routes.push({ method: method.toUpperCase(), path, roles, hasBody: op.requestBody !== undefined });
      }
    }
  });
  after(async () => {
    await t?.stop();
  });

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
        if (role === 'none' && res.status !== 401) problems.push(`${route.method} ${route.path} without a token: ${res.status}`);
        if (role !== 'none' && !route.roles.includes(role) && !refusedAtTheDoor) problems.push(`${route.method} ${route.path} as ${role}: ${res.status}, expected 403`);
        if (role !== 'none' && route.roles.includes(role) && (res.status === 401 || refusedAtTheDoor)) problems.push(`${route.method} ${route.path} as ${role}: refused (${res.status})`);
        if (res.status >= 500) problems.push(`${route.method} ${route.path} as ${role}: ${res.status}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('10 000 generated bad requests: no 5xx, and not one stored row changed', async () => {
    await t.app.writes.drain();
    const before = await snapshot();
    const next = random(Number(process.env.FUZZ_SEED ?? 20261124));
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const roles = ['admin', 'supervisor', 'agent'];
    for (let i = 0; i < 10_000; i += 1) {
      const route = routes[Math.floor(next() * routes.length)]!;
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
    assert.ok((statuses.get(400) ?? 0) > 1000, `statuses: ${JSON.stringify([...statuses])}`);
  });
});
