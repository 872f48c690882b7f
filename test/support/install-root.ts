import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/core/paths.js';

/**
 * A Debian 12 root (debootstrap --variant=minbase bookworm, from the
 * machine's own Debian mirror as lab.sh finds it), cached under
 * /var/cache/centralita-install: a fresh server for scripts/install.sh. The
 * host's Node.js 20 and npm are copied in (Debian 12's own nodejs is 18;
 * docs/install.md points at NodeSource's packages), with its DNS, CA
 * certificates and npm settings so `npm ci` reaches the registry.
 */
export const installCache = '/var/cache/centralita-install';
const version = 'bookworm-minbase-1';

const run = (command: string, args: string[], options: { cwd?: string; timeout?: number } = {}): string => {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: options.timeout ?? 600_000, ...(options.cwd ? { cwd: options.cwd } : {}) });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
};

/** The cached pristine root, built once (about a minute). */
export function pristineRoot(): string {
  const root = join(installCache, 'root');
  const marker = join(root, '.centralita-install-root');
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === version) return root;
  mkdirSync(installCache, { recursive: true });
  if (!existsSync(join(root, 'etc/debian_version'))) {
    const mirror = run('bash', [join(projectRoot, 'scripts/lab.sh'), 'mirror']).trim();
    rmSync(`${root}.tmp`, { recursive: true, force: true });
    run('debootstrap', ['--variant=minbase', 'bookworm', `${root}.tmp`, mirror], { timeout: 900_000 });
    rmSync(root, { recursive: true, force: true });
    renameSync(`${root}.tmp`, root);
  }
  writeFileSync(marker, `${version}\n`);
  return root;
}

/** A throw-away copy of the pristine root with Node.js, npm and the network settings, at `target`. */
export function serverRoot(target: string): string {
  const pristine = pristineRoot();
  unmountAll(target);
  rmSync(target, { recursive: true, force: true });
  run('cp', ['-a', pristine, target]);
  cpSync('/usr/bin/node', join(target, 'usr/bin/node'));
  cpSync('/usr/lib/node_modules/npm', join(target, 'usr/lib/node_modules/npm'), { recursive: true });
  execFileSync('ln', ['-sfn', '../lib/node_modules/npm/bin/npm-cli.js', join(target, 'usr/bin/npm')]);
  for (const file of ['/etc/resolv.conf', '/etc/ssl/certs/ca-certificates.crt', '/etc/npmrc', '/usr/etc/npmrc']) {
    if (existsSync(file)) cpSync(file, join(target, file), { dereference: true });
  }
  for (const dir of ['proc', 'dev']) mount(dir === 'proc' ? ['-t', 'proc', 'proc'] : ['--bind', '/dev'], join(target, dir));
  return target;
}

export function mount(args: string[], where: string): void {
  mkdirSync(where, { recursive: true });
  run('mount', [...args, where]);
}

/** Unmounts everything under `target`, deepest first. */
export function unmountAll(target: string): void {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m): m is string => !!m && (m === target || m.startsWith(`${target}/`)));
  for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
}
