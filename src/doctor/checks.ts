import { randomUUID } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { inProgressFolder } from '../recording/service.js';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { AmiClient, AmiMessage } from '../asterisk/ami.js';
import type { Ari } from '../asterisk/ari.js';
import type { Config } from '../core/config.js';
import { migrationsDir } from '../core/migrate.js';
import { projectRoot } from '../core/paths.js';
import { checkDialplan, dialplanLines, readApplications } from './dialplan.js';
import { sleep } from '../core/sleep.js';

/**
 * One check's verdict: ok, a problem with how to fix it, manual (cannot be
 * read from here: the detail says what to check by hand, and why), or
 * skipped (not checkable in this run).
 */
export interface Verdict { check: string; status: 'ok' | 'problem' | 'manual' | 'skipped'; detail: string; fix?: string }

export interface DoctorContext {
  config: Config;
  ari: Ari;
  /** Logged in already, or undefined when the login failed (the AMI check says why). */
  ami: AmiClient | undefined;
  amiProblem?: string;
  db: Kysely<unknown> | undefined;
  dbProblem?: string;
  /** Probes that make Asterisk do something (a recording, a device state): the command runs them, start-up does not. */
  probes: boolean;
}

type Check = { name: string; probe?: boolean; run(ctx: DoctorContext): Promise<Omit<Verdict, 'check'>> };

const ok = (detail: string) => ({ status: 'ok' as const, detail });
const problem = (detail: string, fix: string) => ({ status: 'problem' as const, detail, fix });
const skipped = (detail: string) => ({ status: 'skipped' as const, detail });
const manual = (detail: string) => ({ status: 'manual' as const, detail });
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Asterisk modules centralita cannot work without (deploy/asterisk/modules.conf). */
const requiredModules = ['app_stasis.so', 'res_ari.so', 'res_stasis_playback.so', 'res_stasis_recording.so', 'res_stasis_snoop.so', 'res_manager_devicestate.so', 'bridge_simple.so', 'bridge_softmix.so'];

