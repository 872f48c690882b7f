import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AllowList, OutboundPolicy, type Resolver } from '../../src/core/outbound.js';
import type { FlowDocument, FlowNode } from '../../src/ivr/flow.js';
import { referenceProblems, type FlowReferences } from '../../src/ivr/references.js';

const queues = new Map([['0b7c2f0e-5a1d-4c4e-9d7e-2f1a3b4c5d6e', 'ventas']]);
const refs: FlowReferences = {
  promptExists: async (name) => name === 'welcome',
  queueExists: async (ref) => queues.has(ref) || [...queues.values()].includes(ref),
  checkUrls: async (urls) => urls.map((url) => (url.includes('127.0.0.1') ? '127.0.0.1 is a loopback address' : undefined)),
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

  it('checks a flow of thousands of lookups at once: each host resolved once, in parallel, within the time budget', async () => {
    const calls: string[] = [];
    let inFlight = 0;
    let most = 0;
    // inside.test is private, slow*.test never answer, the rest are public.
    const resolve: Resolver = (host) => {
      calls.push(host);
      if (host.startsWith('slow')) return new Promise(() => undefined);
      inFlight += 1;
      most = Math.max(most, inFlight);
      return new Promise((done) => setTimeout(() => {
        inFlight -= 1;
        done([{ address: host === 'inside.test' ? '10.0.0.7' : '93.184.216.34', family: 4 }]);
      }, 20).unref());
    };
    const policy = new OutboundPolicy(new AllowList([]), { setting: 'CENTRALITA_LOOKUP_ALLOW', resolve, checkResolveMs: 300, checkBudgetMs: 1000 });
    const hosts = ['a.test', 'b.test', 'inside.test', 'c.test', 'slow1.test', 'slow2.test', 'slow3.test', 'd.test'];
    const nodes: Record<string, FlowNode> = {};
    for (let i = 0; i < 3000; i += 1) {
      nodes[`l${i}`] = { type: 'lookup', url: `https://${hosts[i % hosts.length]}/x${i % 7}`, next: `l${i + 1}`, onError: `l${i + 1}` };
    }
    nodes.l3000 = { type: 'hangup' };
    const started = Date.now();
    const problems = await referenceProblems({ start: 'l0', nodes }, { ...refs, checkUrls: (urls) => policy.checkUrls(urls) });
    assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
    // Each host once, never more than three at a time (the three that hang retire their workers).
    assert.equal(new Set(calls).size, calls.length);
    assert.ok(most <= 3, `${most} at once`);
    const inside = Object.keys(nodes).filter((n) => nodes[n]!.type === 'lookup' && (nodes[n] as { url: string }).url.includes('inside.test'));
    assert.equal(inside.length, 375);
    assert.deepEqual(problems, inside.map((n) => `nodes.${n}.url is refused: inside.test resolves to 10.0.0.7, a private address (RFC 1918), refused unless CENTRALITA_LOOKUP_ALLOW allows it`));
  });
});
