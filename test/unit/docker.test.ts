import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { knownKeys } from '../../src/core/config.js';
import { projectRoot } from '../../src/core/paths.js';

/**
 * No Docker engine runs here: the images and the compose file are checked by
 * reading them. Every path they name exists, every variable is one centralita
 * reads, every service restarts, every volume is declared.
 */
const read = (name: string): string => readFileSync(join(projectRoot, name), 'utf8');
const compose = read('docker-compose.yml');
const dockerignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

/** The services of docker-compose.yml, each as its block of text. */
function services(): Map<string, string> {
  const body = compose.split(/^services:$/m)[1]!.split(/^\S/m)[0]!;
  const map = new Map<string, string>();
  for (const part of body.split(/^ {2}(?=[a-z][\w-]*:$)/m).slice(1)) map.set(part.slice(0, part.indexOf(':')), part);
  return map;
}

/** COPY sources of a Dockerfile (not --from= stages). */
function copySources(dockerfile: string): string[] {
  return [...dockerfile.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1));
}

describe('docker-compose.yml and the Dockerfiles, read', () => {
  const all = services();

  it('runs PostgreSQL, our Asterisk image and centralita, each restarted, on the centre\'s time zone', () => {
    assert.deepEqual([...all.keys()], ['postgres', 'asterisk', 'centralita']);
    for (const [name, block] of all) {
      assert.match(block, /^\s+restart: unless-stopped$/m, `${name} restarts`);
      assert.match(block, /TZ: \$\{TZ:-/, `${name} runs on the centre's time zone`);
    }
    assert.match(all.get('asterisk')!, /dockerfile: deploy\/docker\/asterisk\/Dockerfile/);
    assert.match(all.get('centralita')!, /CENTRALITA_TIMEZONE: \$\{TZ:-/);
  });

  it('names only files and folders that exist, and volumes it declares', () => {
    for (const [name, block] of all) {
      for (const m of block.matchAll(/dockerfile: (\S+)/g)) assert.ok(existsSync(join(projectRoot, m[1]!)), `${name}: ${m[1]}`);
      for (const m of block.matchAll(/^\s+- (\S+):(\/\S+?)(?::ro)?$/gm)) {
        const source = m[1]!.replace(/^\$\{\w+:-(.+)\}$/, '$1');
        if (source.startsWith('./')) assert.ok(existsSync(join(projectRoot, source)), `${name} mounts ${source}, which exists`);
        else assert.match(compose, new RegExp(`^volumes:[\\s\\S]*^ {2}${source}:$`, 'm'), `${name}: volume ${source} declared`);
      }
    }
  });

  it('sets only variables centralita reads', () => {
    const dockerfile = read('Dockerfile');
    const names = [...compose.matchAll(/^\s+(CENTRALITA_\w+|DATABASE_URL):/gm), ...dockerfile.matchAll(/\b(CENTRALITA_\w+)=/g)].map((m) => m[1]!);
    assert.ok(names.length > 10);
    for (const name of names) assert.ok(knownKeys.has(name), `${name} is a setting of src/core/config.ts`);
  });

  it('copies into the images only what exists and the .dockerignore lets through', () => {
    for (const file of ['Dockerfile', 'deploy/docker/asterisk/Dockerfile']) {
      for (const source of copySources(read(file))) {
        assert.ok(existsSync(join(projectRoot, source)), `${file}: COPY ${source} exists`);
        const top = source.split('/')[0]!;
        assert.ok(!dockerignore.includes(top) && !dockerignore.includes(source), `${file}: COPY ${source} is not in .dockerignore`);
      }
    }
    for (const heavy of ['node_modules', '.git', 'recordings', 'data']) assert.ok(dockerignore.includes(heavy), `.dockerignore leaves out ${heavy}`);
  });

  it('our Asterisk image: Debian\'s packages, both languages\' sounds, the uid centralita\'s image writes volumes with; its entrypoint is valid sh', () => {
    const dockerfile = read('deploy/docker/asterisk/Dockerfile');
    assert.match(dockerfile, /^FROM debian:/m);
    assert.match(dockerfile, /apt-get install[\s\S]*\basterisk\b[\s\S]*asterisk-core-sounds-es-gsm/);
    assert.match(dockerfile, /--uid 1000/);
    assert.match(read('Dockerfile'), /chown -R node:node/, 'centralita\'s image runs as node (uid 1000)');
    execFileSync('sh', ['-n', join(projectRoot, 'deploy/docker/asterisk/entrypoint.sh')]);
    const entry = read('deploy/docker/asterisk/entrypoint.sh');
    for (const snippet of ['ari.conf', 'manager.conf', 'extensions-centralita.conf']) assert.match(entry, new RegExp(snippet.replace('.', '\\.')));
  });
});

/**
 * A value of an Asterisk configuration line as main/config.c reads it: a ';'
 * begins a comment unless a backslash precedes it (that backslash is dropped),
 * and spaces at both ends are stripped.
 */
function asteriskValue(text: string, key: string): string | undefined {
  for (const raw of text.split('\n')) {
    let line = '';
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] !== ';') line += raw[i];
      else if (line.endsWith('\\')) line = line.slice(0, -1) + ';';
      else break;
    }
    const m = /^\s*(\w+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m?.[1] === key) return m[2];
  }
  return undefined;
}

