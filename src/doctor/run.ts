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
