import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pacer, type BusyAgent, type PacerOptions, type PacingDecision, type PacingHistory } from '../../src/campaigns/pacing.js';
import { countOf, Forecast } from '../../src/campaigns/pacing-model.js';

const second = 1000;
const now = 10 * 3_600_000;

/**
 * A pacer that has seen a steady campaign: `answerRate` of 1000 attempts
 * answered by a person after 8-17 s, the rest no answer at 25 s; 100 calls
 * of 100-300 s talk and 20-29 s wrap-up.
 */
function taught(options: PacerOptions, answerRate: number, history?: Partial<PacingHistory>): Pacer {
  const pacer = new Pacer(options);
  for (let i = 0; i < 1000; i++) {
    const human = Math.floor((i + 1) * answerRate) > Math.floor(i * answerRate);
    pacer.attemptEnded({ at: now - 1000 * second + i * second, outcome: human ? 'human' : 'no_answer', ringMs: human ? (8 + (i % 10)) * second : 25 * second });
  }
  for (let i = 0; i < 100; i++) pacer.handled({ at: now - 100 * second + i * second, talkMs: (100 + 2 * i) * second, wrapMs: (20 + (i % 10)) * second });
  pacer.seedHistory({ dayHumans: 2000, dayAbandons: 20, rolling30Humans: 40_000, rolling30Abandons: 400, ...history });
  return pacer;
}

const wrapping = (n: number, sinceMs: number): BusyAgent[] => Array.from({ length: n }, () => ({ phase: 'wrap', sinceMs }));
const talking = (n: number, sinceMs: number): BusyAgent[] => Array.from({ length: n }, () => ({ phase: 'talk', sinceMs }));

function assertSane(d: PacingDecision): void {
  assert.ok(Number.isInteger(d.dial) && d.dial >= 0, `dial ${d.dial}`);
  assert.ok(Number.isFinite(d.ratio) && d.ratio >= 0, `ratio ${d.ratio}`);
  assert.ok(d.reason.length > 10, `reason "${d.reason}"`);
}

describe('pacing: progressive and fixed ratio', () => {
  it('progressive dials one line per ready agent not covered by a ringing line', () => {
    const pacer = new Pacer({ mode: 'progressive' });
    assert.equal(pacer.decide({ now, agentsReady: 5, agentsBusy: [], linesRinging: 2 }).dial, 3);
    assert.equal(pacer.decide({ now, agentsReady: 5, agentsBusy: [], linesRinging: [1000, 2000, 3000, 4000, 5000] }).dial, 0);
    assert.equal(pacer.decide({ now, agentsReady: 2, agentsBusy: [], linesRinging: 7 }).dial, 0, 'never negative');
    assert.equal(pacer.decide({ now, agentsReady: 3, agentsBusy: [], linesRinging: 0, humansWaiting: 1 }).dial, 2, 'a waiting person takes an agent');
    const d = pacer.decide({ now, agentsReady: 1, agentsBusy: wrapping(10, 29 * second), linesRinging: 0 });
    assert.deepEqual([d.dial, d.ratio, d.state], [1, 1, 'normal'], 'no dialing ahead for agents about to be free');
    assertSane(d);
  });

  it('progressive ignores what it has learned: still one line per ready agent', () => {
    const pacer = taught({ mode: 'progressive' }, 0.15);
    assert.equal(pacer.decide({ now, agentsReady: 2, agentsBusy: wrapping(20, 28 * second), linesRinging: 0 }).dial, 2);
  });

  it('fixed ratio keeps N lines in flight per ready agent', () => {
    const pacer = new Pacer({ mode: 'fixed_ratio', ratio: 3 });
    pacer.seedHistory({ dayHumans: 1000, dayAbandons: 0, rolling30Humans: 1000, rolling30Abandons: 0 });
    const d = pacer.decide({ now, agentsReady: 2, agentsBusy: [], linesRinging: 1 });
    assert.deepEqual([d.dial, d.ratio, d.state], [5, 3, 'normal']);
    assert.equal(pacer.decide({ now, agentsReady: 1, agentsBusy: [], linesRinging: 4 }).dial, 0);
  });

  it('a guarded fixed ratio falls back to 1:1 over the cap; an unguarded one does not', () => {
    const over = { dayHumans: 1000, dayAbandons: 40, rolling30Humans: 1000, rolling30Abandons: 40 };
    const guarded = new Pacer({ mode: 'fixed_ratio', ratio: 3 });
    guarded.seedHistory(over);
    const d = guarded.decide({ now, agentsReady: 2, agentsBusy: [], linesRinging: 0 });
    assert.deepEqual([d.dial, d.state], [2, 'stopped']);
    assert.match(d.reason, /4\.0 % today/);
    const plain = new Pacer({ mode: 'fixed_ratio', ratio: 3, capGuard: false });
    plain.seedHistory(over);
    assert.equal(plain.decide({ now, agentsReady: 2, agentsBusy: [], linesRinging: 0 }).dial, 6);
  });
});

