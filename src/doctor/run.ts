import { sql } from 'kysely';
import { AmiClient } from '../asterisk/ami.js';
import { AriClient } from '../asterisk/ari.js';
import type { Config } from '../core/config.js';
import { openDatabase, type DatabaseHandle } from '../core/db.js';
import type { Logger } from '../core/logger.js';
import { sleep } from '../core/sleep.js';
import { runChecks, type DoctorContext, type Verdict } from './checks.js';

/**
 * `centralita doctor`: connects to the configured database, ARI and AMI on
 * its own (a second ARI client makes REST calls only, so it never takes the
 * Stasis application from a running centralita) and runs the checks of
 * docs/install.md. `probes`: also the checks that make Asterisk record a
 * second of an empty bridge and set a custom device state.
 */
export async function doctor(config: Config, logger: Logger, options: { probes: boolean }): Promise<Verdict[]> {
  if (config.mediaServers) return doctorOfMediaServers(config, config.mediaServers, logger, options);
  let database: DatabaseHandle<unknown> | undefined;
  let dbProblem: string | undefined;
  if (config.databaseUrl) {
    try {
      database = await openDatabase<unknown>(config, logger);
      await sql`select 1`.execute(database.db);
    } catch (err) {
      dbProblem = err instanceof Error ? err.message : String(err);
      // closing a pool that never connected may fail too: the problem is already reported
      await database?.close().catch(() => undefined);
      database = undefined;
    }
  } else {
    dbProblem = 'the embedded database (no DATABASE_URL) is only opened by the running service';
  }
  const ari = new AriClient(config.ari, logger);
  const ami = new AmiClient({ ...config.ami, events: ['DeviceStateChange'] }, logger);
  ami.start();
  for (let i = 0; i < 50 && ami.state !== 'up'; i += 1) await sleep(100);
  const ctx: DoctorContext = {
    config, ari, db: database?.db, probes: options.probes,
    ...(ami.state === 'up' ? { ami } : { ami: undefined, amiProblem: 'no login within 5 s (refused, unreachable, or not permitted from this address)' }),
    ...(dbProblem ? { dbProblem } : {}),
  };
  try {
    const verdicts = await runChecks(ctx);
    if (!config.databaseUrl) {
      const db = verdicts.find((v) => v.check === 'database');
      if (db) Object.assign(db, { status: 'skipped', detail: dbProblem, fix: undefined });
    }
    return verdicts;
  } finally {
    await ami.stop();
    await ari.stop();
    await database?.close();
  }
}

/** Checks that do not depend on the media server: run once. */
const serverIndependent = new Set(['database', 'recordings folder', 'http session limit']);

/**
 * Several media servers (docs/scale-out.md): every Asterisk check on each
 * one (named `check (server)`), the others once, and whether their system
 * names are set and distinct (Asterisk's channel ids start with it, and
 * centralita routes by channel id).
 */
async function doctorOfMediaServers(config: Config, servers: NonNullable<Config['mediaServers']>, logger: Logger, options: { probes: boolean }): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  const systemNames = new Map<string, string[]>();
  for (const [k, server] of servers.entries()) {
    const one: Config = { ...config, ari: { ...config.ari, url: server.ariUrl }, ami: { ...config.ami, host: server.amiHost } };
    delete one.mediaServers;
    for (const verdict of await doctor(one, logger, options)) {
      if (!serverIndependent.has(verdict.check)) verdicts.push({ ...verdict, check: `${verdict.check} (${server.name})` });
      else if (k === 0) verdicts.push(verdict);
    }
    const ari = new AriClient(one.ari, logger);
    const name = await ari.request('asterisk.getInfo', {}).then((info) => info.config?.name ?? '', () => undefined);
    await ari.stop();
    if (name !== undefined) systemNames.set(name, [...(systemNames.get(name) ?? []), server.name]);
  }
  const shared = [...systemNames].filter(([name, owners]) => name === '' || owners.length > 1);
  verdicts.push(shared.length === 0
    ? { check: 'media server names', status: 'ok', detail: [...systemNames].map(([name, owners]) => `${owners[0]}: ${name}`).join(', ') }
    : {
      check: 'media server names', status: 'problem',
      detail: shared.map(([name, owners]) => (name === '' ? `no systemname on ${owners.join(', ')}` : `systemname ${name} on ${owners.join(' and ')}`)).join('; '),
      fix: 'give each media server its own systemname in asterisk.conf [options] (docs/scale-out.md): channel ids must differ across servers',
    });
  return verdicts;
}
