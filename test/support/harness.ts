import { execFileSync } from 'node:child_process';
import { sql } from 'kysely';
import { createCentralita, type Centralita, type CreateOptions } from '../../src/app.js';
import type { Config } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { projectRoot } from '../../src/core/paths.js';

export const adminToken = 'test-admin-token-0123456789abcdef0123456789';
export const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/centralita_test';

/** A config for the lab Asterisk and the test database, on an ephemeral port. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    host: '127.0.0.1',
    port: 0,
    logLevel: (process.env.TEST_LOG_LEVEL as Config['logLevel'] | undefined) ?? 'silent',
    databaseUrl: testDatabaseUrl,
    dataDir: `${projectRoot}/data/test`,
    adminToken,
    // The harness is the lab (CENTRALITA_LAB=true): see README, configuration.
    lab: true,
    authFailuresPerMinute: 10,
    sessionIdleMinutes: 30,
    sessionMaxHours: 12,
    ari: { url: 'http://127.0.0.1:8088/ari', user: 'centralita', password: 'centralita-lab-ari', app: 'centralita' },
    ami: { host: '127.0.0.1', port: 5038, user: 'centralita', password: 'centralita-lab-ami' },
    recordingsDir: `${projectRoot}/recordings`,
    recordingsMinFreeMb: 0,
    agentsHearOwnRecordings: false,
    recordingsViaAri: false,
    promptsDir: `${projectRoot}/prompts`,
    defaultLanguage: 'es',
    directCallWrapUpSeconds: 0,
    monitorSameTeamOnly: false,
    monitorFollowAgent: false,
    timezone: 'Europe/Madrid',
    shortAbandonSeconds: 5,
    lookupAllow: [],
    webhooks: { retryBaseMs: 2000, giveUpHours: 24, timeoutMs: 10_000 },
    trustProxy: [],
    eventRetentionDays: undefined,
    // The lab's dialplan (dialplan/centralita-lab.conf): calls enter at from-carrier and from-phones.
    site: { phoneEndpoint: 'PJSIP/${extension}', transferContext: 'centralita-transfer', inboundContexts: ['from-carrier'], phoneContexts: ['from-phones'] },
    metricsToken: undefined,
    // The lab's outbound trunk goes to the PSTN emulator (test/phones/pstn.ts).
    outbound: { endpoint: 'PJSIP/${number}@carrier', callerId: '34910000000', campaignRingSeconds: 10 },
    ...overrides,
  };
}

export interface TestApp {
  app: Centralita;
  baseUrl: string;
  /** fetch against the app with the admin token unless another is given. */
  api(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** Starts centralita on the lab; waits until ARI and AMI are connected. */
export async function startTestApp(overrides: Partial<Config> = {}, options: CreateOptions = {}): Promise<TestApp> {
  const config = testConfig(overrides);
  const app = await createCentralita(config, { logger: createLogger(config.logLevel), ...options });
  const baseUrl = await app.start();
  await waitFor(() => app.ari.state === 'up' && app.ami.state === 'up', 10_000, 'centralita did not connect to ARI and AMI');
  return {
    app,
    baseUrl,
    async api(path, init = {}) {
      const { token = adminToken, json, ...rest } = init;
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (json !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${baseUrl}${path}`, { ...rest, headers: { ...headers, ...(rest.headers as Record<string, string> | undefined) }, body: json !== undefined ? JSON.stringify(json) : rest.body });
      const text = await res.text();
      let body: unknown = text;
      try { body = JSON.parse(text); } catch { /* not JSON */ }
      return { status: res.status, body };
    },
    stop: () => app.stop(),
  };
}

/** Tables whose rows the migrations seed; a reset keeps the seeded rows. */
const seeded = ['schema_migrations', 'pause_reasons', 'leader_lease'];

/**
 * Hangs up every channel (and removes every empty bridge) left in this app's
 * Stasis application by an earlier test run that died mid-call (a test phone gone without a BYE leaves its
 * channel up, and an agent leg kept up keeps that phone's device INUSE).
 */
export async function hangUpLeftovers(app: Centralita): Promise<void> {
  const channels = await app.ari.request('channels.list', {});
  const ours = channels.filter((c) => c.dialplan.app_name === 'Stasis' && c.dialplan.app_data.split(',')[0] === app.config.ari.app);
  await Promise.all(ours.map((c) => app.ari.request('channels.hangup', { channelId: c.id }).catch(() => undefined)));
  // Bridges the app made and nobody destroyed (a process stopped mid-call)
  // keep the application registered in Asterisk, as if a centralita held it.
  const bridges = await app.ari.request('bridges.list', {});
  const owned = new Set((await app.ari.request('applications.get', { applicationName: app.config.ari.app }).catch(() => ({ bridge_ids: [] as string[] }))).bridge_ids);
  await Promise.all(bridges.filter((b) => owned.has(b.id) && b.channels.length === 0)
    .map((b) => app.ari.request('bridges.destroy', { bridgeId: b.id }).catch(() => undefined)));
}

/** Empties every table (seeded ones back to their seed), for a test file's clean start; ends calls left by earlier runs. */
export async function resetDatabase(app: Centralita): Promise<void> {
  await hangUpLeftovers(app);
  const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public'`.execute(app.database.db);
  const emptied = tables.rows.map((t) => t.tablename).filter((name) => !seeded.includes(name));
  // The app just started writes of its own (reconciling calls), which can
  // deadlock with the truncate: Postgres then aborts one, so try again.
  for (let attempt = 1; emptied.length > 0; attempt += 1) {
    try {
      await sql.raw(`truncate ${emptied.map((name) => `"${name}"`).join(', ')} restart identity cascade`).execute(app.database.db);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || attempt === 5) throw err;
    }
  }
  await sql`delete from pause_reasons where name not in ('break', 'lunch', 'training', 'back_office', 'rona', 'unreachable')`.execute(app.database.db);
  // Nobody holds the lease (an HA process an earlier run killed may be named in it); the epoch only grows.
  await sql`insert into leader_lease (id) values (1) on conflict (id) do update set holder = null, address = null, renewals = leader_lease.renewals + 1`.execute(app.database.db);
  // Routes, flows and queues read by calls are kept in memory while current.
  app.lastKnown.invalidateAll();
  // The PIN lockout's memory was loaded from the tables at start: forget what an earlier run left.
  await app.security.load();
}

export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs: number, message: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${message} (after ${timeoutMs} ms)${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the lab script (up, down, status, restart). */
export function lab(command: 'up' | 'down' | 'status' | 'restart'): string {
  return execFileSync('bash', [`${projectRoot}/scripts/lab.sh`, command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Creates a flow from a document and routes a DID to it; returns the flow. */
export async function routeDid(t: TestApp, did: string, document: unknown, name = `flow-${did}-${Date.now()}`): Promise<{ id: string; currentVersion: number }> {
  const flow = await t.api('/api/v1/ivr-flows', { method: 'POST', json: { name, document } });
  if (flow.status !== 201) throw new Error(`flow not created: ${JSON.stringify(flow.body)}`);
  const route = await t.api(`/api/v1/routes/${did}`, { method: 'PUT', json: { flowId: flow.body.id } });
  if (route.status !== 200) throw new Error(`route not created: ${JSON.stringify(route.body)}`);
  return flow.body;
}

/** A flow that greets and then waits for digits until the caller hangs up. */
export const greetAndListen = {
  start: 'hello',
  nodes: {
    hello: { type: 'play', media: ['sound:hello-world'], next: 'listen' },
    listen: { type: 'collect', prompt: ['sound:beep'], variable: 'digits', maxDigits: 20, timeoutMs: 30_000, retries: 5, next: 'listen' },
  },
};
