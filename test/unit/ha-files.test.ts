import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { knownKeys, parseConfigFile } from '../../src/core/config.js';
import { createHttpApp } from '../../src/core/http.js';
import type { HaRole, HaStatus } from '../../src/core/lease.js';
import { createLogger } from '../../src/core/logger.js';
import { projectRoot } from '../../src/core/paths.js';
import { healthRoutes } from '../../src/health/routes.js';

/**
 * The active/standby files (docs/ha.md): the keepalived example asks the
 * local centralita's /health/leader, on loopback and on the env template's
 * port, a route that is 200 on the leader only; docs/ha.md and the README
 * name every HA key; the unit restarts a fenced process (exit 75).
 */

const read = (name: string): string => readFileSync(join(projectRoot, name), 'utf8');

/** A keepalived statement: its words, and the statements of its `{ }` block if it has one. */
interface Statement { words: string[]; block?: Statement[] }

/** keepalived.conf as statements (comments start with # or !; strings in double quotes). */
function parseKeepalived(text: string): Statement[] {
  const top: Statement[] = [];
  const stack: Statement[][] = [top];
  for (const raw of text.split('\n')) {
    let words: string[] = [];
    const flush = () => {
      if (words.length > 0) stack.at(-1)!.push({ words });
      words = [];
    };
    for (const [token] of raw.matchAll(/"[^"]*"|[{}]|[#!].*$|[^\s{}"]+/g)) {
      if (token.startsWith('#') || token.startsWith('!')) break;
      if (token === '{') {
        const statement: Statement = { words, block: [] };
        stack.at(-1)!.push(statement);
        stack.push(statement.block!);
        words = [];
      } else if (token === '}') {
        flush();
        stack.pop();
        assert.ok(stack.length > 0, 'a } closes no block');
      } else {
        words.push(token.startsWith('"') ? token.slice(1, -1) : token);
      }
    }
    flush();
  }
  assert.equal(stack.length, 1, 'every { is closed');
  return top;
}

const blocks = (list: Statement[], keyword: string): Statement[] => list.filter((s) => s.words[0] === keyword && s.block);
const setting = (block: Statement, key: string): string[] | undefined => block.block!.find((s) => s.words[0] === key && !s.block)?.words.slice(1);
const number = (block: Statement, key: string): number => {
  const value = Number(setting(block, key)?.[0]);
  assert.ok(Number.isFinite(value), `${block.words.join(' ')} sets ${key}`);
  return value;
};

const conf = parseKeepalived(read('deploy/keepalived/keepalived.conf.example'));
const template = parseConfigFile(read('deploy/centralita.env.template'), 'centralita.env.template');
const haKeys = [...knownKeys].filter((key) => key.startsWith('CENTRALITA_HA'));

