/**
 * How many lines an outbound campaign dials now: a pure pacer the live
 * dialer feeds with what it observes and asks on every tick (once a second,
 * and when an agent becomes ready). No I/O, no clock of its own: every
 * observation carries its time and `decide` is given `now` (ms; only
 * differences matter). The benchmark (bench/pacing.ts) drives this same
 * class through simulated days; bench/README.md has its figures.
 *
 * Modes
 * - progressive: one line per ready agent not already covered by a ringing
 *   line. Every person who answers finds an agent, so it never abandons;
 *   but an agent waits through every attempt's ring.
 * - fixed_ratio: `ratio` lines in flight per ready agent. Blind to the
 *   answer rate: still slow when few answer, abandons many when most do.
 * - predictive: dials ahead for agents about to be free, as follows.
 *
 * Predictive: a forecast of the next H seconds (H = the longest measured
 * ring before a person answered, at most 60) in one-second steps:
 * - people answering per step: those already waiting for an agent, each
 *   ringing line by its age (P(a person answers in that second | it has
 *   rung this long), from the last 1000 attempts), the d new lines, and the
 *   lines the dialer will go on dialing at its pace of the last minute: a
 *   line dialed later but answered sooner takes the agent an earlier one
 *   was counted on, and leaving those out made the forecast two to three
 *   times too hopeful with 100 agents;
 * - agents finishing per step: each busy one by how long it has been in
 *   talk or wrap-up (P(it ends by then | it has lasted this long), from the
 *   last 400 calls: talk plus the mean wrap-up, or the wrap-up alone),
 *   counted 2 s (the grace) later: a person allowed to wait 2 s for an
 *   agent is served exactly when one would be, answering 2 s later with no
 *   wait;
 * - the expected number of people left without an agent, from the
 *   distribution of idle agents carried step by step (pacing-model.ts).
 * It dials the largest d whose forecast stays within both
 *   ε × the people the forecast expects, and
 *   half of (the abandons the cap still allows, today and over 30 days, − 1),
 * never more than `maxLinesPerAgent` lines in flight per agent, and never
 * fewer lines than progressive would (those are always safe). The answer
 * rate is taken at the top of its 90 % confidence range, so a window that
 * happened to catch few answers does not license a burst of lines. The
 * spread of the forecast is the safety margin: a small pool (20 agents)
 * or few lines has a wide one, so it dials less ahead than a large one.
 *
 * The cap (default 3 %, Ofcom's) holds over today and over the rolling 30
 * days, counted from the history the service seeds (`seedHistory`, from
 * Postgres) plus what this pacer observed since (pacing-cap.ts):
 * - ε aims at target = 0.8 × cap and pays back what the forecast gets
 *   wrong: ε = target + (target × humans − abandons) / 300 for each
 *   period, the smaller of the two, between 0 and twice the cap (a
 *   forecast that proves cautious, as it does with 20 agents, may be
 *   trusted further; the measured rate is what the cap is kept on). Like
 *   VICIdial's adaptive drop-rate dialing, but with a forecast underneath
 *   instead of a ratio nudged up and down.
 * - No room for one more abandon (cap × humans − abandons < 1, which is
 *   also each day's start until 34 people have answered): 1:1, slowed.
 * - Today's or the 30 days' rate past the midpoint of target and cap:
 *   still predictive, said to be slowed (ε is then below the target).
 * - A rate above the cap, today or over 30 days: predictive (and a guarded
 *   fixed ratio) stops and dials 1:1 until the rate is back under it.
 * With too few measurements (20 people answered and 20 calls handled) it
 * dials progressive: learning. The decision's `reason` says which of these
 * applies, for the wallboard.
 *
 * Everything but the seeded counts lives in memory: after a restart the
 * pacer learns again from the calls that follow (a few minutes at 1:1).
 */
import { Forecast } from './pacing-model.js';
import { AbandonCap, percent, rate, type PacingHistory } from './pacing-cap.js';
import { AttemptWindow, SampleWindow, type AttemptOutcome } from './pacing-stats.js';