describe('pacing: predictive', () => {
  it('learns first: progressive until enough calls are measured, and says so', () => {
    const pacer = new Pacer({ mode: 'predictive' });
    pacer.seedHistory({ dayHumans: 2000, dayAbandons: 0, rolling30Humans: 2000, rolling30Abandons: 0 });
    for (let i = 0; i < 10; i++) pacer.attemptEnded({ at: now, outcome: 'human', ringMs: 10 * second });
    const d = pacer.decide({ now, agentsReady: 2, agentsBusy: wrapping(30, 29 * second), linesRinging: 1 });
    assert.deepEqual([d.dial, d.state], [1, 'learning']);
    assert.match(d.reason, /learning/);
  });

  it('dials ahead (more than one line per ready agent) when few answer and agents are about to be free', () => {
    const pacer = taught({ mode: 'predictive' }, 0.15);
    const d = pacer.decide({ now, agentsReady: 1, agentsBusy: [...wrapping(10, 27 * second), ...talking(10, 60 * second)], linesRinging: 0 });
    assert.equal(d.state, 'normal');
    assert.ok(d.dial >= 10, `dialed ${d.dial} for 1 ready agent and 10 ending their wrap-up`);
    assert.ok(d.ratio > 1, `ratio ${d.ratio}`);
    assert.match(d.reason, /answer rate 15 %/);
    assertSane(d);
  });

  it('dials less ahead for agents who have just started talking than for agents finishing', () => {
    const pacer = taught({ mode: 'predictive' }, 0.15);
    const finishing = pacer.decide({ now, agentsReady: 0, agentsBusy: wrapping(10, 27 * second), linesRinging: 0 }).dial;
    const starting = pacer.decide({ now, agentsReady: 0, agentsBusy: talking(10, 1 * second), linesRinging: 0 }).dial;
    assert.ok(starting < finishing, `${starting} for new calls, ${finishing} for wrap-ups ending`);
    assert.ok(starting <= 2, `${starting} lines for 10 agents who just started talking`);
  });

  it('dials fewer lines ahead when most attempts reach a person', () => {
    const busy = [...wrapping(10, 27 * second), ...talking(10, 60 * second)];
    const low = taught({ mode: 'predictive' }, 0.15).decide({ now, agentsReady: 1, agentsBusy: busy, linesRinging: 0 }).dial;
    const high = taught({ mode: 'predictive' }, 0.6).decide({ now, agentsReady: 1, agentsBusy: busy, linesRinging: 0 }).dial;
    assert.ok(high < low, `${high} lines at 60 % answered, ${low} at 15 %`);
    assert.ok(high >= 1, 'still at least the ready agent\'s line');
  });

  it('counts the lines already ringing, young ones more than old ones', () => {
    const pacer = taught({ mode: 'predictive', maxLinesPerAgent: 10 }, 0.15);
    const busy = wrapping(10, 27 * second);
    const none = pacer.decide({ now, agentsReady: 0, agentsBusy: busy, linesRinging: [] }).dial;
    const young = pacer.decide({ now, agentsReady: 0, agentsBusy: busy, linesRinging: new Array<number>(20).fill(1000) }).dial;
    const old = pacer.decide({ now, agentsReady: 0, agentsBusy: busy, linesRinging: new Array<number>(20).fill(20_000) }).dial;
    assert.ok(young < none, `${young} with 20 young lines, ${none} with none`);
    assert.ok(old > young, `${old} with 20 lines ringing for 20 s (few will still answer), ${young} with young ones`);
  });

  it('keeps at most maxLinesPerAgent lines in flight per agent', () => {
    const pacer = taught({ mode: 'predictive', maxLinesPerAgent: 2 }, 0.05);
    const d = pacer.decide({ now, agentsReady: 5, agentsBusy: wrapping(5, 28 * second), linesRinging: 3 });
    assert.ok(d.dial + 3 <= 2 * 10, `dialed ${d.dial}`);
  });

  it('stops dialing ahead when today\'s rate is above the cap, and says why', () => {
    const pacer = taught({ mode: 'predictive' }, 0.15, { dayHumans: 1000, dayAbandons: 31 });
    const d = pacer.decide({ now, agentsReady: 2, agentsBusy: wrapping(10, 27 * second), linesRinging: 1 });
    assert.deepEqual([d.dial, d.ratio, d.state], [1, 1, 'stopped']);
    assert.match(d.reason, /3\.1 % today, cap 3 %/);
  });

  it('stops dialing ahead when the rolling 30 days are above the cap though today is fine', () => {
    const pacer = taught({ mode: 'predictive' }, 0.15, { dayHumans: 1000, dayAbandons: 5, rolling30Humans: 30_000, rolling30Abandons: 905 });
    const d = pacer.decide({ now, agentsReady: 2, agentsBusy: wrapping(10, 27 * second), linesRinging: 0 });
    assert.deepEqual([d.dial, d.state], [2, 'stopped']);
    assert.match(d.reason, /over 30 days/);
  });

  it('slows to 1:1 when the rate reaches the cap (no room for one more abandon)', () => {
    const pacer = taught({ mode: 'predictive' }, 0.15, { dayHumans: 1000, dayAbandons: 30 });
    const d = pacer.decide({ now, agentsReady: 2, agentsBusy: wrapping(10, 27 * second), linesRinging: 0 });
    assert.deepEqual([d.dial, d.state], [2, 'slowed']);
    assert.match(d.reason, /3\.0 % today, cap 3 %: no room for one more: slowed to 1:1/);
  });

  it('dials 1:1 at the start of a day until an abandon is affordable', () => {
    const pacer = taught({ mode: 'predictive' }, 0.15, { dayHumans: 12, dayAbandons: 0 });
    const d = pacer.decide({ now, agentsReady: 2, agentsBusy: wrapping(10, 27 * second), linesRinging: 0 });
    assert.deepEqual([d.dial, d.state], [2, 'slowed']);
    assert.match(d.reason, /34 answers today \(12 so far\)/);
  });

  it('its own observations count toward the cap', () => {
    const pacer = taught({ mode: 'predictive' }, 0.15, { dayHumans: 998, dayAbandons: 29 });
    const busy = wrapping(10, 27 * second);
    assert.notEqual(pacer.decide({ now, agentsReady: 1, agentsBusy: busy, linesRinging: 0 }).state, 'stopped');
    pacer.abandoned({ at: now });
    pacer.abandoned({ at: now });
    const d = pacer.decide({ now, agentsReady: 1, agentsBusy: busy, linesRinging: 0 });
    assert.deepEqual([d.dial, d.state], [1, 'stopped']);
    assert.equal(pacer.figures().dayAbandonRate, 31 / 1000);
  });

  it('holds back as the rate nears the cap: slowed, and fewer lines than with room to spare', () => {
    const busy = [...wrapping(10, 27 * second), ...talking(10, 60 * second)];
    const roomy = taught({ mode: 'predictive' }, 0.15, { dayHumans: 2000, dayAbandons: 20 }).decide({ now, agentsReady: 1, agentsBusy: busy, linesRinging: 0 });
    const tight = taught({ mode: 'predictive' }, 0.15, { dayHumans: 2000, dayAbandons: 56 }).decide({ now, agentsReady: 1, agentsBusy: busy, linesRinging: 0 });
    assert.equal(roomy.state, 'normal');
    assert.equal(tight.state, 'slowed');
    assert.match(tight.reason, /2\.8 % today, cap 3 %: slowed, 0\.\d lines per agent soon free/);
    assert.ok(tight.dial < roomy.dial, `${tight.dial} near the cap, ${roomy.dial} with room`);
    assert.ok(tight.dial >= 1, 'never fewer than progressive');
  });

  it('never answers a negative or fractional count, whatever it is given', () => {
    const pacer = taught({ mode: 'predictive' }, 0.3);
    for (const agentsReady of [0, 1, 7]) {
      for (const lines of [0, 3, 40]) {
        for (const busy of [[], wrapping(5, 0), talking(30, 900 * second), talking(3, 5_000 * second)]) {
          for (const humansWaiting of [0, 2]) {
            const d = pacer.decide({ now, agentsReady, agentsBusy: busy, linesRinging: new Array<number>(lines).fill(4000), humansWaiting });
            assertSane(d);
            assert.ok(d.dial >= Math.max(0, agentsReady - lines - humansWaiting), 'at least progressive');
          }
        }
      }
    }
  });
});

