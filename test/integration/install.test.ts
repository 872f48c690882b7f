import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../../src/core/paths.js';
import { waitFor } from '../support/harness.js';
import { installCache, mount, serverRoot, unmountAll } from '../support/install-root.js';

/**
 * docs/install.md's path on a fresh Debian 12 root: scripts/install.sh
 * installs the built service (user, folders, configuration, unit), and the
 * installed `node dist/main.js`, run as the unit runs it (its user, its
 * environment file), starts against the lab Asterisk and Postgres; `centralita
 * doctor` run there finds everything in place.
 */
describe('scripts/install.sh on a fresh Debian 12 root, and the service it installs', () => {
  const root = join(installCache, 'test-root');
  const database = 'centralita_install';
  let service: ChildProcess | undefined;
  let port = 0;
  let installLog = '';
  const owners = new Map<string, { uid: number; gid: number }>();

  const sh = (args: string[], options: { input?: string } = {}) => spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 600_000, ...options });
  const inRoot = (args: string[]) => sh(['chroot', root, ...args]);
  const id = (what: '-u' | '-g') => Number(inRoot(['id', what, 'centralita']).stdout.trim());
  /** The unit's environment: the env file's KEY=VALUE lines (systemd's EnvironmentFile). */
  const environment = (): Record<string, string> => Object.fromEntries(readFileSync(join(root, 'etc/centralita/centralita.env'), 'utf8').split('\n')
    .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"(.*)"$/, '$1')]));
  const asService = (args: string[]) => ['chroot', '--userspec=centralita:centralita', root, '/usr/bin/env', '-i', ...Object.entries(environment()).map(([k, v]) => `${k}=${v}`), ...args];

  before(async () => {
    const build = sh(['npm', 'run', 'build'], {});
    assert.equal(build.status, 0, build.stderr);
    serverRoot(root);
    // The checkout as an operator would have it, built.
    const src = join(root, 'src');
    mkdirSync(src, { recursive: true });
    for (const entry of ['dist', 'migrations', 'web', 'sounds', 'deploy', 'scripts', 'package.json', 'package-lock.json', 'README.md', 'CHANGELOG.md']) {
      if (existsSync(join(projectRoot, entry))) cpSync(join(projectRoot, entry), join(src, entry), { recursive: true });
    }
    // npm's cache from the host: the packages are the same.
    mount(['--bind', '/root/.npm'], join(root, 'root/.npm'));
    const install = inRoot(['bash', '/src/scripts/install.sh']);
    installLog = `${install.stdout}${install.stderr}`;
    assert.equal(install.status, 0, installLog);
    // The lab Asterisk records into the checkout's recordings folder and
    // plays prompts from its prompts folder: the server's folders are those.
    for (const [host, inside] of [['recordings', 'var/spool/centralita/recordings'], ['prompts', 'var/lib/centralita/prompts']] as const) {
      const dir = join(projectRoot, host);
      mkdirSync(dir, { recursive: true });
      // Its in-progress folder too (made 2770 by the root-run tests' service), as install.sh makes it.
      for (const owned of [dir, join(dir, 'in-progress')].filter((d) => existsSync(d))) {
        owners.set(owned, { uid: statSync(owned).uid, gid: statSync(owned).gid });
        chownSync(owned, id('-u'), id('-g'));
      }
      mount(['--bind', dir], join(root, inside));
    }
    sh(['psql', '-q', '-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-c', `drop database if exists ${database} with (force)`, '-c', `create database ${database}`]);
    port = await new Promise<number>((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
    // What the operator fills in (docs/install.md, step 7): the lab's users,
    // and the application name and entry contexts of the lab's dialplan (doctor checks them).
    const env = readFileSync(join(root, 'etc/centralita/centralita.env'), 'utf8')
      .replace(/^#?\s*DATABASE_URL=.*$/m, `DATABASE_URL=postgres://postgres@127.0.0.1:5432/${database}`)
      .replace(/^#?\s*CENTRALITA_PORT=.*$/m, `CENTRALITA_PORT=${port}`)
      .replace(/^#?\s*CENTRALITA_ARI_USER=.*$/m, 'CENTRALITA_ARI_USER=centralita')
      .replace(/^#?\s*CENTRALITA_ARI_PASSWORD=.*$/m, 'CENTRALITA_ARI_PASSWORD=centralita-lab-ari')
      .replace(/^#?\s*CENTRALITA_ARI_APP=.*$/m, 'CENTRALITA_ARI_APP=centralita')
      .replace(/^#?\s*CENTRALITA_AMI_USER=.*$/m, 'CENTRALITA_AMI_USER=centralita-least')
      .replace(/^#?\s*CENTRALITA_AMI_PASSWORD=.*$/m, 'CENTRALITA_AMI_PASSWORD=centralita-lab-ami-least')
      .replace(/^#?\s*CENTRALITA_INBOUND_CONTEXTS=.*$/m, 'CENTRALITA_INBOUND_CONTEXTS=from-carrier')
      .replace(/^#?\s*CENTRALITA_PHONE_CONTEXTS=.*$/m, 'CENTRALITA_PHONE_CONTEXTS=from-phones');
    writeFileSync(join(root, 'etc/centralita/centralita.env'), env);
  });

  after(async () => {
    if (service && service.exitCode === null) {
      service.kill('SIGKILL');
      await new Promise((r) => service!.once('exit', r));
    }
    unmountAll(root);
    for (const [dir, { uid, gid }] of owners) chownSync(dir, uid, gid);
    sh(['psql', '-q', '-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-c', `drop database if exists ${database} with (force)`]);
  });

  it('installs the user, the app, the folders, a 0600 configuration and the unit', () => {
    assert.match(inRoot(['getent', 'passwd', 'centralita']).stdout, /^centralita:x:\d+:\d+::\/var\/lib\/centralita:\/usr\/sbin\/nologin$/m);
    assert.ok(existsSync(join(root, 'opt/centralita/dist/main.js')));
    assert.ok(existsSync(join(root, 'opt/centralita/node_modules/fastify')), 'production packages installed');
    assert.ok(!existsSync(join(root, 'opt/centralita/node_modules/tsx')), 'no dev packages');
    const env = statSync(join(root, 'etc/centralita/centralita.env'));
    assert.equal(env.mode & 0o777, 0o600);
    assert.deepEqual([env.uid, env.gid], [0, id('-g')]);
    assert.ok(existsSync(join(root, 'etc/systemd/system/centralita.service')));
    assert.match(installLog, /systemd is not running here/);
    const data = statSync(join(root, 'var/lib/centralita/data'));
    assert.deepEqual([data.uid, data.mode & 0o777], [id('-u'), 0o750]);
  });

  it('runs the installed build with node alone, as its user, healthy against the lab; doctor finds all in place; SIGTERM stops it', async () => {
    let output = '';
    service = spawn(asService(['/usr/bin/node', '/opt/centralita/dist/main.js'])[0]!, asService(['/usr/bin/node', '/opt/centralita/dist/main.js']).slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    service.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    service.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const health = await waitFor(async () => {
      if (service!.exitCode !== null) throw new Error(`the service exited (${service!.exitCode}):\n${output}`);
      const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      return res?.status === 200 ? res.json() : undefined;
    }, 30_000, `the installed service did not become healthy:\n${output}`) as { version?: string };
    assert.equal(health.version, JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).version);
    const args = asService(['/usr/bin/node', '/opt/centralita/dist/cli.js', 'doctor']);
    const doctor = sh(args);
    assert.equal(doctor.status, 0, `doctor:\n${doctor.stdout}${doctor.stderr}`);
    assert.match(doctor.stdout, /all checks passed/);
    assert.match(doctor.stdout, /^ok +recordings from asterisk/m);
    service.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => service!.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, output);
  });
});
