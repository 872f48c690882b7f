import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AllowList, OutboundPolicy } from '../../src/core/outbound.js';
import { resumePoint, runFlow, type EngineDeps, type TraceEntry } from '../../src/ivr/engine.js';
import type { FlowDocument } from '../../src/ivr/flow.js';

/**
 * The engine's lookup under the outbound policy, with a real HTTP server on
 * 127.0.0.1 and no Asterisk: the flow is a lookup and two hang-ups.
 */
describe('IVR lookups under the outbound policy', () => {
  let server: Server;
  let hits = 0;
  let document: FlowDocument;
  before(async () => {
    server = createServer((_req, res) => {
      hits += 1;
      res.setHeader('content-type', 'application/json');
      res.end('{"balance": 42}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    document = {
      start: 'balance',
      nodes: {
        balance: { type: 'lookup', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/balance`, next: 'ok', onError: 'sorry' },
        ok: { type: 'hangup' },
        sorry: { type: 'hangup' },
      },
    };
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const run = async (allow: string[]) => {
    const trace: TraceEntry[] = [];
    const warnings: Record<string, unknown>[] = [];
    const deps = {
      ari: {}, digits: { track: () => undefined }, clock: () => new Date(), queue: async () => undefined, promptMedia: (n: string) => n,
      logger: { warn: (fields: Record<string, unknown>) => warnings.push(fields) },
      trace: (entry: TraceEntry) => trace.push(entry),
      outbound: new OutboundPolicy(new AllowList(allow), { setting: 'CENTRALITA_LOOKUP_ALLOW' }),
    } as unknown as EngineDeps;
    await runFlow(deps, { channelId: 'ch', callId: 'call-1', caller: '600111222', did: '5550000' }, { id: 'f', version: 1, document }, 'es');
    return { trace, warnings };
  };

  it('refuses a lookup server on 127.0.0.1 by default: onError, the trace says why, a warning is logged, nothing is sent', async () => {
    hits = 0;
    const { trace, warnings } = await run([]);
    assert.deepEqual(trace.map((s) => s.node), ['balance', 'sorry']);
    assert.equal(trace[0]!.detail.error, 'refused');
    assert.match(String(trace[0]!.detail.reason), /^127\.0\.0\.1 is a loopback address, refused unless CENTRALITA_LOOKUP_ALLOW allows it$/);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.node, 'balance');
    assert.equal(warnings[0]!.callId, 'call-1');
    assert.doesNotMatch(String(warnings[0]!.url), /600111222/, 'the caller\'s number (in the query) stays out of the log');
    assert.equal(hits, 0);
    // A call resumed after a restart goes on along the same branch.
    assert.equal(resumePoint(document, trace, 'es').node, 'sorry');
  });

  it('reaches it when the setting allows it', async () => {
    hits = 0;
    const { trace, warnings } = await run(['127.0.0.1']);
    assert.deepEqual(trace.map((s) => s.node), ['balance', 'ok']);
    assert.deepEqual(trace[0]!.detail, { status: 200, result: { balance: '42' } });
    assert.deepEqual(warnings, []);
    assert.equal(hits, 1);
  });
});
