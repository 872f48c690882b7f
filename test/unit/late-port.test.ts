import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatePort } from '../../src/core/late-port.js';

describe('LatePort', () => {
  it('throws when used before binding, then serves what it was bound to, once', () => {
    const port = new LatePort<{ flowExists(id: string): boolean }>('ivr flows');
    assert.throws(() => port.get(), /port ivr flows used before it was bound/);
    port.bind({ flowExists: (id) => id === 'f1' });
    assert.equal(port.get().flowExists('f1'), true);
    assert.equal(port.get().flowExists('f2'), false);
    assert.throws(() => port.bind({ flowExists: () => true }), /already bound/);
    assert.equal(port.get().flowExists('f2'), false, 'a second bind changes nothing');
  });
});
