import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultSiteOptions, type SiteOptions } from '../../src/core/config.js';
import { projectRoot } from '../../src/core/paths.js';
import { formatVerdict, sessionLimitCheck, unknownMigrations } from '../../src/doctor/checks.js';
import { checkDialplan, dialplanLines, jumpTargets, reachableContexts, type DialplanLine } from '../../src/doctor/dialplan.js';

/** A dialplan file as AMI ShowDialPlan lists it (exten/same lines and includes; globals resolved). */
function showDialPlan(text: string): DialplanLine[] {
  const globals = new Map<string, string>();
  const lines: DialplanLine[] = [];
  let context = '';
  let extension = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) { context = header[1]!; continue; }
    const global = /^(\w+)\s*=\s*(\S+)$/.exec(line);
    if (context === 'globals' && global) { globals.set(global[1]!, global[2]!); continue; }
    const include = /^include\s*=>\s*(\S+)$/.exec(line);
    if (include) { lines.push({ context, include: include[1]! }); continue; }
    const step = /^(exten|same)\s*=>\s*(?:([^,]+),)?[^,]+,(\w+)\((.*)\)$/.exec(line);
    if (!step) continue;
    if (step[1] === 'exten') extension = step[2]!;
    const appdata = step[4]!.replace(/\$\{(\w+)\}/g, (whole, name: string) => globals.get(name) ?? whole);
    lines.push({ context, extension, application: step[3]!, appdata });
  }
  return lines;
}

const site = (overrides: Partial<SiteOptions> = {}) => ({ ...defaultSiteOptions, ...overrides });

/** The production snippet, included from a carrier's and phones' context as docs/install.md asks. */
const snippet = readFileSync(join(projectRoot, 'deploy/asterisk/extensions-centralita.conf'), 'utf8');

