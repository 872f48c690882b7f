import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Config } from '../../src/core/config.js';
import { openDatabase } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';
import { migrate } from '../../src/core/migrate.js';
import { formatVerdict, type Verdict } from '../../src/doctor/checks.js';
import { doctor } from '../../src/doctor/run.js';
import { testConfig } from '../support/harness.js';

/**
 * `centralita doctor` against the lab (everything docs/install.md asks for
 * is there) and against broken copies of it: each problem is named.
 */
describe('centralita doctor on the lab', () => {
  let elsewhere: string;
  const site = testConfig().site;
  const run = async (overrides: Partial<Config>, probes = true): Promise<Map<string, Verdict>> => {
    const verdicts = await doctor(testConfig(overrides), createLogger('silent'), { probes });
    return new Map(verdicts.map((v) => [v.check, v]));
  };
  const statuses = (verdicts: Map<string, Verdict>) => Object.fromEntries([...verdicts].map(([k, v]) => [k, v.status]));

  before(() => { elsewhere = mkdtempSync(join(tmpdir(), 'centralita-doctor-')); });
  after(() => rmSync(elsewhere, { recursive: true, force: true }));

  it('finds everything in place with the production snippet\'s least-privilege AMI user', async () => {
    const verdicts = await run({
      ami: { host: '127.0.0.1', port: 5038, user: 'centralita-least', password: 'centralita-lab-ami-least' },
      // doctor-trunk reaches from-carrier through two includes (dialplan/centralita-lab.conf).
      site: { ...site, inboundContexts: ['from-carrier', 'doctor-trunk'] },
    });
    const problems = [...verdicts.values()].filter((v) => v.status === 'problem').map(formatVerdict);
    assert.deepEqual(problems, []);
    assert.deepEqual(statuses(verdicts), {
      database: 'ok', ari: 'ok', 'asterisk modules': 'ok', clock: 'ok', ami: 'ok', 'ami events': 'ok', dialplan: 'ok',
      'recordings folder': 'ok', 'recordings from asterisk': 'ok', 'prompts and sounds': 'ok', 'http session limit': 'manual',
    });
    assert.match(verdicts.get('ari')!.detail, /Asterisk 22\./);
    assert.match(verdicts.get('dialplan')!.detail, /DIDs enter at from-carrier \(_55X\.\), doctor-trunk → doctor-trunk-custom → from-carrier/);
    assert.match(verdicts.get('dialplan')!.detail, /feature codes enter at from-phones .*; transfers continue in centralita-transfer/);
    assert.match(formatVerdict(verdicts.get('http session limit')!), /^manual {2}http session limit: check by hand .*"sessionlimit = 1000"/);
  });

  it('names an AMI user without the permissions centralita needs', async () => {
    const verdicts = await run({ ami: { host: '127.0.0.1', port: 5038, user: 'centralita-no-reporting', password: 'centralita-lab-ami-broken' } });
    assert.equal(verdicts.get('ami')!.status, 'problem');
    assert.match(formatVerdict(verdicts.get('ami')!), /DeviceStateList refused.*write = reporting/);
    assert.equal(verdicts.get('dialplan')!.status, 'problem');
    assert.match(verdicts.get('dialplan')!.detail, /ShowDialPlan refused/);
    assert.equal(verdicts.get('ari')!.status, 'ok', 'the rest is still checked');
  });

  it('names a missing dialplan entry and transfer context', async () => {
    const verdicts = await run({
      ari: { url: 'http://127.0.0.1:8088/ari', user: 'centralita', password: 'centralita-lab-ari', app: 'centralita-nowhere' },
      site: { ...site, transferContext: 'no-such-context' },
    });
    const dialplan = verdicts.get('dialplan')!;
    assert.equal(dialplan.status, 'problem');
    assert.match(dialplan.detail, /no extension runs Stasis\(centralita-nowhere,did,…\)/);
    assert.match(dialplan.detail, /no extension runs Stasis\(centralita-nowhere,feature,…\)/);
    assert.match(dialplan.detail, /no context no-such-context \(CENTRALITA_TRANSFER_CONTEXT\)/);
  });

  it('names a carrier\'s context that does not include centralita\'s, and migrations from a newer version', async () => {
    const database = await openDatabase(testConfig(), createLogger('silent'));
    const future = '999_from-a-newer-centralita.sql';
    try {
      await migrate(database.db, createLogger('silent'));
      await sql`insert into schema_migrations (name) values (${future}) on conflict do nothing`.execute(database.db);
      const verdicts = await run({ site: { ...site, inboundContexts: ['doctor-trunk-forgotten'] } }, false);
      const dialplan = verdicts.get('dialplan')!;
      assert.equal(dialplan.status, 'problem');
      assert.match(dialplan.detail, /^Stasis\(centralita,did,…\) is in .*from-carrier.*, which doctor-trunk-forgotten \(CENTRALITA_INBOUND_CONTEXTS\) does not include/);
      assert.doesNotMatch(dialplan.detail, /feature/, 'from-phones still reaches the feature codes');
      assert.match(dialplan.fix!, /add "include => from-\w+" to \[doctor-trunk-forgotten\]/);
      const db = verdicts.get('database')!;
      assert.equal(db.status, 'problem');
      assert.match(db.detail, new RegExp(`migrations this version of centralita does not know: ${future}`));
      assert.match(db.fix!, /restore the backup taken before the upgrade/);
    } finally {
      await sql`delete from schema_migrations where name = ${future}`.execute(database.db);
      await database.close();
    }
  });

  it('names a recordings folder centralita cannot write, and one Asterisk does not record into', async () => {
    const missing = await run({ recordingsDir: join(elsewhere, 'does-not-exist') });
    assert.equal(missing.get('recordings folder')!.status, 'problem');
    assert.match(missing.get('recordings folder')!.detail, /does-not-exist: not writable by centralita \(ENOENT\)/);
    const notShared = await run({ recordingsDir: elsewhere });
    assert.equal(notShared.get('recordings folder')!.status, 'ok');
    assert.equal(notShared.get('recordings from asterisk')!.status, 'problem');
    assert.match(notShared.get('recordings from asterisk')!.detail, new RegExp(`did not appear in ${elsewhere}`));
  });

  it('names an unreachable ARI and a refused AMI login', async () => {
    const verdicts = await run({
      ari: { url: 'http://127.0.0.1:1/ari', user: 'centralita', password: 'x', app: 'centralita' },
      ami: { host: '127.0.0.1', port: 5038, user: 'centralita', password: 'wrong' },
    });
    assert.equal(verdicts.get('ari')!.status, 'problem');
    assert.match(verdicts.get('ari')!.detail, /127\.0\.0\.1:1/);
    assert.equal(verdicts.get('ami')!.status, 'problem');
    assert.match(formatVerdict(verdicts.get('ami')!), /no login.*check CENTRALITA_AMI_/);
  });
});
