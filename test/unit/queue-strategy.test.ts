import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callerOrder, chooseAgents, qualifies, type Candidate, type CallerNeeds } from '../../src/queues/strategy.js';

const agent = (agentId: string, change: Partial<Candidate> = {}): Candidate => ({
  agentId, penalty: 0, idleSince: new Date(1000), callsToday: 0, lastOfferedAt: null, skills: {}, ...change,
});
const none: CallerNeeds = { skills: {}, language: null };

describe('queue strategies', () => {
  const ana = agent('ana', { idleSince: new Date(3000), callsToday: 5, lastOfferedAt: new Date(10), skills: { es: 9, billing: 3 } });
  const ben = agent('ben', { idleSince: new Date(1000), callsToday: 9, lastOfferedAt: new Date(30), skills: { es: 5, billing: 8 } });
  const eva = agent('eva', { idleSince: new Date(2000), callsToday: 1, lastOfferedAt: new Date(20), skills: { en: 9 } });
  const all = [ana, ben, eva];
  const pick = (strategy: Parameters<typeof chooseAgents>[0], needs = none) => chooseAgents(strategy, all, needs).map((c) => c.agentId);

  it('longest idle picks who has waited longest', () => assert.deepEqual(pick('longest_idle'), ['ben']));
  it('round robin picks who was offered least recently', () => assert.deepEqual(pick('round_robin'), ['ana']));
  it('fewest calls picks who answered fewest today', () => assert.deepEqual(pick('fewest_calls'), ['eva']));
  it('ring all rings every qualified agent, longest idle first', () => assert.deepEqual(pick('ring_all'), ['ben', 'eva', 'ana']));
  it('skills picks the best level on the needed skills, then longest idle', () => {
    assert.deepEqual(pick('skills', { skills: { billing: 1 }, language: null }), ['ben']);
    assert.deepEqual(pick('skills', { skills: {}, language: 'es' }), ['ana']);
  });
  it('never offers an agent below a required level, even when idle', () => {
    assert.deepEqual(pick('longest_idle', { skills: { es: 6 }, language: null }), ['ana']);
    assert.deepEqual(pick('ring_all', { skills: { es: 5 }, language: null }), ['ben', 'ana']);
    assert.deepEqual(pick('longest_idle', { skills: { fr: 1 }, language: null }), []);
    assert.equal(qualifies(eva, { skills: {}, language: 'es' }), false);
  });
  it('puts lower penalties first whatever the strategy', () => {
    assert.deepEqual(chooseAgents('longest_idle', [agent('a', { penalty: 2, idleSince: new Date(1) }), agent('b', { penalty: 1, idleSince: new Date(9) })], none).map((c) => c.agentId), ['b']);
  });
  it('serves higher priority first, then first come first served', () => {
    const callers = [
      { entryId: 'c1', priority: 0, enteredAt: new Date(1) },
      { entryId: 'c2', priority: 0, enteredAt: new Date(2) },
      { entryId: 'vip', priority: 10, enteredAt: new Date(3) },
    ];
    assert.deepEqual([...callers].sort(callerOrder).map((c) => c.entryId), ['vip', 'c1', 'c2']);
  });
});
