import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';

/** `lab.sh mirror` (what debootstrap builds the lab's root from) against sample apt sources. */
const lab = join(import.meta.dirname, '../../scripts/lab.sh');
const roots: string[] = [];
after(() => { for (const root of roots) rmSync(root, { recursive: true, force: true }); });

function mirror(files: Record<string, string>): { status: number | null; stdout: string; stderr: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'centralita-apt-'));
  roots.push(dir);
  mkdirSync(join(dir, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text.replaceAll('$DIR', dir));
  }
  const r = spawnSync('bash', [lab, 'mirror'], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, CENTRALITA_LAB_APT_DIR: dir } });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr, dir };
}

// Debian 12's own file, as installed (comments inside the stanzas too).
const bookwormSources = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror-a.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror-a.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

describe('lab.sh mirror', () => {
  it("takes the archive from Debian 12's deb822 sources", () => {
    const r = mirror({ 'sources.list.d/debian.sources': bookwormSources });
    assert.deepEqual([r.status, r.stdout], [0, 'http://mirror-a.example/debian']);
  });

  it('skips security, disabled and source-only stanzas', () => {
    const r = mirror({
      'sources.list.d/debian.sources': `Types: deb
URIs: http://security.example/debian-security
Suites: trixie-security
Components: main

Types: deb
URIs: http://disabled.example/debian
Suites: trixie
Components: main
Enabled: no

Types: deb-src
URIs: http://src.example/debian
Suites: trixie
Components: main

Types: deb deb-src
URIs: https://mirror-b.example/debian
Suites: trixie trixie-updates
Components: main contrib non-free-firmware
`,
    });
    assert.deepEqual([r.status, r.stdout], [0, 'https://mirror-b.example/debian']);
  });

  it('reads one-line sources.list, with options, comments, deb-src and security lines', () => {
    const r = mirror({
      'sources.list': `# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb http://security.example/debian-security bookworm-security main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror-c.example/debian/ bookworm main contrib
`,
      'sources.list.d/debian.sources': bookwormSources,
    });
    assert.deepEqual([r.status, r.stdout], [0, 'http://mirror-c.example/debian/'], 'sources.list comes first, as for apt');
  });

  it("passes over other vendors' repositories in sources.list.d (suite or components not Debian's)", () => {
    const r = mirror({
      'sources.list.d/a-docker.list': 'deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.example/linux/debian bookworm stable\n',
      'sources.list.d/b-nodesource.sources': 'Types: deb\nURIs: https://deb.nodesource.example/node_20.x\nSuites: nodistro\nComponents: main\n',
      'sources.list.d/c-pgdg.list': 'deb http://apt.postgresql.example/pub/repos/apt bookworm-pgdg main\n',
      'sources.list.d/debian.sources': bookwormSources,
    });
    assert.deepEqual([r.status, r.stdout], [0, 'http://mirror-a.example/debian']);
  });

  it('follows a mirror+file: source to the first mirror of its list', () => {
    const r = mirror({
      'mirrors/debian.list': '# cloud mirrors\nhttps://cloud-mirror.example/debian\tpriority:1\nhttps://other.example/debian\n',
      'sources.list.d/debian.sources': 'Types: deb\nURIs: mirror+file://$DIR/mirrors/debian.list\nSuites: bookworm bookworm-updates bookworm-backports\nComponents: main\n',
    });
    assert.deepEqual([r.status, r.stdout], [0, 'https://cloud-mirror.example/debian']);
  });

  it('says so, and assumes no host, when apt has no Debian source', () => {
    const r = mirror({
      'sources.list': 'deb http://security.example/debian-security bookworm-security main\n',
      'sources.list.d/nodesource.sources': 'Types: deb\nURIs: https://deb.nodesource.example/node_20.x\nSuites: nodistro\nComponents: main\n',
      'sources.list.d/debian.sources.disabled': bookwormSources,
    });
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no Debian mirror in this machine's apt sources/);
    assert.equal(mirror({}).status, 1, 'an empty apt directory');
  });

  it('names no mirror host of its own', () => {
    assert.doesNotMatch(readFileSync(lab, 'utf8'), /(deb|ftp|httpredir|cdn)[.\w-]*\.debian\.org/);
  });
});