describe('doctor: the dialplan reaches centralita from where calls enter', () => {
  it('passes the Docker site sample with the production snippet under the default entry contexts', () => {
    const lines = showDialPlan(readFileSync(join(projectRoot, 'deploy/docker/asterisk/site-sample/extensions.conf'), 'utf8') + snippet);
    const verdict = checkDialplan(lines, { app: 'centralita', site: site() });
    assert.equal(verdict.status, 'ok', verdict.detail);
    assert.match(verdict.detail, /DIDs enter at from-trunk → centralita-inbound \(_X\.\)/);
    assert.match(verdict.detail, /feature codes enter at from-internal → centralita-features/);
  });

  it('follows includes through several contexts', () => {
    const lines = showDialPlan(`[from-pstn]\ninclude => from-pstn-custom\n[from-pstn-custom]\ninclude => centralita-inbound\n[agents]\ninclude => centralita-features\n${snippet}`);
    assert.deepEqual(reachableContexts(lines, 'from-pstn').get('centralita-inbound'), ['from-pstn', 'from-pstn-custom', 'centralita-inbound']);
    const verdict = checkDialplan(lines, { app: 'centralita', site: site({ inboundContexts: ['from-pstn'], phoneContexts: ['agents'] }) });
    assert.equal(verdict.status, 'ok', verdict.detail);
    assert.match(verdict.detail, /from-pstn → from-pstn-custom → centralita-inbound/);
  });

  it('fails when the Stasis context exists but the carrier\'s context does not include it, naming the include to add', () => {
    const lines = showDialPlan(`[from-trunk]\nexten => _X.,1,Dial(PJSIP/\${EXTEN})\n[from-internal]\ninclude => centralita-features\n${snippet}`);
    const verdict = checkDialplan(lines, { app: 'centralita', site: site() });
    assert.equal(verdict.status, 'problem');
    assert.match(verdict.detail, /Stasis\(centralita,did,…\) is in centralita-inbound, which from-trunk \(CENTRALITA_INBOUND_CONTEXTS\) does not include/);
    assert.doesNotMatch(verdict.detail, /feature/, 'the phones\' context is fine');
    assert.match((verdict as { fix: string }).fix, /add "include => centralita-inbound" to \[from-trunk\]/);
  });

  it('fails on an entry context the dialplan does not have, naming the setting', () => {
    const lines = showDialPlan(`[from-pstn]\ninclude => centralita-inbound\n[from-internal]\ninclude => centralita-features\n${snippet}`);
    const verdict = checkDialplan(lines, { app: 'centralita', site: site() });
    assert.equal(verdict.status, 'problem');
    assert.match(verdict.detail, /^no context from-trunk \(CENTRALITA_INBOUND_CONTEXTS\): Stasis\(centralita,did,…\) is in centralita-inbound$/);
    assert.match((verdict as { fix: string }).fix, /set CENTRALITA_INBOUND_CONTEXTS to the context\(s\) your carrier's calls enter/);
  });

  it('follows a Goto or Gosub to a literal context, not one held in a variable', () => {
    assert.deepEqual(jumpTargets('Goto', 'centralita-inbound,5551000,1'), ['centralita-inbound']);
    assert.deepEqual(jumpTargets('Goto', 's,1'), []);
    assert.deepEqual(jumpTargets('GotoIf', '$[${X} = 1]?ivr,s,1:centralita-inbound,${EXTEN},1'), ['ivr', 'centralita-inbound']);
    assert.deepEqual(jumpTargets('GotoIfTime', '9:00-17:00,mon-fri,*,*?open,s,1'), ['open']);
    assert.deepEqual(jumpTargets('Gosub', 'sub-x,s,1(a,b)'), ['sub-x']);
    assert.deepEqual(jumpTargets('Goto', '${DEST},s,1'), []);
    const lines = showDialPlan(`[from-trunk]\nexten => _X.,1,Goto(ext-did,\${EXTEN},1)\n[ext-did]\nexten => 5551000,1,Goto(centralita-inbound,\${EXTEN},1)\n[from-internal]\ninclude => centralita-features\n${snippet}`);
    assert.equal(checkDialplan(lines, { app: 'centralita', site: site() }).status, 'ok');
  });

  it('still names a missing Stasis entry and transfer context', () => {
    const verdict = checkDialplan(showDialPlan(`[from-trunk]\ninclude => centralita-inbound\n[from-internal]\ninclude => centralita-features\n${snippet}`),
      { app: 'other-app', site: site({ transferContext: 'no-such' }) });
    assert.equal(verdict.status, 'problem');
    assert.match(verdict.detail, /no extension runs Stasis\(other-app,did,…\); no extension runs Stasis\(other-app,feature,…\); no context no-such \(CENTRALITA_TRANSFER_CONTEXT\)/);
  });

  it('reads ShowDialPlan\'s extension and include events', () => {
    assert.deepEqual(dialplanLines([
      { event: 'ListDialplan', context: 'from-trunk', includecontext: 'centralita-inbound', registrar: 'pbx_config' },
      { event: 'ListDialplan', context: 'centralita-inbound', extension: '_X.', priority: '2', application: 'Stasis', appdata: '${CENTRALITA_APP},did,${EXTEN}' },
      { event: 'Something', context: 'x' },
    ]), [
      { context: 'from-trunk', include: 'centralita-inbound' },
      { context: 'centralita-inbound', extension: '_X.', application: 'Stasis', appdata: '${CENTRALITA_APP},did,${EXTEN}' },
    ]);
  });
});

describe('doctor: migrations and what it cannot read', () => {
  it('names the migrations the database has that this version does not know (a downgrade)', () => {
    const files = ['001_init.sql', '002_more.sql'];
    assert.deepEqual(unknownMigrations(files, ['001_init.sql', '002_more.sql']), []);
    assert.deepEqual(unknownMigrations(files, ['001_init.sql']), [], 'a pending migration is not unknown');
    assert.deepEqual(unknownMigrations(files, new Set(['001_init.sql', '002_more.sql', '004_b.sql', '003_a.sql'])), ['003_a.sql', '004_b.sql']);
  });

  it('reports http.conf\'s sessionlimit as a manual check with the line and why', () => {
    assert.match(sessionLimitCheck, /"sessionlimit = 1000" in \[general\]/);
    assert.match(sessionLimitCheck, /default is 100/);
    assert.match(sessionLimitCheck, /calls fail/);
    assert.match(formatVerdict({ check: 'http session limit', status: 'manual', detail: sessionLimitCheck }), /^manual {2}http session limit: check by hand/);
  });
});
