import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StasisClaim } from '../../src/asterisk/stasis-router.js';
import { CampaignDialer } from '../../src/outbound/campaign-dialer.js';
import type { Session } from '../../src/outbound/sessions.js';
import { fakeAri, recordingLogger } from '../support/fake-ari-client.js';

// The campaign dialer with fakes around it: one agent in a session, two
// persons answering in the same moment (predictive dialling does this).
function dialer() {
  const fake = fakeAri((operation, params) => (operation === 'channels.create' ? { id: params.channelId } : undefined));
  const claims = new Map<string, StasisClaim>();
  const hungUp: string[] = [];
  const lineIds: string[] = [];
  const abandoned: string[] = [];
  const commands: string[] = [];
  const op = { name: 'noop' } as never;
  const session: Session = {
    agentId: 'ana', campaignId: 'c1', channelId: 'agent-leg', bridgeId: 'agent-bridge', state: 'waiting', waitingSince: 0,
    lineId: undefined, talkingSince: 0, left: new Promise(() => {}), leave: () => {},
  };
  const sessions = {
    campaignIds: () => ['c1'],
    all: () => [session],
    ready: (campaignId: string) => (session.campaignId === campaignId && session.state === 'waiting' ? [session] : []),
    take: (s: Session, lineId: string) => { s.state = 'talking'; s.lineId = lineId; s.talkingSince = Date.now(); },
    free: (s: Session) => { if (s.state === 'talking') { s.state = 'waiting'; s.lineId = undefined; } },
  };
  let claimed = false;
  const contact = (n: number) => ({ id: `contact-${n}`, numberE164: `+3461000000${n}`, attempts: 0, fields: {} });
  const campaign = { id: 'c1', state: 'running', mode: 'predictive', queueId: 'q1', callerId: '+34910000000', amd: { action: 'agent' }, abandonPrompt: null };
  const d = new CampaignDialer(
    {
      ari: fake.ari as never,
      helpers: {
        intoStasis: (_id: string, make: () => Promise<unknown>) => make(),
        subscribe: async () => {},
        hangup: async (id: string) => { hungUp.push(id); },
        quietly: async (_what: string, _ids: unknown, request: () => Promise<unknown>) => request(),
      } as never,
      media: { playToEnd: async () => {} } as never,
      registry: { linkCall: () => {}, unlinkCall: () => {} } as never,
      router: { claim: (kind: string, claim: StasisClaim = {}) => { claims.set(kind, claim); } } as never,
      writes: { enqueue: async () => {} } as never,
      store: { started: () => op, ended: () => op } as never,
      logger: recordingLogger().logger,
      clock: () => new Date(),
      promptMedia: (name: string) => `sound:${name}`,
      endpoint: (number: string) => `PJSIP/${number}@carrier`,
      ringSeconds: 10,
    },
    sessions as never,
    {
      campaign: async () => campaign as never,
      claim: async () => { if (claimed) return []; claimed = true; return [contact(1), contact(2)] as never; },
      isCallable: async () => true,
      attemptStarted: (row: { id: string }) => { lineIds.push(row.id); return op; },
      attemptAnswered: () => op,
      attemptCall: () => op,
      released: () => op,
      queue: async () => undefined,
      callStarted: ({ channelId }: { channelId: string }) => `call-${channelId}`,
      callAnswered: () => {},
      agentCommand: async (agentId: string, command: { type: string }) => { commands.push(`${agentId} ${command.type}`); },
      record: async () => {},
      wrapUpSeconds: async () => 0,
      agentPhase: () => ({ status: 'available', since: undefined, callId: null }),
    },
    { decide: async () => 2, attemptEnded: () => {}, abandoned: (id: string) => { abandoned.push(id); }, connected: () => {}, handled: () => {} } as never,
    { connected: () => {}, end: () => op } as never,
  );
  return { d, fake, claims, hungUp, lineIds, abandoned, commands, session };
}

describe('the campaign dialer', () => {
  it('gives the one free agent to one of two persons back from AMD together; the other is abandoned', async () => {
    const { d, fake, claims, hungUp, lineIds, abandoned, commands, session } = dialer();
    await d.tick();
    assert.equal(lineIds.length, 2, 'both contacts dialled');
    const channelOf = (lineId: string) => `campaign-${lineId}`;
    for (const lineId of lineIds) fake.events.emit('Dial', { peer: { id: channelOf(lineId) }, dialstatus: 'ANSWER' });
    await sleep(10);
    assert.equal(fake.requests.filter((r) => r.startsWith('channels.continueInDialplan')).length, 2, 'both sent to AMD');
    // Both back from AMD as persons, in the same moment.
    const back = claims.get('campaign-amd')!.start!;
    for (const lineId of lineIds) back({ args: ['campaign-amd', lineId, 'HUMAN'], channel: { id: channelOf(lineId) } } as never);
    // The second waits out the 2 s grace for an agent, then is abandoned.
    await sleep(2400);
    const putThrough = fake.requests.filter((r) => r.startsWith('bridges.addChannel'));
    assert.equal(putThrough.length, 1, `one person put through to the agent's bridge, not both: ${putThrough.join(', ')}`);
    assert.deepEqual(commands, ['ana answer'], 'the agent answers one call');
    assert.equal(abandoned.length, 1, 'the other person is abandoned');
    assert.equal(hungUp.length, 1, 'and hung up');
    assert.notEqual(hungUp[0], session.channelId);
    assert.equal(session.state, 'talking');
    assert.equal(channelOf(session.lineId!), lineIds.map(channelOf).find((id) => id !== hungUp[0]));
  });
});