/** Each check of docs/install.md, in the guide's order. */
export const checks: Check[] = [
  {
    name: 'database',
    async run({ db, dbProblem }) {
      if (!db) return problem(`cannot connect: ${dbProblem ?? 'unknown error'}`, 'check DATABASE_URL and that PostgreSQL runs (docs/install.md, step 6)');
      const version = (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db)).rows[0]!.v;
      const major = Number(version.split('.')[0]);
      const files = readdirSync(migrationsDir).filter((f) => /^\d+_[\w-]+\.sql$/.test(f));
      // no schema_migrations table (a database never migrated): every migration is pending
      const applied = new Set((await sql<{ name: string }>`select name from schema_migrations`.execute(db).catch(() => ({ rows: [] }))).rows.map((r) => r.name));
      const pending = files.filter((f) => !applied.has(f));
      const unknown = unknownMigrations(files, applied);
      if (major < 15) return problem(`PostgreSQL ${version}`, 'centralita needs PostgreSQL 15 or later');
      if (unknown.length) {
        return problem(`the database has migrations this version of centralita does not know: ${unknown.join(', ')} (a newer version migrated it; this one may misread the schema)`,
          'run the version that applied them, or a newer one; to go back to this version, restore the backup taken before the upgrade (docs/upgrade.md, "Going back")');
      }
      return ok(`PostgreSQL ${version}; ${applied.size} migrations applied${pending.length ? `, ${pending.length} to apply at the next start (${pending.join(', ')})` : ''}`);
    },
  },
  {
    name: 'ari',
    async run({ ari, config }) {
      try {
        const info = await ari.request('asterisk.getInfo', {});
        const version = info.system?.version ?? 'unknown';
        if (!/^(20|22)\./.test(version)) return problem(`${config.ari.url}: Asterisk ${version}`, 'centralita is tested on Asterisk 20 and 22');
        return ok(`${config.ari.url}: Asterisk ${version}, user ${config.ari.user}`);
      } catch (err) {
        return problem(`${config.ari.url}: ${errorText(err)}`, 'check CENTRALITA_ARI_URL, _USER and _PASSWORD against ari.conf and http.conf (docs/install.md, step 2)');
      }
    },
  },
  {
    name: 'asterisk modules',
    async run({ ari }) {
      const missing: string[] = [];
      for (const moduleName of requiredModules) {
        // a module Asterisk does not know (404) or a failed read: reported as missing
        const module = await ari.request('asterisk.getModule', { moduleName }).catch(() => undefined);
        if (!module || !/running/i.test(module.status)) missing.push(moduleName);
      }
      if (missing.length) return problem(`not loaded: ${missing.join(', ')}`, 'load them (deploy/asterisk/modules.conf, docs/install.md step 1)');
      return ok(`loaded: ${requiredModules.join(', ')}`);
    },
  },
  {
    name: 'clock',
    async run({ ari }) {
      const before = Date.now();
      const ping = await ari.request('asterisk.ping', {});
      const mine = (before + Date.now()) / 2;
      const skew = Math.abs(Date.parse(ping.timestamp) - mine) / 1000;
      if (!(skew <= 2)) return problem(`Asterisk's clock is ${skew.toFixed(1)} s from this host's`, 'run NTP (systemd-timesyncd or chrony) on both hosts: reports and recordings use both clocks');
      return ok(`within ${skew.toFixed(1)} s of Asterisk's`);
    },
  },
  {
    name: 'ami',
    async run({ ami, amiProblem, config }) {
      if (!ami) return problem(`${config.ami.host}:${config.ami.port} as ${config.ami.user}: ${amiProblem ?? 'no login'}`, 'check CENTRALITA_AMI_* against manager.conf, its permit line and bindaddr (docs/install.md, step 3)');
      try {
        const devices = await ami.listAction('DeviceStateList', 'DeviceStateListComplete');
        return ok(`logged in as ${config.ami.user}; DeviceStateList answered ${devices.length} device states`);
      } catch (err) {
        return problem(`DeviceStateList refused: ${errorText(err)}`, 'give the AMI user write = reporting (deploy/asterisk/manager.conf), and load res_manager_devicestate');
      }
    },
  },
  {
    name: 'ami events',
    probe: true,
    async run({ ami, ari }) {
      if (!ami) return skipped('no AMI login');
      // A device state set through ARI must reach AMI as DeviceStateChange
      // (class "call"): what desk phones' changes need.
      const name = `centralita-doctor-${randomUUID().slice(0, 8)}`;
      const device = `Stasis:${name}`; // ARI controls only its own Stasis: devices
      let seen = false;
      const off = ami.onEvent((event: AmiMessage) => { if (event.event === 'DeviceStateChange' && event.device === device) seen = true; });
      try {
        await ari.request('deviceStates.update', { deviceName: device, deviceState: 'INUSE' });
        for (let i = 0; i < 30 && !seen; i += 1) await sleep(100);
      } finally {
        off();
        // removing the probe's device state is tidying up; the check's verdict stands
        await ari.request('deviceStates.delete', { deviceName: device }).catch(() => undefined);
      }
      if (!seen) return problem('a device state change did not reach AMI within 3 s', 'give the AMI user read = call and keep DeviceStateChange in its eventfilter (deploy/asterisk/manager.conf)');
      return ok('device state changes reach AMI');
    },
  },
  {
    name: 'dialplan',
    async run({ ami, config }) {
      if (!ami) return skipped('no AMI login');
      let items: AmiMessage[];
      try {
        items = await ami.listAction('ShowDialPlan', 'ShowDialPlanComplete');
      } catch (err) {
        return problem(`ShowDialPlan refused: ${errorText(err)}`, 'give the AMI user write = reporting (deploy/asterisk/manager.conf)');
      }
      const globals = new Map<string, string>();
      const resolve = async (text: string): Promise<string> => {
        let out = text;
        for (const [whole, name] of text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)) {
          // a global that cannot be read resolves empty, which the check then reports
          if (!globals.has(name!)) globals.set(name!, String((await ami.action('Getvar', { Variable: name! }).catch(() => ({ value: '' }))).value ?? ''));
          out = out.replace(whole, globals.get(name!)!);
        }
        return out;
      };
      const lines = dialplanLines(items);
      for (const line of lines) {
        if (line.application && readApplications.has(line.application.toLowerCase())) line.appdata = await resolve(line.appdata ?? '');
      }
      return checkDialplan(lines, { app: config.ari.app, site: config.site });
    },
  },
  {
    name: 'recordings folder',
    async run({ config }) {
      const dir = config.recordingsDir;
      try {
        accessSync(dir, constants.W_OK | constants.R_OK);
        const probe = join(dir, `.centralita-doctor-${process.pid}`);
        writeFileSync(probe, 'probe');
        rmSync(probe);
      } catch (err) {
        return problem(`${dir}: not writable by centralita (${(err as NodeJS.ErrnoException).code ?? errorText(err)})`, 'create it and give centralita\'s user read and write access (docs/install.md, step 5)');
      }
      return ok(`${dir}: writable by centralita`);
    },
  },
  {
    name: 'recordings from asterisk',
    probe: true,
    async run({ ari, config }) {
      // A moment's recording of an empty bridge: Asterisk must write it
      // where centralita reads recordings.
      // Into in-progress/, as the service's recordings go (its mode is what a
      // non-root Asterisk needs to write there: 2770, group shared).
      const inProgress = join(config.recordingsDir, inProgressFolder);
      if (!existsSync(inProgress)) {
        // As the service would make it (it is made on the first recording otherwise).
        mkdirSync(inProgress, { recursive: true });
        chmodSync(inProgress, 0o2770);
      }
      const name = `${inProgressFolder}/centralita-doctor-${randomUUID().slice(0, 8)}`;
      const bridge = await ari.request('bridges.create', { type: 'mixing', name: name.replace('/', '-') });
      try {
        // An empty bridge sends no audio: the file holds only its header, which is enough to see where it lands.
        await ari.request('bridges.record', { bridgeId: bridge.id, name, format: 'wav', ifExists: 'overwrite' });
        await sleep(500);
        // the probe recording may have stopped by itself; the file check below is the verdict
        await ari.request('recordings.stop', { recordingName: name }).catch(() => undefined);
        const file = join(config.recordingsDir, `${name}.wav`);
        let found = false;
        for (let i = 0; i < 20 && !found; i += 1) {
          // Read, not only seen: centralita must be able to read what Asterisk writes.
          found = existsSync(file) && (() => { try { readFileSync(file); return true; } catch { return false; } })();
          if (!found) await sleep(100);
        }
        if (config.recordingsViaAri) {
          // not stored (404) or not readable: the problem reported just below
          const stored = await ari.request('recordings.getStored', { recordingName: name }).catch(() => undefined);
          if (!stored) return problem('a probe recording was not stored by Asterisk', 'check Asterisk can write /var/spool/asterisk/recording');
          return ok('Asterisk stores recordings; centralita fetches them through ARI (CENTRALITA_RECORDINGS_VIA_ARI)');
        }
        if (!found) return problem(`a probe recording made by Asterisk did not appear in ${config.recordingsDir}`, 'CENTRALITA_RECORDINGS_DIR must be the folder Asterisk records into (/var/spool/asterisk/recording), shared, or set CENTRALITA_RECORDINGS_VIA_ARI=true (docs/install.md, step 5)');
        rmSync(file, { force: true });
        return ok(`a probe recording made by Asterisk appeared in ${config.recordingsDir}`);
      } finally {
        // tidying up the probe (already gone, or never stored): the check's verdict stands
        await ari.request('recordings.deleteStored', { recordingName: name }).catch(() => undefined);
        await ari.request('bridges.destroy', { bridgeId: bridge.id }).catch(() => undefined);
      }
    },
  },
  {
    name: 'prompts and sounds',
    async run({ ari, config }) {
      const problems: string[] = [];
      try {
        accessSync(config.promptsDir, constants.W_OK | constants.R_OK);
      } catch {
        problems.push(`${config.promptsDir} not writable by centralita`);
      }
      const ours = readdirSync(join(projectRoot, 'sounds', 'es', 'centralita')).filter((f) => f.endsWith('.wav')).map((f) => `centralita/${f.slice(0, -4)}`);
      for (const soundId of [ours[0]!, 'hello-world']) {
        // an unknown sound (404) or a failed read: reported as a sound without those languages
        const sound = await ari.request('sounds.get', { soundId }).catch(() => undefined);
        const languages = new Set((sound?.formats ?? []).map((f) => f.language.slice(0, 2)));
        for (const lang of ['es', 'en']) if (!languages.has(lang)) problems.push(`sound ${soundId} missing in ${lang}`);
      }
      if (problems.length) return problem(problems.join('; '), 'copy sounds/<lang>/centralita into Asterisk\'s sounds and install the Spanish core sounds (docs/install.md, step 5)');
      return ok(`${config.promptsDir} writable; centralita's and the core sounds in es and en`);
    },
  },
  {
    name: 'http session limit',
    async run() {
      return manual(sessionLimitCheck);
    },
  },
];