describe('the Asterisk image\'s entrypoint writes the passwords', () => {
  const entry = read('deploy/docker/asterisk/entrypoint.sh');
  const putSecret = /^put_secret\(\) \{$[\s\S]*?^\}$/m.exec(entry)?.[0];
  /** Runs the entrypoint's own put_secret with sh (dash here, as in the image). */
  const run = (snippet: string, value: string) => spawnSync('sh', ['-c', `${putSecret}\nput_secret "$1" CENTRALITA_ARI_PASSWORD "$2"`, 'sh', join(projectRoot, snippet), value], { encoding: 'utf8' });

  it('uses put_secret for both users, sed for neither', () => {
    assert.ok(putSecret, 'entrypoint.sh defines put_secret()');
    assert.match(entry, /^put_secret "\$snippets\/ari\.conf" CENTRALITA_ARI_PASSWORD "\$CENTRALITA_ARI_PASSWORD" > \/etc\/asterisk\/ari\.conf$/m);
    assert.match(entry, /^put_secret "\$snippets\/manager\.conf" CENTRALITA_AMI_PASSWORD "\$CENTRALITA_AMI_PASSWORD" > \/etc\/asterisk\/manager\.conf$/m);
    assert.doesNotMatch(entry, /^\s*sed\b/m);
  });

  it('any printable password reaches Asterisk as it is, and the rest of the snippet unchanged', () => {
    const nasty = ['a/b&c\\d\\1', 'x;y', ';--z--;', 'p\\;q', '$(touch /tmp/no)`id`$HOME', 'it\'s "quoted"', '%s%n\\n', 'ñandú€ with inner spaces', '#include x', '[section]', 'a=b'];
    for (const [snippet, key] of [['deploy/asterisk/ari.conf', 'password'], ['deploy/asterisk/manager.conf', 'secret']] as const) {
      const original = read(snippet);
      for (const password of nasty) {
        const out = run(snippet, password);
        assert.equal(out.status, 0, out.stderr);
        assert.equal(asteriskValue(out.stdout, key), password, `${snippet}: ${password}`);
        const others = (text: string) => text.split('\n').filter((l) => !l.startsWith(`${key} =`));
        assert.deepEqual(others(out.stdout), others(original), `${snippet}: only the ${key} line changes`);
      }
    }
  });

  it('refuses a password Asterisk would read otherwise: a line break, a tab, spaces at its ends', () => {
    for (const password of ['two\nlines', 'a\tb', ' leading', 'trailing ', 'cr\r']) {
      const out = run('deploy/asterisk/ari.conf', password);
      assert.notEqual(out.status, 0, JSON.stringify(password));
      assert.equal(out.stdout, '');
      assert.match(out.stderr, /CENTRALITA_ARI_PASSWORD must not hold control characters nor begin or end with a space/);
    }
  });
});
