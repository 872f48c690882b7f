import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resumePoint, runFlow, type EngineDeps, type TraceEntry } from '../../src/ivr/engine.js';
import { targetsOf, validateFlow, type FlowDocument, type FlowNode, type NodeType } from '../../src/ivr/flow.js';
import { nodeKinds } from '../../src/ivr/nodes/registry.js';

/**
 * Every registered node type, end to end with fakes: a node of it validates,
 * runs (its trace and where it leads) and resumes from that trace where the
 * run went. The Record makes a type missing here a type error.
 */
interface Case {
  node: FlowNode;
  /** What the caller keys, in order. */
  keys?: string[];
  /** What the run ends with when the node leaves the flow. */
  exit?: 'released';
  /** Where a call resumed from this node's trace goes: itself (traced on entry) or on to `end` (traced once done). */
  resumesAt: 'n' | 'end';
  /** What else the resumed state holds. */
  resumed?: Partial<ReturnType<typeof resumePoint>>;
}

const cases: Record<NodeType, Case> = {
  play: { node: { type: 'play', media: ['sound:hello-world'], next: 'end' }, resumesAt: 'n' },
  menu: { node: { type: 'menu', prompt: ['sound:x'], options: { 1: 'end' } }, keys: ['1'], resumesAt: 'end' },
  collect: { node: { type: 'collect', prompt: ['sound:x'], variable: 'account', maxDigits: 4, next: 'end' }, keys: ['1234'], resumesAt: 'end', resumed: { variables: { account: '1234' } } },
  say: { node: { type: 'say', variable: 'caller', as: 'digits', next: 'end' }, resumesAt: 'n' },
  lookup: { node: { type: 'lookup', url: 'https://crm.example/x', next: 'end', onError: 'end' }, resumesAt: 'end', resumed: { variables: { tier: 'gold' } } },
  condition: { node: { type: 'condition', rules: [{ callerIn: ['600111222'], next: 'end' }], else: 'end' }, resumesAt: 'end' },
  schedule: { node: { type: 'schedule', timezone: 'Europe/Madrid', hours: {}, open: 'end', closed: 'end' }, resumesAt: 'end' },
  setPriority: { node: { type: 'setPriority', priority: 7, next: 'end' }, resumesAt: 'end', resumed: { priority: 7 } },
  setSkills: { node: { type: 'setSkills', skills: { billing: 3 }, next: 'end' }, resumesAt: 'end', resumed: { skills: { billing: 3 } } },
  surveyOptIn: { node: { type: 'surveyOptIn', prompt: ['sound:x'], next: 'end' }, keys: ['1'], resumesAt: 'end' },
  queue: { node: { type: 'queue', queue: 'support' }, exit: 'released', resumesAt: 'n' },
  transfer: { node: { type: 'transfer', extension: '1001' }, exit: 'released', resumesAt: 'n' },
  hangup: { node: { type: 'hangup', media: ['sound:vm-goodbye'] }, resumesAt: 'n' },
};

const run = async (document: FlowDocument, keys: string[]) => {
  const trace: TraceEntry[] = [];
  const ari: string[] = [];
  const deps = {
    ari: { request: async (operation: string) => { ari.push(operation); } },
    digits: { track: () => undefined, playInterruptible: async () => 'done', collect: async () => keys.shift() ?? null },
    clock: () => new Date('2026-12-02T10:00:00Z'),
    queue: async () => 'released',
    promptMedia: (n: string) => n,
    logger: { warn: () => undefined },
    trace: (entry: TraceEntry) => trace.push(entry),
    outbound: { request: async () => ({ status: 200, body: Buffer.from('{"tier": "gold"}') }) },
  } as unknown as EngineDeps;
  const result = await runFlow(deps, { channelId: 'ch', callId: 'call-1', caller: '600111222', did: '5550000' }, { id: 'f', version: 1, document }, 'es');
  return { result, trace, ari };
};

describe('IVR node types (nodes/registry.ts)', () => {
  it('registers each type once, in the order validation lists them', () => {
    const types = nodeKinds.map((k) => k.type);
    assert.equal(new Set(types).size, types.length);
    assert.deepEqual([...types].sort(), Object.keys(cases).sort());
    assert.deepEqual(validateFlow({ start: 'x', nodes: { x: { type: 'record' } } }),
      [`nodes.x.type "record" is not a node type (${types.join(', ')})`]);
  });

  for (const [type, c] of Object.entries(cases)) {
    it(`${type}: validates, runs and resumes where the run went`, async () => {
      const document: FlowDocument = { start: 'n', nodes: { n: c.node, ...(targetsOf(c.node).length > 0 ? { end: { type: 'hangup' } } : {}) } };
      assert.deepEqual(validateFlow(document), []);
      // A bare node of the type is refused: every type but hangup requires a field.
      if (type !== 'hangup') assert.notDeepEqual(validateFlow({ start: 'n', nodes: { n: { type } } }), [], 'a bare node is refused');

      const { result, trace, ari } = await run(document, [...(c.keys ?? [])]);
      assert.equal(result, c.exit);
      const own = trace.filter((s) => s.node === 'n');
      assert.ok(own.length > 0, 'the node is traced');
      assert.ok(own.every((s) => s.type === type));
      assert.deepEqual(trace.filter((s) => s.node !== 'n').map((s) => s.node), targetsOf(c.node).length > 0 ? ['end'] : []);
      assert.deepEqual(ari, type === 'transfer' ? ['channels.continueInDialplan'] : []);

      const resumed = resumePoint(document, own, 'es');
      assert.equal(resumed.node, c.resumesAt);
      for (const [key, value] of Object.entries(c.resumed ?? {})) assert.deepEqual(resumed[key as keyof typeof resumed], value, key);
    });
  }
});
