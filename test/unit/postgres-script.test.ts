import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

/**
 * scripts/postgres.sh (run by `npm test`) against fake PostgreSQL and apt
 * commands: PATH holds only the fakes and the few real tools the script
 * uses, so nothing here can reach the machine's own Postgres or apt.
 */
const script = join(import.meta.dirname, '../../scripts/postgres.sh');
// The script's own tools, then the fakes'.
const realTools = ['awk', 'cat', 'rm', 'seq', 'sleep', 'grep', 'sed', 'cp', 'mkdir', 'chmod', 'head'];

const debianHba = `# PostgreSQL Client Authentication Configuration File
# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             postgres                                peer
local   all             all                                     peer
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
`;

// The fakes keep the machine's state in files under $FAKE: clusters (as
// pg_lsclusters prints them), hba.loaded (what the server read at its last
// start or reload), calls (every command run, one a line) and sql (the
// statements psql ran, with the URL they went to). The server listens on
// 127.0.0.1:5432 only; its password for postgres is "secret".
const fakes: Record<string, string> = {
  'pg_lsclusters': 'cat "$FAKE/clusters" 2>/dev/null || true',
  'pg_isready': `[[ $3 =~ ^postgres://([^@/]*@)?127\\.0\\.0\\.1:5432/ ]] || exit 2
grep -q online "$FAKE/clusters" 2>/dev/null`,
  'psql': `url=""; sql=()
while [ $# -gt 0 ]; do case "$1" in -d) url=$2; shift ;; -c|-Atc) sql+=("$2"); shift ;; esac; shift; done
[[ $url =~ ^postgres://(([^:@/]*)(:([^@/]*))?@)?127\\.0\\.0\\.1:5432/ ]] || { echo 'psql: error: connection refused' >&2; exit 2; }
grep -q online "$FAKE/clusters" 2>/dev/null || { echo 'psql: error: connection refused' >&2; exit 2; }
user=\${BASH_REMATCH[2]:-root} password=\${BASH_REMATCH[4]}
method=$(awk -v u="$user" '$1 == "host" && ($3 == u || $3 == "all") && $4 == "127.0.0.1/32" { print $5; exit }' "$FAKE/hba.loaded")
case "$method" in
  trust) ;;
  scram-sha-256) [ "$user" = postgres ] && [ "$password" = secret ] || { echo "psql: error: password authentication failed for user $user" >&2; exit 2; } ;;
  *) echo 'psql: error: no pg_hba.conf entry' >&2; exit 2 ;;
esac
for s in "\${sql[@]}"; do [ "$s" = 'select 1' ] || echo "$url $s" >>"$FAKE/sql"; done`,
  'pg_ctlcluster': `case "$4" in
  start) sed -i 's/ down / online /' "$FAKE/clusters"; cp "$CENTRALITA_PG_ETC_DIR/$2/$3/pg_hba.conf" "$FAKE/hba.loaded" ;;
  reload) cp "$CENTRALITA_PG_ETC_DIR/$2/$3/pg_hba.conf" "$FAKE/hba.loaded" ;;
esac`,
  'pg_createcluster': `mkdir -p "$CENTRALITA_PG_ETC_DIR/$3/$4"
printf '%s' "$DEBIAN_HBA" >"$CENTRALITA_PG_ETC_DIR/$3/$4/pg_hba.conf"
echo "$3 $4 $2 down postgres /var/lib/postgresql/$3/$4 /var/log/postgresql/postgresql-$3-$4.log" >>"$FAKE/clusters"`,
  // Debian's postinst creates the main cluster; in a container without
  // systemd it is left stopped.
  'apt-get': `if [ "$1" = install ]; then
  mkdir -p "$CENTRALITA_PG_LIB_DIR/15/bin" && printf '#!/bin/sh\\n' >"$CENTRALITA_PG_LIB_DIR/15/bin/postgres" && chmod +x "$CENTRALITA_PG_LIB_DIR/15/bin/postgres"
  pg_createcluster --port 5432 15 main
fi`,
};