export type { AttemptOutcome } from './pacing-stats.js';
export type { PacingHistory } from './pacing-cap.js';
export type PacingMode = 'progressive' | 'predictive' | 'fixed_ratio';
export type PacingState = 'normal' | 'slowed' | 'stopped' | 'learning';

export interface PacerOptions {
  mode: PacingMode;
  /** fixed_ratio: lines in flight per ready agent (default 2). */
  ratio?: number;
  /** The abandoned share of answered people not to exceed, today and over 30 days (default 3). */
  abandonCapPercent?: number;
  /** How long an answered person may wait for an agent before the call counts as abandoned (default 2000). */
  connectGraceMs?: number;
  /** predictive: the share of the cap aimed at, leaving the rest for chance (default 0.8). */
  targetShare?: number;
  /** predictive: at most this many lines in flight per logged-in agent (default 3). */
  maxLinesPerAgent?: number;
  /** fixed_ratio falls back to 1:1 when the cap is threatened (default true; false only to show a plain fixed-ratio dialer). */
  capGuard?: boolean;
}

export interface BusyAgent { sinceMs: number; phase: 'talk' | 'wrap' }

export interface PacingInput {
  now: number;
  agentsReady: number;
  /** Agents on a campaign call or in its wrap-up, and for how long they have been in that phase. */
  agentsBusy: readonly BusyAgent[];
  /** Lines dialed and not yet resolved: a count, or better each one's age in ms (a line that has rung 20 s rarely reaches anyone). */
  linesRinging: number | readonly number[];
  /** People who answered and are waiting (within the grace) for an agent. */
  humansWaiting?: number;
}

export interface PacingDecision {
  /** Lines to dial now. */
  dial: number;
  /** Lines in flight per agent expected free within the usual ring (predictive), or the mode's fixed ratio. */
  ratio: number;
  state: PacingState;
  /** A short sentence for the wallboard. */
  reason: string;
}

const learnHumans = 20;
const learnHandled = 20;
/** The share of the remaining abandon budget the calls in flight may risk. */
const budgetShare = 0.5;
const hour = 3_600_000;
const stepMs = 1000;

export class Pacer {
  private readonly mode: PacingMode;
  private readonly fixedRatio: number;
  private readonly graceMs: number;
  private readonly maxLinesPerAgent: number;
  private readonly capGuard: boolean;
  // Recent enough to follow the answer rate through the day, large enough to be steady.
  private readonly attempts = new AttemptWindow(1000);
  private readonly talk = new SampleWindow(400);
  private readonly wrap = new SampleWindow(400);
  private readonly cap: AbandonCap;

  constructor(options: PacerOptions) {
    this.mode = options.mode;
    this.fixedRatio = Math.max(1, options.ratio ?? 2);
    const cap = (options.abandonCapPercent ?? 3) / 100;
    this.cap = new AbandonCap(cap, cap * Math.min(1, Math.max(0, options.targetShare ?? 0.8)));
    this.graceMs = Math.max(0, options.connectGraceMs ?? 2000);
    this.maxLinesPerAgent = options.maxLinesPerAgent ?? 3;
    this.capGuard = options.capGuard ?? true;
  }

  /** A line's outcome is known; ringMs runs from dialing to the answer (or to the end for no answer, busy, failed). */
  attemptEnded(e: { at: number; outcome: AttemptOutcome; ringMs: number }): void {
    this.attempts.add(e.at, e.outcome, Math.max(0, e.ringMs));
  }

  /** A person answered and was given an agent after waitedMs. */
  connected(_e: { at: number; waitedMs: number }): void { this.cap.human(false); }

  /** A person answered and no agent came within the grace. */
  abandoned(_e: { at: number }): void { this.cap.human(true); }

  /** An agent finished a campaign call (talk and wrap-up): the handle times. */
  handled(e: { at: number; talkMs: number; wrapMs: number }): void {
    this.talk.add(e.at, Math.max(0, e.talkMs));
    this.wrap.add(e.at, Math.max(0, e.wrapMs));
  }

