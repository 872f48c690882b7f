import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stopDrainMs } from '../../src/app.js';
import { ConfigError, knownKeys, loadConfig, parseConfigFile } from '../../src/core/config.js';
import { projectRoot } from '../../src/core/paths.js';

const read = (name: string): string => readFileSync(join(projectRoot, name), 'utf8');

/** A systemd unit's settings, `Key` → every value given (a key may repeat). */
function parseUnit(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1)]);
  }
  return settings;
}

/** install.sh's `readonly NAME=value` paths. */
function installPaths(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/^readonly (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

const unit = parseUnit(read('deploy/systemd/centralita.service'));
const one = (key: string): string => {
  const values = unit.get(key);
  assert.equal(values?.length, 1, `the unit sets ${key} once`);
  return values[0]!;
};
const install = read('scripts/install.sh');
const paths = installPaths(install);
const templateText = read('deploy/centralita.env.template');
const template = parseConfigFile(templateText, 'centralita.env.template');
const secrets = ['CENTRALITA_ADMIN_TOKEN', 'CENTRALITA_ARI_PASSWORD', 'CENTRALITA_AMI_PASSWORD'];

describe('the systemd unit, the env template and install.sh agree', () => {
  it('install.sh is valid bash and names every path the unit uses', () => {
    execFileSync('bash', ['-n', join(projectRoot, 'scripts/install.sh')]);
    for (const name of ['APP_DIR', 'ENV_FILE', 'DATA_DIR', 'PROMPTS_DIR', 'RECORDINGS_DIR', 'UNIT_FILE', 'SERVICE_USER', 'NODE']) {
      assert.ok(paths[name], `install.sh sets ${name}`);
    }
    assert.equal(one('User'), paths.SERVICE_USER);
    assert.equal(one('Group'), paths.SERVICE_USER);
    assert.equal(one('EnvironmentFile'), paths.ENV_FILE);
    assert.equal(one('EnvironmentFile'), '/etc/centralita/centralita.env');
    assert.equal(one('ExecStart'), `${paths.NODE} ${paths.APP_DIR}/dist/main.js`);
    assert.equal(one('ExecStart'), '/usr/bin/node /opt/centralita/dist/main.js');
    assert.equal(one('WorkingDirectory'), paths.APP_DIR);
    assert.equal(paths.UNIT_FILE, '/etc/systemd/system/centralita.service');
    // The only places the service may write: install.sh's three folders, and (optional, "-")
    // Asterisk's recording and prompts folders of docs/install.md's step 5.
    const writable = (unit.get('ReadWritePaths') ?? []).flatMap((line) => line.split(/\s+/));
    assert.deepEqual(writable.filter((p) => !p.startsWith('-')).sort(), [paths.DATA_DIR, paths.PROMPTS_DIR, paths.RECORDINGS_DIR].sort());
    assert.deepEqual(writable.filter((p) => p.startsWith('-')).sort(), ['-/usr/share/asterisk/sounds/centralita-prompts', '-/var/spool/asterisk/recording']);
  });

  it('systemd-analyze finds nothing to say about the unit', (t) => {
    let analyze: string;
    try {
      analyze = execFileSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).trim();
    } catch {
      return t.skip('no systemd-analyze on this machine');
    }
    // verify prints unknown keys, bad values and missing executables; a clean unit prints nothing.
    const result = spawnSync(analyze, ['verify', join(projectRoot, 'deploy/systemd/centralita.service')], { encoding: 'utf8' });
    assert.equal(`${result.stdout}${result.stderr}`, '');
    assert.equal(result.status, 0);
  });

  it('the template points the service at install.sh\'s folders', () => {
    assert.equal(template.CENTRALITA_DATA_DIR, paths.DATA_DIR);
    assert.equal(template.CENTRALITA_RECORDINGS_DIR, paths.RECORDINGS_DIR);
    assert.equal(template.CENTRALITA_PROMPTS_DIR, paths.PROMPTS_DIR);
  });

  it('the unit restarts on failure, after Postgres, hardened, with room to drain', () => {
    assert.equal(one('Restart'), 'on-failure');
    assert.equal(one('RestartPreventExitStatus'), '78', 'a configuration error (exit 78 in src/main.ts) is not retried');
    assert.deepEqual(one('After').split(/\s+/).sort(), ['network-online.target', 'postgresql.service']);
    assert.equal(one('Wants'), 'network-online.target');
    assert.equal(one('KillSignal'), 'SIGTERM');
    // stop() waits stopDrainMs (5 s) for the write queue, after closing HTTP and ARI
    // (about 1 s): 30 s leaves it five times over before systemd's SIGKILL.
    assert.ok(Number(one('TimeoutStopSec')) * 1000 >= 5 * stopDrainMs, `TimeoutStopSec=${one('TimeoutStopSec')} for a ${stopDrainMs} ms drain`);
    for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'],
      ['CapabilityBoundingSet', ''], ['AmbientCapabilities', ''], ['RestrictSUIDSGID', 'yes']] as const) {
      assert.equal(one(key), value, key);
    }
    assert.equal(unit.get('MemoryDenyWriteExecute'), undefined, 'V8 needs writable executable memory');
  });

  it('the template names only keys the config reads, every one of them, and no secret', () => {
    // parseConfigFile refused any unknown key above; commented keys are checked here.
    const mentioned = new Set([...templateText.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
    for (const key of mentioned) assert.ok(knownKeys.has(key), `${key} in the template is not a key src/core/config.ts reads`);
    // CENTRALITA_CONFIG names a file to read: meaningless inside the file systemd reads.
    const missing = [...knownKeys].filter((key) => key !== 'CENTRALITA_CONFIG' && !mentioned.has(key));
    assert.deepEqual(missing, [], 'keys the config reads that the template does not mention');
    assert.equal(template.CENTRALITA_LAB, undefined, 'CENTRALITA_LAB stays commented out');
    for (const key of secrets) assert.equal(template[key], '', `${key} is in the template, empty`);
  });

  it('a copy left as it is does not start; with the secrets set it does, with every required key present', () => {
    assert.throws(() => loadConfig(template), (err: unknown) => err instanceof ConfigError && err.key === 'CENTRALITA_ADMIN_TOKEN');
    const filled = { ...template, CENTRALITA_ADMIN_TOKEN: 'a'.repeat(48), CENTRALITA_ARI_PASSWORD: 'ari-secret', CENTRALITA_AMI_PASSWORD: 'ami-secret' };
    const config = loadConfig(filled);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.databaseUrl, 'postgresql:///centralita?host=/run/postgresql&user=centralita');
    assert.equal(config.dataDir, paths.DATA_DIR);
    assert.deepEqual([config.ari.user, config.ami.user], ['centralita', 'centralita']);
    // Each required key: without it, loadConfig names it.
    for (const key of Object.keys(filled)) {
      const without = { ...filled, [key]: undefined };
      try {
        loadConfig(without);
      } catch (err) {
        assert.ok(err instanceof ConfigError && err.key === key, `removing ${key} failed on ${(err as ConfigError).key}`);
        assert.match(err.message, /required/);
      }
    }
  });

  it('install.sh writes the env file once, 0600 root:centralita, with a generated admin token', () => {
    assert.match(install, /if \[ -e "\$ENV_FILE" \]; then\n\s+say "kept/, 'an existing env file is kept');
    assert.match(install, /chown root:"\$SERVICE_USER" "\$ENV_FILE\.tmp"/);
    assert.match(install, /chmod 0600 "\$ENV_FILE\.tmp"/);
    assert.match(install, /s\/\^CENTRALITA_ADMIN_TOKEN=\\\$\/CENTRALITA_ADMIN_TOKEN=\$token\//);
    assert.match(install, /npm ci --omit=dev/);
    assert.match(install, /if \[ -d \/run\/systemd\/system \]; then/, 'systemctl only when systemd runs');
  });
});
