import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FlowDocument } from '../../src/ivr/flow.js';
import { referenceProblems, type FlowReferences } from '../../src/ivr/references.js';

const queues = new Map([['0b7c2f0e-5a1d-4c4e-9d7e-2f1a3b4c5d6e', 'ventas']]);
const refs: FlowReferences = {
  promptExists: async (name) => name === 'welcome',
  queueExists: async (ref) => queues.has(ref) || [...queues.values()].includes(ref),
  checkUrl: async (url) => (url.includes('127.0.0.1') ? '127.0.0.1 is a loopback address' : undefined),
};

describe('IVR flows: what they name outside themselves', () => {
  it('accepts a queue node naming a queue by its id or by its name', async () => {
    for (const queue of ['ventas', '0b7c2f0e-5a1d-4c4e-9d7e-2f1a3b4c5d6e']) {
      const doc: FlowDocument = { start: 'q', nodes: { q: { type: 'queue', queue } } };
      assert.deepEqual(await referenceProblems(doc, refs), [], queue);
    }
  });

  it('names each node whose queue, prompt or lookup address is refused', async () => {
    const doc: FlowDocument = {
      start: 'hi',
      nodes: {
        hi: { type: 'play', media: ['prompt:welcome', 'prompt:gone'], next: 'ask' },
        ask: { type: 'lookup', url: 'http://127.0.0.1:8088/ari', next: 'open', onError: 'open' },
        open: { type: 'lookup', url: 'https://lookup.example.com/x', next: 'q', onError: 'q' },
        q: { type: 'queue', queue: 'soporte' },
      },
    };
    assert.deepEqual(await referenceProblems(doc, refs), [
      'nodes.hi plays prompt:gone, but no prompt by that name was uploaded',
      'nodes.ask.url is refused: 127.0.0.1 is a loopback address',
      'nodes.q.queue names no queue (by id or name): "soporte"',
    ]);
  });
});
