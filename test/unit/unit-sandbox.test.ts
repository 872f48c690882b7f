import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../src/core/paths.js';
import { readEnvironmentFile, sandboxPlan } from '../support/unit-sandbox.js';

/**
 * test/support/unit-sandbox.ts reads the unit the install test runs under
 * (test/integration/install.test.ts carries it out). A directive or value
 * it does not emulate must stop the test, not be skipped.
 */
const unit = readFileSync(join(projectRoot, 'deploy/systemd/centralita.service'), 'utf8');

describe('the unit sandbox emulation', () => {
  it('reads every directive of deploy/systemd/centralita.service', () => {
    const plan = sandboxPlan(unit);
    assert.deepEqual([plan.user, plan.group, plan.umask, plan.protectSystem], ['centralita', 'centralita', '0027', 'strict']);
    assert.deepEqual(plan.readWritePaths.map((p) => `${p.optional ? '-' : ''}${p.path}`), [
      '/var/lib/centralita/data', '/var/spool/centralita/recordings', '/var/lib/centralita/prompts',
      '-/var/spool/asterisk/recording', '-/usr/share/asterisk/sounds/centralita-prompts',
    ]);
    assert.deepEqual(plan.execStart, ['/usr/bin/node', '/opt/centralita/dist/main.js']);
    assert.deepEqual(plan.restrict.sort(), ['namespaces', 'personality', 'realtime', 'suidsgid']);
    assert.deepEqual(plan.allow, ['@system-service']);
    assert.ok(plan.privateTmp && plan.privateDevices && plan.protectHome && plan.noNewPrivileges && plan.dropCapabilities);
  });

  it('fails on a directive it does not carry out, naming it', () => {
    const added = unit.replace('UMask=0027', 'UMask=0027\nMemoryDenyWriteExecute=yes');
    assert.throws(() => sandboxPlan(added), /MemoryDenyWriteExecute= in the unit is not emulated/);
    assert.throws(() => sandboxPlan(unit.replace('[Service]', '[Service]\nBindReadOnlyPaths=/etc/ssl')), /BindReadOnlyPaths=/);
  });

  it('fails on a value it does not carry out', () => {
    assert.throws(() => sandboxPlan(unit.replace('ProtectHome=yes', 'ProtectHome=read-only')), /ProtectHome=read-only/);
    assert.throws(() => sandboxPlan(unit.replace('RestrictAddressFamilies=AF_UNIX', 'RestrictAddressFamilies=~AF_UNIX')), /~AF_UNIX is not emulated/);
    assert.throws(() => sandboxPlan(unit.replace('ExecStart=/usr/bin/node', 'ExecStart=-/usr/bin/node')), /ExecStart=/);
    assert.throws(() => sandboxPlan(unit.replace('PrivateDevices=yes', 'PrivateDevices=no')), /ProtectClock= without PrivateDevices=/);
  });

  it('reads an environment file as systemd does: comments, empty values, one pair of quotes', () => {
    assert.deepEqual(readEnvironmentFile('# c\n; c\nA=1\nB=\nC="x y"\nexport D=\'z\'\n'), [['A', '1'], ['B', ''], ['C', 'x y'], ['D', 'z']]);
    assert.throws(() => readEnvironmentFile('A="x'), /quoting/);
  });
});
