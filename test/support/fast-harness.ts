import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { createCentralita, type CreateOptions } from '../../src/app.js';
import type { Config } from '../../src/core/config.js';
import type { DatabaseHandle } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';
import { PGliteDialect } from '../../src/core/pglite-dialect.js';
import type { Database } from '../../src/db-schema.js';
import { FakeAmi } from './fake-ami.js';
import { FakeAri } from './fake-ari.js';
import { borrowMigratedPGlite, returnMigratedPGlite } from './pglite-template.js';
import { adminToken, testConfig, waitFor, type TestApp } from './harness.js';

/**
 * The fast tier's app: centralita as createCentralita builds it, on an
 * in-memory PGlite database, a fake ARI and a fake AMI (real sockets on
 * 127.0.0.1, so the app's own clients run unchanged), and requests through
 * Fastify's inject (no socket; `socketApi` for the few things only a socket
 * shows). No lab, no Postgres: these tests run in `npm run check`.
 */
export interface FastApp extends TestApp {
  ari: FakeAri;
  ami: FakeAmi;
  /** The database, kept by restart(). */
  pglite: PGlite;
  /** fetch over the listening socket (Node's own limits: 414, 431; upgrades; streaming). */
  socketApi: TestApp['api'];
  /**
   * Stops the app and starts a new one on the same database, fakes and data
   * folder, with these config changes; `whileStopped` runs in between.
   */
  restart(overrides?: Partial<Config>, options?: CreateOptions, whileStopped?: () => void | Promise<void>): Promise<void>;
}

export interface FastOptions extends CreateOptions {
  /** Desk phones AMI lists, extension → device state (NOT_INUSE by default: registered and idle). */
  phones?: Record<string, string> | string[];
}

/** Starts centralita on PGlite and fakes; resolves once ARI and AMI are up and reconciliation has listed the channels. */
export async function startFastApp(overrides: Partial<Config> = {}, options: FastOptions = {}): Promise<FastApp> {
  const { phones = {}, ...createOptions } = options;
  const dataDir = mkdtempSync(join(tmpdir(), 'centralita-fast-'));
  mkdirSync(join(dataDir, 'recordings'));
  const fakeAri = await FakeAri.start(overrides.ari?.app ?? 'centralita');
  const fakeAmi = await FakeAmi.start();
  for (const [extension, state] of Array.isArray(phones) ? phones.map((e) => [e, 'NOT_INUSE']) : Object.entries(phones)) {
    fakeAmi.devices.set(`PJSIP/${extension}`, state!);
  }
  const pglite = await borrowMigratedPGlite();

  const configFor = (changes: Partial<Config>): Config => testConfig({
    databaseUrl: undefined,
    dataDir,
    recordingsDir: join(dataDir, 'recordings'),
    promptsDir: join(dataDir, 'prompts'),
    // No trunk on the fake ARI: nothing is dialled out (callbacks would be, every 2 s); a test that wants one sets it.
    outbound: { endpoint: undefined, callerId: '', campaignRingSeconds: 25 },
    ...changes,
    ari: { url: fakeAri.url, user: 'centralita', password: 'fake-ari', app: fakeAri.app },
    ami: fakeAmi.address,
  });
  // The app leaves its database open on stop: restart() starts the next app on
  // it, and stop() gives it back for the next test's app.
  const database = (): DatabaseHandle<Database> => {
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    return {
      db, kind: 'pglite',
      ping: async () => sql`select 1`.execute(db).then(() => true, () => false),
      close: async () => {},
    };
  };

  const launch = async (changes: Partial<Config>, opts: CreateOptions) => {
    const config = configFor(changes);
    const app = await createCentralita(config, { logger: createLogger(config.logLevel), database: database(), ...opts });
    const baseUrl = await app.start();
    const listed = fakeAri.requests.length;
    await waitFor(() => app.ari.state === 'up' && app.ami.state === 'up'
      && fakeAri.requests.slice(listed).some((r) => r.path === '/bridges'), 10_000, 'centralita did not connect to the fake ARI and AMI');
    return { app, baseUrl };
  };

  let current = await launch(overrides, createOptions);
  const fast: FastApp = {
    app: current.app,
    baseUrl: current.baseUrl,
    ari: fakeAri,
    ami: fakeAmi,
    pglite,
    async api(path, init = {}) {
      const { token = adminToken, json, body, headers = {}, method = 'GET' } = init;
      const all: Record<string, string> = {};
      if (token !== null) all.authorization = `Bearer ${token}`;
      if (json !== undefined) all['content-type'] = 'application/json';
      Object.assign(all, headers as Record<string, string>);
      const payload = json !== undefined ? JSON.stringify(json) : body instanceof Uint8Array ? Buffer.from(body) : (body as string | undefined);
      const res = await fast.app.http.inject({ method: method as 'GET', url: path, headers: all, ...(payload !== undefined ? { payload } : {}) });
      let parsed: unknown = res.body;
      try { parsed = JSON.parse(res.body); } catch { /* not JSON */ }
      return { status: res.statusCode, body: parsed };
    },
    async socketApi(path, init = {}) {
      const { token = adminToken, json, ...rest } = init;
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (json !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${fast.baseUrl}${path}`, { ...rest, headers: { ...headers, ...(rest.headers as Record<string, string> | undefined) }, body: json !== undefined ? JSON.stringify(json) : rest.body });
      const text = await res.text();
      let parsed: unknown = text;
      try { parsed = JSON.parse(text); } catch { /* not JSON */ }
      return { status: res.status, body: parsed };
    },
    async restart(changes = {}, opts = {}, whileStopped) {
      await fast.app.stop();
      await whileStopped?.();
      current = await launch({ ...overrides, ...changes }, { ...createOptions, ...opts });
      fast.app = current.app;
      fast.baseUrl = current.baseUrl;
    },
    async stop() {
      await fast.app.stop();
      returnMigratedPGlite(pglite);
      await Promise.all([fakeAri.close(), fakeAmi.close()]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return fast;
}