interface Machine {
  /** A server installed (a version directory with bin/postgres). */
  installed?: boolean;
  /** pg_lsclusters lines. */
  clusters?: string[];
  /** pg_hba.conf of 15/main, and what the running server loaded. */
  hba?: string;
  /** TEST_DATABASE_URL, and the script's argument. */
  env?: string;
  arg?: string;
}

const roots: string[] = [];
after(() => { for (const root of roots) rmSync(root, { recursive: true, force: true }); });

function run(machine: Machine) {
  const root = mkdtempSync(join(tmpdir(), 'centralita-pg-'));
  roots.push(root);
  const bin = join(root, 'bin');
  const fake = join(root, 'state');
  const lib = join(root, 'lib');
  const etc = join(root, 'etc');
  for (const dir of [bin, fake, lib, etc]) mkdirSync(dir);
  for (const tool of realTools) {
    const real = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    assert.ok(real, `${tool} not found`);
    symlinkSync(real, join(bin, tool));
  }
  for (const [name, body] of Object.entries(fakes)) {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >>"$FAKE/calls"\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  if (machine.installed) {
    mkdirSync(join(lib, '15/bin'), { recursive: true });
    writeFileSync(join(lib, '15/bin/postgres'), '#!/bin/sh\n');
    chmodSync(join(lib, '15/bin/postgres'), 0o755);
  }
  if (machine.clusters) writeFileSync(join(fake, 'clusters'), machine.clusters.map((l) => `${l}\n`).join(''));
  if (machine.hba !== undefined) {
    mkdirSync(join(etc, '15/main'), { recursive: true });
    writeFileSync(join(etc, '15/main/pg_hba.conf'), machine.hba);
    writeFileSync(join(fake, 'hba.loaded'), machine.hba);
  }
  const result = spawnSync('/bin/bash', machine.arg === undefined ? [script] : [script, machine.arg], {
    encoding: 'utf8',
    timeout: 20_000,
    env: {
      PATH: bin, FAKE: fake, DEBIAN_HBA: debianHba, CENTRALITA_PG_LIB_DIR: lib, CENTRALITA_PG_ETC_DIR: etc,
      ...(machine.env === undefined ? {} : { TEST_DATABASE_URL: machine.env }),
    },
  });
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
  return {
    status: result.status,
    stderr: result.stderr,
    calls: read(join(fake, 'calls')).split('\n').filter((l) => l && !/^(pg_isready|psql|pg_lsclusters)\b/.test(l)),
    hba: read(join(etc, '15/main/pg_hba.conf')),
    sql: read(join(fake, 'sql')).split('\n').filter(Boolean),
  };
}

const trustHba = '# comment\nlocal all all trust\nhost all all 127.0.0.1/32 trust\n';
const online = '15 main 5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log';
const down = online.replace('online', 'down');
const recreated = (url: string, db: string) => [`${url} drop database if exists "${db}" with (force)`, `${url} create database "${db}"`];

const defaultAdmin = 'postgres://postgres@127.0.0.1:5432/postgres';

describe('scripts/postgres.sh', () => {
  it('leaves a running server that trusts postgres on 127.0.0.1 alone, and recreates centralita_test', () => {
    const r = run({ installed: true, clusters: [online], hba: trustHba });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, []);
    assert.equal(r.hba, trustHba);
    assert.deepEqual(r.sql, recreated(defaultAdmin, 'centralita_test'));
  });

  it('starts an installed, stopped cluster without touching apt or its pg_hba.conf', () => {
    const r = run({ installed: true, clusters: [down], hba: trustHba });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, ['pg_ctlcluster --skip-systemctl-redirect 15 main start']);
    assert.equal(r.hba, trustHba);
  });

  it("installs Debian's postgresql on a machine without one, starts it and trusts postgres from 127.0.0.1 first", () => {
    const r = run({});
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [
      'apt-get update -q',
      'apt-get install -y -q postgresql',
      'pg_createcluster --port 5432 15 main', // by the package's postinst
      'pg_ctlcluster --skip-systemctl-redirect 15 main start',
      'pg_ctlcluster --skip-systemctl-redirect 15 main reload',
    ]);
    const rules = r.hba.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.equal(rules[0], 'host all postgres 127.0.0.1/32 trust');
    assert.equal(rules.length, 5, 'the Debian rules stay after it');
    assert.deepEqual(r.sql, recreated(defaultAdmin, 'centralita_test'));
  });

  it('creates a cluster on 5432 when the server is installed without one, and trusts postgres in it', () => {
    const r = run({ installed: true });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls.slice(0, 2), ['pg_createcluster --port 5432 15 main', 'pg_ctlcluster --skip-systemctl-redirect 15 main start']);
    assert.match(r.hba, /^host all postgres 127\.0\.0\.1\/32 trust$/m);
  });

  it('never opens the pg_hba.conf of a running cluster it did not create: it stops and says what to do', () => {
    const r = run({ installed: true, clusters: [online], hba: debianHba });
    assert.notEqual(r.status, 0);
    assert.equal(r.hba, debianHba, 'pg_hba.conf unchanged');
    assert.deepEqual(r.calls, [], 'no reload');
    assert.deepEqual(r.sql, []);
    assert.match(r.stderr, /password authentication failed for user postgres/);
    assert.match(r.stderr, /set TEST_DATABASE_URL to a URL with the credentials/);
    assert.match(r.stderr, /host all postgres 127\.0\.0\.1\/32 trust/);
    assert.match(r.stderr, /pg_ctlcluster 15 main reload/);
  });

  it('starts a stopped cluster it did not create, but leaves its pg_hba.conf alone', () => {
    const r = run({ installed: true, clusters: [down], hba: debianHba });
    assert.notEqual(r.status, 0);
    assert.equal(r.hba, debianHba);
    assert.deepEqual(r.calls, ['pg_ctlcluster --skip-systemctl-redirect 15 main start']);
    assert.match(r.stderr, /set TEST_DATABASE_URL/);
  });

  it("uses TEST_DATABASE_URL's credentials, and hides its password in messages", () => {
    const url = 'postgres://postgres:secret@127.0.0.1:5432/centralita_mine';
    const r = run({ installed: true, clusters: [online], hba: debianHba, env: url });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.hba, debianHba);
    assert.deepEqual(r.calls, []);
    assert.deepEqual(r.sql, recreated('postgres://postgres:secret@127.0.0.1:5432/postgres', 'centralita_mine'));

    const wrong = run({ installed: true, clusters: [online], hba: debianHba, env: url.replace('secret', 'guess') });
    assert.notEqual(wrong.status, 0);
    assert.equal(wrong.hba, debianHba);
    assert.match(wrong.stderr, /postgres:\*\*\*@127\.0\.0\.1:5432\/centralita_mine/);
    assert.doesNotMatch(wrong.stderr, /guess/);
  });

  it('takes the URL as its argument before TEST_DATABASE_URL (chaos.sh)', () => {
    const r = run({ installed: true, clusters: [online], hba: trustHba, env: 'postgres://postgres@127.0.0.1:5432/centralita_test', arg: 'postgres://postgres@127.0.0.1:5432/centralita_chaos' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.sql, recreated(defaultAdmin, 'centralita_chaos'));
  });

  it('installs or starts nothing for a server that is not 127.0.0.1:5432', () => {
    const r = run({ env: 'postgres://postgres@127.0.0.1:5433/centralita_test' });
    assert.notEqual(r.status, 0);
    assert.deepEqual(r.calls, []);
    assert.match(r.stderr, /cannot connect to postgres:\/\/postgres@127\.0\.0\.1:5433\/centralita_test: psql: error: connection refused/);
  });

  it('stops with a clear message when the only clusters are on other ports', () => {
    const r = run({ installed: true, clusters: [down.replace('5432', '5433')], hba: trustHba });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no PostgreSQL cluster on port 5432, and the machine has others/);
    assert.deepEqual(r.calls, []);
  });
});