  /**
   * Today's and the last 30 days' counts as stored (for this campaign),
   * replacing what the pacer counted before; call it at start, after a
   * restart or failover, and when the day changes.
   */
  seedHistory(history: PacingHistory): void { this.cap.seed(history); }

  /** What the wallboard shows beside the decision. */
  figures(): { answerRate: number; humanRingMeanMs: number; talkMeanMs: number; wrapMeanMs: number; dayAbandonRate: number; rolling30AbandonRate: number } {
    return {
      answerRate: this.attempts.answerRate, humanRingMeanMs: this.attempts.humanRingMeanMs,
      talkMeanMs: this.talk.mean, wrapMeanMs: this.wrap.mean,
      dayAbandonRate: rate(this.cap.day), rolling30AbandonRate: rate(this.cap.rolling30),
    };
  }

  decide(input: PacingInput): PacingDecision {
    this.expire(input.now);
    const ready = Math.max(0, Math.floor(input.agentsReady));
    const ringing = typeof input.linesRinging === 'number' ? Math.max(0, Math.floor(input.linesRinging)) : input.linesRinging.length;
    const waiting = Math.max(0, Math.floor(input.humansWaiting ?? 0));
    const oneToOne = Math.max(0, ready - ringing - waiting);
    const progressive = (state: PacingState, reason: string): PacingDecision => ({ dial: oneToOne, ratio: 1, state, reason });

    if (this.mode === 'progressive') return progressive('normal', `progressive 1:1; ${this.cap.summary()}`);
    const guard = this.cap.forbids();
    if (this.mode === 'fixed_ratio') {
      if (this.capGuard && guard) return progressive(guard.state, `${guard.why}: ${guard.state === 'stopped' ? 'fixed ratio stopped, dialing 1:1' : 'slowed to 1:1'}`);
      const dial = Math.max(0, Math.floor(this.fixedRatio * ready + 1e-9) - ringing - waiting);
      return { dial, ratio: this.fixedRatio, state: 'normal', reason: `fixed ratio ${formatRatio(this.fixedRatio)}; ${this.cap.summary()}` };
    }
    if (this.attempts.humanCount < learnHumans || this.talk.count < learnHandled) {
      return progressive('learning', `learning: ${Math.min(this.attempts.humanCount, this.talk.count)} of ${learnHumans} answered calls measured, dialing 1:1`);
    }
    if (guard) return progressive(guard.state, `${guard.why}: ${guard.state === 'stopped' ? 'predictive stopped, dialing 1:1' : 'slowed to 1:1'}`);

    const epsilon = this.cap.allowance();
    const ages = typeof input.linesRinging === 'number' ? new Array<number>(ringing).fill(0) : input.linesRinging;
    const { dial, freeSoon } = this.predict(input.now, input.agentsBusy, ready, ages, waiting, epsilon);
    const total = Math.max(dial, oneToOne);
    // The wallboard's dial level: lines in flight per agent free within the usual ring.
    const ratio = freeSoon >= 0.5 ? (ringing + waiting + total) / freeSoon : 0;
    const level = freeSoon >= 0.5 ? `${ratio.toFixed(1)} lines per agent soon free` : 'no agent free soon';
    const near = this.cap.near();
    if (near) return { dial: total, ratio, state: 'slowed', reason: `${near}: slowed, ${level}` };
    return { dial: total, ratio, state: 'normal', reason: `answer rate ${percent(this.attempts.answerRate, 0)}, ${level}; ${this.cap.summary()}` };
  }

