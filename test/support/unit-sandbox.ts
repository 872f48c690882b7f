import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/core/paths.js';

/**
 * A systemd service unit's sandbox, emulated for a root folder on a machine
 * whose PID 1 is not systemd (no systemd-run, no nspawn): the [Service]
 * directives are read and each is carried out as systemd 252 (Debian 12's)
 * carries it out — a private mount namespace (`unshare -m`) in which the
 * root is bound read-only with the ReadWritePaths bound writable again,
 * /tmp private, /dev minimal, /home inaccessible…; then `chroot` and
 * `setpriv` (user, groups, no_new_privs, no capabilities), and last
 * test/support/unit-sandbox-exec.c (umask, working directory, the seccomp
 * filters of SystemCallFilter=, RestrictSUIDSGID=, RestrictNamespaces=…).
 *
 * A directive that is not in the table below fails `unitSandbox` loudly,
 * and so does a value the emulation does not know: the test must not pass
 * under a looser sandbox than the unit asks for.
 */

export interface UnitSandbox {
  /** argv that runs `command` (ExecStart by default) under the unit's sandbox; it must be started as root. */
  command(argv?: string[]): string[];
  /** The environment the service gets (Environment=, EnvironmentFile=, User='s HOME…). */
  environment: Record<string, string>;
  user: string;
  group: string;
}

/** What the unit's [Service] directives ask of the sandbox. */
export interface Plan {
  user?: string;
  group?: string;
  umask: string;
  environment: [string, string][];
  environmentFiles: { path: string; optional: boolean }[];
  workingDirectory?: string;
  execStart?: string[];
  protectSystem: 'no' | 'yes' | 'full' | 'strict';
  protectHome: boolean;
  readWritePaths: { path: string; optional: boolean }[];
  privateTmp: boolean;
  privateDevices: boolean;
  kernelTunables: boolean;
  kernelModules: boolean;
  kernelLogs: boolean;
  controlGroups: boolean;
  hostname: boolean;
  clock: boolean;
  noNewPrivileges: boolean;
  dropCapabilities: boolean;
  allow: string[];
  deny: string[];
  errno: string;
  restrict: string[];
  families?: number[];
}

