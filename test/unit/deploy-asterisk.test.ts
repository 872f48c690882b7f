import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultSiteOptions, loadConfig } from '../../src/core/config.js';
import { projectRoot } from '../../src/core/paths.js';

const read = (name: string): string => readFileSync(join(projectRoot, name), 'utf8');

/** Asterisk's extension pattern (_X., _*4[5-8]) as a regular expression. */
function patternMatches(pattern: string, exten: string): boolean {
  if (!pattern.startsWith('_')) return pattern === exten;
  let source = '';
  for (let i = 1; i < pattern.length; i += 1) {
    const ch = pattern[i]!;
    if (ch === 'X') source += '[0-9]';
    else if (ch === 'Z') source += '[1-9]';
    else if (ch === 'N') source += '[2-9]';
    else if (ch === '.') source += '.+';
    else if (ch === '!') source += '.*';
    else if (ch === '[') { const end = pattern.indexOf(']', i); source += pattern.slice(i, end + 1); i = end; } else source += ch.replace(/[*+?^$()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`).test(exten);
}

/** The extensions of each context of a dialplan file. */
function contexts(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  let current = '';
  for (const line of text.split('\n')) {
    const header = /^\[([^\]]+)\]/.exec(line);
    if (header) { current = header[1]!; map.set(current, []); continue; }
    const exten = /^exten\s*=>\s*([^,]+),1,/.exec(line);
    if (exten) map.get(current)!.push(exten[1]!.trim());
  }
  return map;
}

describe('deploy/asterisk: the production snippets docs/install.md names', () => {
  const dialplan = contexts(read('deploy/asterisk/extensions-centralita.conf'));
  const install = read('docs/install.md');

  it('every snippet and context the guide names exists', () => {
    for (const file of ['ari.conf', 'http.conf', 'manager.conf', 'extensions-centralita.conf', 'modules.conf']) {
      assert.match(install, new RegExp(`deploy/asterisk/${file.replace('.', '\\.')}`), `install.md names ${file}`);
      read(`deploy/asterisk/${file}`);
    }
    for (const context of ['centralita-inbound', 'centralita-features', 'centralita-unavailable', 'centralita-attended', defaultSiteOptions.transferContext]) {
      assert.ok(dialplan.has(context), `context ${context}`);
    }
  });

  it('sends every feature code centralita answers, and any DID, into the Stasis application of the default config', () => {
    const features = dialplan.get('centralita-features')!;
    for (const code of ['*45', '*451001', '*46', '*47', '*472', '*48', '*491', '*22', '*221001', '*23', '*24']) {
      assert.ok(features.some((p) => patternMatches(p, code)), `${code} reaches centralita`);
    }
    assert.ok(!features.some((p) => patternMatches(p, '*99')), 'other feature codes stay the PBX\'s');
    assert.ok(dialplan.get('centralita-inbound')!.some((p) => patternMatches(p, '5551000')));
    const text = read('deploy/asterisk/extensions-centralita.conf');
    const app = /^CENTRALITA_APP\s*=\s*(\S+)/m.exec(text)?.[1];
    const config = loadConfig({ CENTRALITA_ADMIN_TOKEN: 'x'.repeat(32), CENTRALITA_ARI_USER: 'u', CENTRALITA_ARI_PASSWORD: 'p', CENTRALITA_AMI_USER: 'u', CENTRALITA_AMI_PASSWORD: 'p' });
    assert.equal(app, config.ari.app);
    assert.match(text, /Stasis\(\$\{CENTRALITA_APP\},did,\$\{EXTEN\}\)/);
    assert.match(text, /Stasis\(\$\{CENTRALITA_APP\},feature,\$\{EXTEN\}\)/);
  });

  it('keeps AMI and ARI off public addresses, with least privilege and no lab secret', () => {
    const manager = read('deploy/asterisk/manager.conf');
    assert.match(manager, /^read = call$/m);
    assert.match(manager, /^write = reporting,call$/m);
    assert.match(manager, /^deny = 0\.0\.0\.0\/0\.0\.0\.0$/m);
    assert.match(manager, /^eventfilter = Event: DeviceStateChange$/m);
    const http = read('deploy/asterisk/http.conf');
    assert.match(http, /^bindaddr = 127\.0\.0\.1$/m);
    assert.match(http, /^tlsenable = yes$/m);
    assert.doesNotMatch(http, /bindaddr = 0\.0\.0\.0/);
    for (const file of ['ari.conf', 'manager.conf']) assert.doesNotMatch(read(`deploy/asterisk/${file}`), /centralita-lab/, `${file} holds no lab password`);
  });
});