describe('deploy/keepalived: the virtual IP follows the leader lease', () => {
  const [check] = blocks(conf, 'vrrp_script');
  const argv = setting(check!, 'script')?.[0]?.split(/\s+/) ?? [];
  const url = new URL(argv.find((arg) => /^https?:\/\//.test(arg)) ?? 'none:');

  it('checks the local centralita\'s /health/leader on loopback, on the template\'s port, failing on a 503', () => {
    assert.equal(blocks(conf, 'vrrp_script').length, 1, 'one vrrp_script');
    assert.equal(argv[0], '/usr/bin/curl', 'curl by its full path (enable_script_security)');
    assert.ok(argv.includes('--fail') || argv.includes('-f'), 'curl --fail: a 503 (the standby) fails the check');
    assert.ok(['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname), `loopback, not ${url.hostname}`);
    assert.equal(url.pathname, '/health/leader', '/health/leader, not /health: /health is 503 on both boxes while Postgres is down');
    assert.equal(url.port, template.CENTRALITA_PORT, 'the port the env template gives centralita');
    const maxTime = Number(argv[argv.indexOf('--max-time') + 1]);
    assert.ok(maxTime > 0 && maxTime <= number(check!, 'timeout'), 'curl gives up before keepalived does');
    assert.ok(number(check!, 'interval') <= 2, 'checked often enough for the ≤ 5 s takeover');
  });

  it('runs the check unprivileged and tracks it in a preempting BACKUP instance whose priority it raises', () => {
    const [globals] = blocks(conf, 'global_defs');
    assert.ok(setting(globals!, 'enable_script_security'), 'enable_script_security');
    assert.notEqual(setting(globals!, 'script_user')?.[0], 'root');
    const instances = blocks(conf, 'vrrp_instance');
    assert.equal(instances.length, 1);
    const instance = instances[0]!;
    assert.equal(setting(instance, 'state')?.[0], 'BACKUP', 'both boxes BACKUP: the check decides, not the start order');
    assert.equal(setting(instance, 'nopreempt'), undefined, 'the new leader\'s box must take the address at once');
    const tracked = blocks(instance.block!, 'track_script')[0]?.block?.map((s) => s.words[0]);
    assert.deepEqual(tracked, [check!.words[1]]);
    const weight = number(check!, 'weight');
    const priority = number(instance, 'priority');
    assert.ok(weight > 0 && priority + weight < 255, `priority ${priority} + weight ${weight}: above the standby's, below 255 (the address owner's)`);
    assert.ok((blocks(instance.block!, 'virtual_ipaddress')[0]?.block?.length ?? 0) > 0, 'a virtual address');
  });

  it('asks a route that is 200 on the leader holding its lease (or a single instance) and 503 elsewhere', async () => {
    const answers: Record<string, number> = {};
    const cases: Array<[string, HaStatus | undefined]> = [
      ['single', undefined],
      ...([['leader', true], ['leader', false], ['standby', false]] as Array<[HaRole, boolean]>)
        .map(([role, held]): [string, HaStatus] => [`${role}${held ? '' : ' (lease not held)'}`, { role: () => role, held: () => held, leaderAddress: async () => null }]),
    ];
    for (const [name, ha] of cases) {
      const app = await createHttpApp(createLogger('silent'));
      healthRoutes(app, {
        ...(ha ? { ha } : {}), db: async () => true, ari: () => 'down', ami: () => false, pendingWrites: () => 0, build: { version: '0.0.0', commit: null },
      });
      answers[name] = (await app.inject({ method: 'GET', url: url.pathname })).statusCode;
      await app.close();
    }
    assert.deepEqual(answers, { single: 200, leader: 200, 'leader (lease not held)': 503, 'standby (lease not held)': 503 });
  });
});

describe('docs/ha.md and the README: every HA key, the route, the exit code', () => {
  const ha = read('docs/ha.md');
  const readme = read('README.md');

  it('name every HA configuration key', () => {
    assert.deepEqual(haKeys.sort(), ['CENTRALITA_HA', 'CENTRALITA_HA_ADDRESS', 'CENTRALITA_HA_LEASE_MS']);
    for (const key of haKeys) {
      assert.ok(ha.includes(`\`${key}\``) || ha.includes(`${key}=`), `docs/ha.md names ${key}`);
      assert.match(readme, new RegExp(`^\\| \`${key}\` \\|`, 'm'), `the README's configuration table has ${key}`);
    }
  });

  it('point a load balancer or keepalived at /health/leader, and the README at docs/ha.md', () => {
    assert.match(ha, /\/health\/leader/);
    assert.match(ha, /deploy\/keepalived\/keepalived\.conf\.example/);
    const redundancy = readme.split(/^### Redundancy$/m)[1]?.split(/^##/m)[0];
    assert.ok(redundancy, 'the README has a "Redundancy" section');
    assert.match(redundancy, /docs\/ha\.md/);
    assert.match(redundancy, /\/health\/leader/);
  });

  it('a fenced process exits 75, which systemd restarts (as a standby) and the doc explains', () => {
    assert.match(read('src/main.ts'), /process\.exit\(75\)/);
    const unit = read('deploy/systemd/centralita.service');
    assert.match(unit, /^Restart=on-failure$/m);
    const prevented = /^RestartPreventExitStatus=(.*)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
    assert.ok(!prevented.includes('75'), 'exit 75 is restarted');
    assert.match(ha, /exits with code 75/);
  });
});