const yes = (name: string, value: string): boolean => {
  if (/^(yes|true|on|1)$/.test(value)) return true;
  if (/^(no|false|off|0)$/.test(value)) return false;
  throw new Error(`${name}=${value}: not a boolean the sandbox emulation knows`);
};
const only = (name: string, value: string, allowed: string[]): string => {
  if (!allowed.includes(value)) throw new Error(`${name}=${value}: the sandbox emulation knows only ${allowed.map((a) => `${name}=${a}`).join(', ')}`);
  return value;
};
const paths = (value: string) => value.split(/\s+/).filter(Boolean).map((p) => ({ path: p.replace(/^-/, ''), optional: p.startsWith('-') }));
/** systemd-analyze's syscall groups, nested groups expanded. */
const groups = (): Map<string, string[]> => {
  const listed = spawnSync('systemd-analyze', ['syscall-filter'], { encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`systemd-analyze syscall-filter failed (SystemCallFilter= needs it): ${listed.stderr}`);
  const raw = new Map<string, string[]>();
  let group = '';
  for (const line of listed.stdout.split('\n')) {
    if (/^@\S+$/.test(line)) raw.set(group = line, []);
    else if (/^ {4}[@a-z0-9_-]+$/.test(line) && group) raw.get(group)!.push(line.trim());
  }
  return raw;
};
const expand = (names: string[], known: Map<string, string[]>, seen = new Set<string>()): string[] => names.flatMap((n) => {
  if (!n.startsWith('@')) return [n];
  if (seen.has(n)) return [];
  seen.add(n);
  const members = known.get(n);
  if (!members) throw new Error(`SystemCallFilter: unknown group ${n}`);
  return expand(members, known, seen);
});
const errnos = ['EPERM', 'EACCES', 'ENOSYS'];
const families: Record<string, number> = { AF_UNIX: 1, AF_INET: 2, AF_INET6: 10, AF_NETLINK: 16, AF_PACKET: 17 };

/**
 * Every directive of [Service] the emulation knows. Those that only say
 * how systemd starts, reloads, restarts or stops the service change
 * nothing the process may do: they are named so that a new one is a
 * conscious decision.
 */
const lifecycle = () => undefined;
const directives: Record<string, (value: string, plan: Plan) => void> = {
  Type: (v) => { only('Type', v, ['simple']); },
  ExecReload: lifecycle,
  Restart: lifecycle,
  RestartSec: lifecycle,
  RestartPreventExitStatus: lifecycle,
  KillSignal: lifecycle,
  TimeoutStopSec: lifecycle,
  // Removes the user's System V IPC objects and POSIX message queues when the service stops: nothing while it runs.
  RemoveIPC: (v) => { yes('RemoveIPC', v); },
  User: (v, p) => { p.user = v; },
  Group: (v, p) => { p.group = v; },
  UMask: (v, p) => { if (!/^0?[0-7]{3}$/.test(v)) throw new Error(`UMask=${v}`); p.umask = v; },
  EnvironmentFile: (v, p) => { p.environmentFiles.push(...paths(v)); },
  Environment: (v, p) => {
    for (const pair of v.split(/\s+/).filter(Boolean)) {
      if (/["'$\\]/.test(pair) || !pair.includes('=')) throw new Error(`Environment=${v}: quoting and specifiers are not emulated`);
      p.environment.push([pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]);
    }
  },
  WorkingDirectory: (v, p) => { if (!v.startsWith('/')) throw new Error(`WorkingDirectory=${v}: only an absolute path is emulated`); p.workingDirectory = v; },
  ExecStart: (v, p) => {
    if (!v.startsWith('/') || /[$%"'\\;]/.test(v)) throw new Error(`ExecStart=${v}: prefixes, specifiers, variables and quoting are not emulated`);
    if (p.execStart) throw new Error('ExecStart= given twice: only Type=oneshot takes several');
    p.execStart = v.split(/\s+/);
  },
  NoNewPrivileges: (v, p) => { p.noNewPrivileges = yes('NoNewPrivileges', v); },
  CapabilityBoundingSet: (v, p) => { only('CapabilityBoundingSet', v, ['']); p.dropCapabilities = true; },
  // Empty: none (the user is not root, so it has none anyway).
  AmbientCapabilities: (v) => { only('AmbientCapabilities', v, ['']); },
  ProtectSystem: (v, p) => { p.protectSystem = v === 'strict' || v === 'full' ? v : yes('ProtectSystem', v) ? 'yes' : 'no'; },
  ProtectHome: (v, p) => { p.protectHome = yes('ProtectHome', v); },
  ReadWritePaths: (v, p) => { p.readWritePaths.push(...paths(v)); },
  PrivateTmp: (v, p) => { p.privateTmp = yes('PrivateTmp', v); },
  PrivateDevices: (v, p) => { p.privateDevices = yes('PrivateDevices', v); if (p.privateDevices) p.deny.push('@raw-io'); },
  ProtectKernelTunables: (v, p) => { p.kernelTunables = yes('ProtectKernelTunables', v); },
  ProtectKernelModules: (v, p) => { p.kernelModules = yes('ProtectKernelModules', v); if (p.kernelModules) p.deny.push('@module'); },
  ProtectKernelLogs: (v, p) => { p.kernelLogs = yes('ProtectKernelLogs', v); if (p.kernelLogs) p.deny.push('syslog'); },
  ProtectControlGroups: (v, p) => { p.controlGroups = yes('ProtectControlGroups', v); },
  // Its device rule (no /dev/rtc) holds through PrivateDevices= (checked below): cgroup device rules are not emulated.
  ProtectClock: (v, p) => { if ((p.clock = yes('ProtectClock', v))) p.deny.push('@clock'); },
  ProtectHostname: (v, p) => { p.hostname = yes('ProtectHostname', v); if (p.hostname) p.deny.push('sethostname', 'setdomainname'); },
  RestrictNamespaces: (v, p) => { if (yes('RestrictNamespaces', v)) p.restrict.push('namespaces'); },
  RestrictRealtime: (v, p) => { if (yes('RestrictRealtime', v)) p.restrict.push('realtime'); },
  RestrictSUIDSGID: (v, p) => { if (yes('RestrictSUIDSGID', v)) p.restrict.push('suidsgid'); },
  LockPersonality: (v, p) => { if (yes('LockPersonality', v)) p.restrict.push('personality'); },
  RestrictAddressFamilies: (v, p) => {
    p.families = v.split(/\s+/).map((f) => {
      const n = families[f];
      if (n === undefined) throw new Error(`RestrictAddressFamilies: ${f} is not emulated (only an allow list of ${Object.keys(families).join(', ')})`);
      return n;
    });
  },
  // The filters are built for the native architecture only: libseccomp answers other ones with SIGSYS, as systemd's do.
  SystemCallArchitectures: (v) => { only('SystemCallArchitectures', v, ['native']); },
  SystemCallFilter: (v, p) => {
    if (v.startsWith('~')) p.deny.push(...v.slice(1).split(/\s+/).filter(Boolean));
    else p.allow.push(...v.split(/\s+/).filter(Boolean));
  },
  SystemCallErrorNumber: (v, p) => { p.errno = only('SystemCallErrorNumber', v, errnos); },
};

/** The [Service] section's KEY=VALUE lines, in order (continuation lines refused). */
export function serviceDirectives(unit: string): [string, string][] {
  let section = '';
  const out: [string, string][] = [];
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    if (/^\[.+\]$/.test(line)) { section = line; continue; }
    if (line.endsWith('\\')) throw new Error(`continuation lines are not emulated: ${line}`);
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`not KEY=VALUE: ${line}`);
    if (section === '[Service]') out.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return out;
}

/** systemd's EnvironmentFile= reading: KEY=VALUE lines, comments, one pair of quotes. */
export function readEnvironmentFile(text: string): [string, string][] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith(';')).map((l) => {
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(l);
    if (!m) throw new Error(`EnvironmentFile: not KEY=VALUE: ${l}`);
    const value = m[2]!;
    const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
    if (!quoted && /["'\\]/.test(value)) throw new Error(`EnvironmentFile: quoting not emulated in ${l}`);
    return [m[1]!, quoted ? quoted[1]! : value];
  });
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const helperSource = join(projectRoot, 'test/support/unit-sandbox-exec.c');

/** The helper, built into `dir` when missing or older than its source (gcc, the machine's libseccomp.so.2). */
function helper(dir: string): string {
  const out = join(dir, 'unit-sandbox-exec');
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(helperSource).mtimeMs) return out;
  mkdirSync(dir, { recursive: true });
  const built = spawnSync('gcc', ['-O1', '-Wall', '-o', out, helperSource, '-l:libseccomp.so.2'], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`building ${helperSource} failed:\n${built.stderr}`);
  return out;
}

/** The unit's [Service] directives read; one the emulation does not carry out throws, naming it. */
export function sandboxPlan(unit: string): Plan {
  const plan: Plan = {
    umask: '0022', environment: [], environmentFiles: [], protectSystem: 'no', protectHome: false, readWritePaths: [], privateTmp: false,
    privateDevices: false, kernelTunables: false, kernelModules: false, kernelLogs: false, controlGroups: false, hostname: false, clock: false,
    noNewPrivileges: false, dropCapabilities: false, allow: [], deny: [], errno: 'EPERM', restrict: [],
  };
  for (const [key, value] of serviceDirectives(unit)) {
    const apply = directives[key];
    if (!apply) throw new Error(`${key}= in the unit is not emulated by test/support/unit-sandbox.ts: add it there (as systemd carries it out) before relying on this test`);
    apply(value, plan);
  }
  if (!plan.user || !plan.group || !plan.execStart) throw new Error('the unit has no User=, Group= or ExecStart=: not emulated');
  if (plan.clock && !plan.privateDevices) throw new Error('ProtectClock= without PrivateDevices=: its device rule (cgroup) is not emulated');
  return plan;
}

/**
 * The sandbox of `unit` (the unit file's text) for the server root `root`.
 * `buildDir` holds the compiled helper (kept between runs).
 */
export function unitSandbox(unit: string, root: string, buildDir: string): UnitSandbox {
  const plan = sandboxPlan(unit);
  const user = plan.user!;
  const group = plan.group!;
  const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === user);
  if (!passwd) throw new Error(`no user ${user} in ${root}/etc/passwd`);
  // What systemd gives a service with User=, then Environment=, then the files (which win).
  const environment: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: passwd[5]!, LOGNAME: user, USER: user, SHELL: passwd[6]!,
  };
  for (const [k, v] of plan.environment) environment[k] = v;
  for (const file of plan.environmentFiles) {
    if (!existsSync(join(root, file.path))) {
      if (file.optional) continue;
      throw new Error(`EnvironmentFile=${file.path} does not exist in ${root}`);
    }
    for (const [k, v] of readEnvironmentFile(readFileSync(join(root, file.path), 'utf8'))) environment[k] = v;
  }

  const known = plan.allow.length || plan.deny.some((d) => d.startsWith('@')) ? groups() : new Map<string, string[]>();
  const seccomp = [
    ...plan.restrict,
    ...(plan.families ? [`families=${plan.families.join(',')}`] : []),
    ...(plan.deny.length ? [`deny=${plan.errno}:${expand(plan.deny, known).join(',')}`] : []),
    ...(plan.allow.length ? [`allow=${plan.errno}:${expand(plan.allow, known).join(',')}`] : []),
  ];
  const exec = helper(buildDir);
  const stage = '/run/centralita-sandbox';
  mkdirSync(join(root, stage), { recursive: true });

  const script = (argv: string[]): string => {
    const R = q(root);
    const lines = [
      'set -euo pipefail',
      `R=${R}`,
      // Every mount at or below $1 (but not below the paths after it) remounted with $2 (ro or rw): mount's ro=recursive is not applied by util-linux 2.38.
      `remount() { local top=$1 flag=$2; shift 2; local m x skip; for m in $(awk -v p="$top" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo); do skip=; for x in "$@"; do [[ $m == "$x" || $m == "$x"/* ]] && skip=1; done; [ -n "$skip" ] || mount -o remount,bind,$flag "$m"; done; }`,
      'own() { mount --rbind "$1" "$1"; }',
      'hide() { [ -e "$1" ] || return 0; if [ -d "$1" ]; then mount --bind "$R/run/centralita-sandbox/inaccessible-dir" "$1"; else mount --bind "$R/run/centralita-sandbox/inaccessible-file" "$1"; fi; mount -o remount,bind,ro "$1"; }',
      'readonly_tree() { [ -e "$1" ] || return 0; own "$1"; remount "$1" ro; }',
      'own "$R"',
      // The helper and the inaccessible nodes systemd binds over what it hides.
      `mount -t tmpfs -o mode=0755 tmpfs "$R${stage}"`,
      `cp ${q(exec)} "$R${stage}/exec"`,
      `mkdir -m 0000 "$R${stage}/inaccessible-dir"; install -m 0000 /dev/null "$R${stage}/inaccessible-file"`,
      // A service sees the machine's /sys (read-only below, with ProtectKernelTunables=).
      'mkdir -p "$R/sys"; mount --rbind /sys "$R/sys"',
    ];
    if (plan.privateDevices) {
      lines.push(
        'mount -t tmpfs -o mode=0755,nosuid,noexec tmpfs "$R/dev"',
        'for n in null zero full random urandom tty; do touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; done',
        'mkdir -m 0755 "$R/dev/pts" && mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts" && ln -s pts/ptmx "$R/dev/ptmx"',
        'mkdir -m 1777 "$R/dev/shm" && mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"',
        'ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"',
      );
    }
    if (plan.protectSystem === 'strict') lines.push('remount "$R" ro "$R/dev" "$R/proc" "$R/sys"');
    else if (plan.protectSystem !== 'no') {
      for (const dir of ['/usr', '/boot', '/efi', ...(plan.protectSystem === 'full' ? ['/etc'] : [])]) lines.push(`readonly_tree "$R${dir}"`);
    }
    for (const { path, optional } of plan.readWritePaths) {
      lines.push(`if [ -e "$R"${q(path)} ]; then own "$R"${q(path)}; remount "$R"${q(path)} rw; else ${optional ? ':' : `echo ${q(`ReadWritePaths=${path}: no such folder (systemd: 226/NAMESPACE)`)} >&2; exit 226`}; fi`);
    }
    if (plan.privateTmp) lines.push('for t in /tmp /var/tmp; do mkdir -p "$R$t"; mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R$t"; done');
    if (plan.protectHome) lines.push('for h in /home /root /run/user; do hide "$R$h"; done');
    if (plan.kernelTunables) {
      lines.push('for t in /proc/sys /proc/sysrq-trigger /proc/latency_stats /proc/acpi /proc/timer_stats /proc/asound /proc/bus /proc/fs /proc/irq /sys; do readonly_tree "$R$t"; done',
        'for t in /proc/kallsyms /proc/kcore; do hide "$R$t"; done');
    }
    if (plan.kernelModules) lines.push('for t in /usr/lib/modules /lib/modules; do [ -L "$R$t" ] || hide "$R$t"; done');
    if (plan.kernelLogs) lines.push('for t in /proc/kmsg /dev/kmsg; do hide "$R$t"; done');
    if (plan.controlGroups) lines.push('readonly_tree "$R/sys/fs/cgroup"');
    const setpriv = ['/usr/bin/setpriv', `--reuid=${user}`, `--regid=${group}`, '--init-groups',
      ...(plan.noNewPrivileges || seccomp.length ? ['--no-new-privs'] : []),
      ...(plan.dropCapabilities ? ['--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all'] : []), '--'];
    const helperArgs = [`${stage}/exec`, `umask=${plan.umask}`, ...(plan.workingDirectory ? [`chdir=${plan.workingDirectory}`] : []), ...seccomp, '--'];
    const env = ['/usr/bin/env', '-i', ...Object.entries(environment).map(([k, v]) => `${k}=${v}`)];
    lines.push(`exec chroot "$R" ${[...setpriv, ...env, ...helperArgs, ...argv].map(q).join(' ')}`);
    return lines.join('\n');
  };

  return {
    user,
    group,
    environment,
    command: (argv = plan.execStart!) => ['unshare', '--mount', '--propagation', 'private', ...(plan.hostname ? ['--uts'] : []), '--', 'bash', '-c', script(argv)],
  };
}