describe('pacing: the forecast', () => {
  it('expects no abandon when ready agents outnumber every possible answer', () => {
    // Each step at most two people (a binomial of 2 trials): four at most, four agents.
    const f = new Forecast(4, { mean: [0, 0], variance: [0, 0] });
    assert.equal(f.abandons(0, { mean: [1, 1], variance: [0.5, 0.5] }), 0);
    assert.ok(new Forecast(3, { mean: [0, 0], variance: [0, 0] }).abandons(0, { mean: [1, 1], variance: [0.5, 0.5] }) > 0);
  });

  it('loses the people beyond the agents: E[(N − 1)⁺] = e⁻¹ for N Poisson(1) and one agent', () => {
    const f = new Forecast(1, { mean: [0], variance: [0] });
    assert.ok(Math.abs(f.abandons(0, { mean: [1], variance: [1] }) - Math.exp(-1)) < 1e-6);
    assert.ok(Math.abs(new Forecast(0, { mean: [0], variance: [0] }).abandons(2, { mean: [0], variance: [0] }) - 2) < 1e-9, 'people already waiting, nobody to take them');
  });

  it('lets an agent freed later serve a later answer, not an earlier one', () => {
    const early = new Forecast(0, { mean: [0, 1], variance: [0, 0] }).abandons(0, { mean: [1, 0], variance: [0, 0] });
    const late = new Forecast(0, { mean: [1, 0], variance: [0, 0] }).abandons(0, { mean: [0, 1], variance: [0, 0] });
    assert.ok(Math.abs(early - 1) < 1e-9, `${early}`);
    assert.ok(late < 1e-9, `${late}`);
  });

  it('builds counts with the mean and variance asked', () => {
    for (const [mean, variance] of [[2, 2], [3, 1.2], [0.4, 0.3]] as const) {
      const pmf = countOf(mean, variance);
      const m = pmf.reduce((s, p, n) => s + p * n, 0);
      const v = pmf.reduce((s, p, n) => s + p * (n - m) ** 2, 0);
      assert.ok(Math.abs(pmf.reduce((s, p) => s + p, 0) - 1) < 1e-6);
      assert.ok(Math.abs(m - mean) < 1e-6, `mean ${m}`);
      assert.ok(v >= variance - 1e-6 && v <= variance + 0.35, `variance ${v} for ${variance}`);
    }
  });
});