  /** The lines to dial by the forecast, and how many agents it expects free within the usual ring. */
  private predict(now: number, busy: readonly BusyAgent[], ready: number, ages: readonly number[], waiting: number, epsilon: number): { dial: number; freeSoon: number } {
    const steps = Math.max(1, Math.ceil(Math.min(this.attempts.humanRingMaxMs, 60_000) / stepMs));
    const rateNow = this.attempts.answerRate;
    const prudence = 1 + 1.28 * Math.sqrt((1 - rateNow) / Math.max(1e-9, rateNow * this.attempts.attempts));
    const steady = { mean: new Float64Array(steps), variance: new Float64Array(steps) };
    const fresh = { mean: new Float64Array(steps), variance: new Float64Array(steps) };
    const freed = { mean: new Float64Array(steps), variance: new Float64Array(steps) };
    const by = new Float64Array(steps);
    for (const age of ages) {
      this.attempts.humanWithinAfterEach(Math.max(0, age), stepMs, stepMs, by);
      addChances(steady, by, prudence);
    }
    this.attempts.humanWithinAfterEach(0, stepMs, stepMs, by);
    addChances(fresh, by, prudence);
    const wrapMean = this.wrap.mean;
    for (const a of busy) {
      const since = Math.max(0, a.sinceMs);
      const first = since + stepMs + this.graceMs;
      if (a.phase === 'talk') this.talk.endsByEach(since, first - wrapMean, stepMs, by);
      else this.wrap.endsByEach(since, first, stepMs, by);
      addChances(freed, by, 1);
    }
    // The lines still to be dialed over the horizon, at the pace of the last minute.
    const perStep = (this.attempts.endedSince(now - 60_000) / 60_000) * stepMs;
    for (let k = 1; k < steps; k++) {
      for (let j = 1; j <= k; j++) {
        steady.mean[k]! += perStep * (fresh.mean[k - j] ?? 0);
        steady.variance[k]! += perStep * (fresh.variance[k - j] ?? 0);
      }
    }
    const people = waiting + total(steady.mean);
    const perLine = total(fresh.mean);
    const forecast = new Forecast(ready, freed);
    const answered = { mean: new Float64Array(steps), variance: new Float64Array(steps) };
    const withinBounds = (d: number): boolean => {
      for (let k = 0; k < steps; k++) {
        answered.mean[k] = (steady.mean[k] ?? 0) + d * (fresh.mean[k] ?? 0);
        // A step whose variance would be negative (the total's spread shrinking once chances pass one half) adds none.
        answered.variance[k] = Math.max(0, (steady.variance[k] ?? 0) + d * (fresh.variance[k] ?? 0));
      }
      const allowed = Math.min(epsilon * (people + d * perLine), budgetShare * (this.cap.budget() - 1));
      return forecast.abandons(waiting, answered, allowed) <= allowed;
    };
    // The most lines within bounds: double, then halve (a handful of forecasts; d is usually small).
    const most = Math.max(0, this.maxLinesPerAgent * (ready + busy.length) - ages.length - waiting);
    let good = 0;
    let bad = most + 1;
    for (let d = 1; d <= most; d *= 2) {
      if (!withinBounds(d)) { bad = d; break; }
      good = d;
    }
    while (bad - good > 1) {
      const mid = (good + bad) >>> 1;
      if (withinBounds(mid)) good = mid;
      else bad = mid;
    }
    return { dial: good, freeSoon: ready + total(freed.mean, Math.max(1, Math.round(this.attempts.humanRingMeanMs / stepMs))) };
  }

  private expire(now: number): void {
    this.attempts.expire(now - hour, 200);
    this.talk.expire(now - 2 * hour, 50);
    this.wrap.expire(now - 2 * hour, 50);
  }
}

/**
 * Adds one line's (or agent's) chances to per-step counts: `by[k]` (times
 * `scale`) is the chance it has happened by the end of step k; each step
 * gets the increase and the variance it adds to the running total
 * (pacing-model.ts).
 */
function addChances(counts: { mean: Float64Array; variance: Float64Array }, by: Float64Array, scale: number): void {
  let before = 0;
  for (let k = 0; k < counts.mean.length; k++) {
    const now = Math.min(1, (by[k] ?? 0) * scale);
    counts.mean[k]! += now - before;
    counts.variance[k]! += now * (1 - now) - before * (1 - before);
    before = now;
  }
}

const total = (xs: Float64Array, upTo = xs.length): number => {
  let sum = 0;
  for (let k = 0; k < upTo && k < xs.length; k++) sum += xs[k] ?? 0;
  return sum;
};

const formatRatio = (ratio: number): string => `${ratio.toFixed(1).replace(/\.0$/, '')}:1`;