/** What to check by hand in http.conf, and why: neither ARI nor a least-privilege AMI user can read it. */
export const sessionLimitCheck = 'check by hand that /etc/asterisk/http.conf has "sessionlimit = 1000" in [general] (Asterisk\'s default is 100): '
  + 'every waiting caller and ringing leg briefly holds an ARI session, and past the limit Asterisk refuses new ones, so calls fail under load '
  + '(ARI and a least-privilege AMI user cannot read http.conf; docs/install.md, step 2)';

/** Migrations the database has applied that this version's migrations/ does not have: it was migrated by a newer version. */
export function unknownMigrations(files: string[], applied: Iterable<string>): string[] {
  const known = new Set(files);
  return [...applied].filter((name) => !known.has(name)).sort();
}

/** Runs the checks (those that act on Asterisk only with `probes`); a check that throws is a problem naming the error. */
export async function runChecks(ctx: DoctorContext): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  for (const check of checks) {
    if (check.probe && !ctx.probes) continue;
    try {
      verdicts.push({ check: check.name, ...(await check.run(ctx)) });
    } catch (err) {
      verdicts.push({ check: check.name, status: 'problem', detail: errorText(err), fix: 'see docs/install.md' });
    }
  }
  return verdicts;
}

/** One line per check: `ok`, `PROBLEM … → fix`, `manual` (to check by hand) or `skip`. */
export function formatVerdict(v: Verdict): string {
  const label = { ok: 'ok     ', problem: 'PROBLEM', manual: 'manual ', skipped: 'skip   ' }[v.status];
  return `${label} ${v.check}: ${v.detail}${v.fix ? ` → ${v.fix}` : ''}`;
}
