import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../../src/core/paths.js';
import { waitFor } from '../support/harness.js';
import { buildOnce } from '../support/build.js';
import { installCache, mount, serverRoot, unmountAll } from '../support/install-root.js';
import { unitSandbox, type UnitSandbox } from '../support/unit-sandbox.js';
import { writeWav } from '../../src/prompts/wav.js';

/**
 * docs/install.md's path on a fresh Debian 12 root: scripts/install.sh
 * installs the built service (user, folders, configuration, unit), and the
 * installed unit's ExecStart, run under the unit's sandbox as systemd would
 * run it (test/support/unit-sandbox.ts: its user, umask, environment file,
 * read-only system with its ReadWritePaths, private /tmp and /dev, seccomp
 * filters), starts against the lab Asterisk and Postgres and does its
 * writes there; `centralita doctor` run by the operator finds everything in
 * place.
 */
describe('scripts/install.sh on a fresh Debian 12 root, and the service it installs', () => {
  const root = join(installCache, 'test-root');
  const database = 'centralita_install';
  let service: ChildProcess | undefined;
  let port = 0;
  let installLog = '';
  const owners = new Map<string, { uid: number; gid: number }>();
  let sandbox: UnitSandbox;
  /** The unit as install.sh installed it, its sandbox made for this root (after the env file is filled in). */
  const unit = () => (sandbox ??= unitSandbox(readFileSync(join(root, 'etc/systemd/system/centralita.service'), 'utf8'), root, installCache));

  const sh = (args: string[], options: { input?: string } = {}) => spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 600_000, ...options });
  const inRoot = (args: string[]) => sh(['chroot', root, ...args]);
  const id = (what: '-u' | '-g') => Number(inRoot(['id', what, 'centralita']).stdout.trim());
  /** The unit's environment: the env file's KEY=VALUE lines (systemd's EnvironmentFile). */
  const environment = (): Record<string, string> => Object.fromEntries(readFileSync(join(root, 'etc/centralita/centralita.env'), 'utf8').split('\n')
    .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"(.*)"$/, '$1')]));
  const asService = (args: string[]) => ['chroot', '--userspec=centralita:centralita', root, '/usr/bin/env', '-i', ...Object.entries(environment()).map(([k, v]) => `${k}=${v}`), ...args];

  before(async () => {
    await buildOnce();
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

  it('the unit\'s sandbox is real: read-only outside ReadWritePaths, umask, private /tmp and /dev, no privileges, seccomp', () => {
    // A folder the service's user owns but the unit does not list: writable
    // to the user, so only the read-only mount can refuse the write.
    const unlisted = join(root, 'var/lib/centralita/unlisted');
    mkdirSync(unlisted, { recursive: true });
    chownSync(unlisted, id('-u'), id('-g'));
    const probe = [
      'try() { local name=$1; shift; if out=$("$@" 2>&1); then echo "$name: ok"; else echo "$name: ${out##*: }"; fi; }',
      'echo "id: $(id -un):$(id -gn) cwd: $(pwd) umask: $(umask)"',
      'try opt touch /opt/centralita/probe',
      'try unlisted touch /var/lib/centralita/unlisted/probe',
      'try data touch /var/lib/centralita/data/sandbox-probe',
      'echo "data mode: $(stat -c %a /var/lib/centralita/data/sandbox-probe)"; rm -f /var/lib/centralita/data/sandbox-probe',
      'try recordings mkdir /var/spool/centralita/recordings/sandbox-probe',
      'try setgid chmod 2770 /var/spool/centralita/recordings/sandbox-probe',
      'try groupwrite chmod 0770 /var/spool/centralita/recordings/sandbox-probe',
      'rmdir /var/spool/centralita/recordings/sandbox-probe',
      'try prompts touch /var/lib/centralita/prompts/sandbox-probe; rm -f /var/lib/centralita/prompts/sandbox-probe',
      'try tmp touch /tmp/sandbox-probe',
      'try root ls /root',
      'try namespace unshare --user true',
      'echo "dev: $(ls /dev | tr "\\n" " ")"',
      'grep -E "^(NoNewPrivs|CapBnd|CapEff|Seccomp):" /proc/self/status | tr -s "\\t" " "',
    ].join('\n');
    const run = sh(unit().command(['/bin/bash', '-c', probe]));
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    const out = run.stdout;
    rmSync(unlisted, { recursive: true, force: true });
    assert.match(out, /^id: centralita:centralita cwd: \/opt\/centralita umask: 0027$/m);
    assert.match(out, /^opt: Read-only file system$/m);
    assert.match(out, /^unlisted: Read-only file system$/m, 'a path outside ReadWritePaths is refused even to its owner');
    assert.match(out, /^data: ok$/m);
    assert.match(out, /^data mode: 640$/m, 'UMask=0027');
    assert.match(out, /^recordings: ok$/m);
    assert.match(out, /^setgid: Operation not permitted$/m, 'RestrictSUIDSGID');
    assert.match(out, /^groupwrite: ok$/m);
    assert.match(out, /^prompts: ok$/m);
    assert.match(out, /^tmp: ok$/m);
    assert.ok(!existsSync(join(root, 'tmp/sandbox-probe')), 'PrivateTmp: the file went to a /tmp of its own');
    assert.match(out, /^root: .*Permission denied/m, 'ProtectHome');
    assert.match(out, /^namespace: .*Operation not permitted/m, 'RestrictNamespaces');
    assert.match(out, /^dev: fd full null ptmx pts random shm stderr stdin stdout tty urandom zero $/m, 'PrivateDevices');
    assert.match(out, /^NoNewPrivs: 1$/m);
    assert.match(out, /^CapBnd: 0+$/m);
    assert.match(out, /^CapEff: 0+$/m);
    assert.match(out, /^Seccomp: 2$/m);
  });

  it('runs the unit\'s ExecStart under its sandbox, healthy against the lab, writing where it writes; doctor finds all in place; SIGTERM stops it', async () => {
    let output = '';
    const command = unit().command();
    service = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    service.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    service.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const base = `http://127.0.0.1:${port}`;
    const health = await waitFor(async () => {
      if (service!.exitCode !== null) throw new Error(`the service exited (${service!.exitCode}):\n${output}`);
      const res = await fetch(`${base}/health`).catch(() => undefined);
      return res?.status === 200 ? res.json() : undefined;
    }, 30_000, `the installed service did not become healthy:\n${output}`) as { version?: string };
    assert.equal(health.version, JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).version);
    // The write journal, in the data folder.
    const journal = statSync(join(root, 'var/lib/centralita/data/write-journal.jsonl'));
    assert.deepEqual([journal.uid, journal.mode & 0o777], [id('-u'), 0o640]);
    // Its start-up checks write a probe into the recordings folder and find the prompts folder writable.
    // Complete lines only: the last may still be arriving.
    const lines = () => output.split('\n').slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { check?: string; msg?: string });
    for (const check of ['recordings folder', 'prompts and sounds']) {
      const line = await waitFor(() => lines().find((l) => l.check === check), 20_000, `no start-up check of the ${check}:\n${output}`);
      assert.match(line.msg ?? '', /^doctor: ok /, `${check}: ${line.msg}`);
    }
    // A prompt upload: converted in the worker, written into the prompts folder.
    const token = unit().environment.CENTRALITA_ADMIN_TOKEN!;
    const upload = await fetch(`${base}/api/v1/prompts?name=sandbox_check`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'audio/wav' }, body: new Uint8Array(writeWav(new Int16Array(800))),
    });
    assert.equal(upload.status, 201, await upload.text());
    const prompt = statSync(join(projectRoot, 'prompts/sandbox_check.wav'));
    assert.deepEqual([prompt.uid, prompt.mode & 0o777], [id('-u'), 0o644]);
    assert.equal((await fetch(`${base}/api/v1/prompts/sandbox_check`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.doesNotMatch(output, /EROFS|EACCES|read-only file system/i, 'the sandbox refused a write');
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
