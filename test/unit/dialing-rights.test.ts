import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileDialPattern, invalidDialPattern, mayDial } from '../../src/agents/dialing-rights.js';

describe('dialing rights (dialplan patterns)', () => {
  it('reads patterns as Asterisk does: X, Z, N, sets and ranges, and a trailing . or !', () => {
    const cases: [string, string, boolean][] = [
      ['_9XXXXXXXX', '912345678', true],
      ['_9XXXXXXXX', '91234567', false],
      ['_9XXXXXXXX', '9123456789', false],
      ['_NXX', '212', true],
      ['_NXX', '112', false],
      ['_ZX', '10', true],
      ['_ZX', '01', false],
      ['_[6-7]XX', '712', true],
      ['_[6-7]XX', '812', false],
      ['_[135]X', '31', true],
      ['_[135]X', '21', false],
      ['_00.', '0044123', true],
      ['_00.', '00', false],
      ['_00!', '00', true],
      ['_+34.', '+34600', true],
      ['_+34.', '34600', false],
      ['900123456', '900123456', true],
      ['900123456', '9001234567', false],
    ];
    for (const [pattern, number, expected] of cases) assert.equal(compileDialPattern(pattern)?.test(number), expected, `${pattern} ${number}`);
  });

  it('names the first pattern it cannot read', () => {
    assert.equal(invalidDialPattern(['_9X', '_9.X', '_[12']), '_9.X');
    assert.equal(invalidDialPattern(['_9X', '_[12']), '_[12');
    assert.equal(invalidDialPattern(['_9X', '_[a-b]X']), '_[a-b]X');
    assert.equal(invalidDialPattern(['_']), '_');
    assert.equal(invalidDialPattern(['9x1']), '9x1');
    assert.equal(invalidDialPattern(['_9X', '0034']), undefined);
  });

  it('lets an agent reach a number when any of the rights matches, and none with no rights', () => {
    assert.equal(mayDial(['_6XXXXXXXX', '_9XXXXXXXX'], '912345678'), true);
    assert.equal(mayDial(['_6XXXXXXXX'], '912345678'), false);
    assert.equal(mayDial([], '912345678'), false);
    assert.equal(mayDial(['_9[.'], '9['), false, 'an unreadable pattern matches nothing');
  });
});
