/**
 * The pacer's forecast (./pacing.ts): how many answered people the calls in
 * flight will leave without an agent. Time is cut into steps as long as the
 * connect grace (2 s): a person who answers during a step is served by an
 * agent idle at its start or freed during it, else abandoned. The idle
 * agents then follow the Lindley recursion of a queue that loses, not
 * keeps, whoever finds no server:
 *   idle(k+1) = max(0, idle(k) + freed(k) − answered(k)),
 *   abandoned(k) = max(0, answered(k) − idle(k) − freed(k)),
 * with answered(k) and freed(k) each a sum of independent chances (every
 * ringing line, every busy agent). A line answers at most once and an agent
 * finishes at most once, so the steps are not independent; the forecast
 * keeps them independent but gives each step the variance that makes the
 * running total's variance right (a binomial with that mean and variance,
 * a Poisson where the variance reaches the mean): taking them as plain
 * Poisson counts would overstate the spread threefold at a 60 % answer
 * rate and dial too little. The whole distribution of idle agents is
 * carried from step to step, so the result is the expected number
 * abandoned, not a bound.
 */

/** P(N = n) for N Poisson with this mean, for n from 0 until the rest is negligible. */
export function poisson(mean: number): Float64Array {
  if (mean <= 0) return Float64Array.of(1);
  const most = Math.ceil(mean + 10 * Math.sqrt(mean) + 10);
  const pmf: number[] = [];
  let p = Math.exp(-mean);
  let total = 0;
  for (let n = 0; n <= most; n++) {
    pmf.push(p);
    total += p;
    if (n >= mean && 1 - total < 1e-9) break;
    p *= mean / (n + 1);
  }
  return Float64Array.from(pmf);
}

/**
 * A count with this mean and a variance at most the mean: a binomial with
 * both (the trials rounded up, so the variance is a little above the one
 * asked), or a Poisson when the variance is about the mean.
 */
export function countOf(mean: number, variance: number): Float64Array {
  if (mean <= 0) return Float64Array.of(1);
  const keep = Math.min(1, Math.max(0, variance / mean));
  if (keep > 0.95) return poisson(mean);
  const trials = Math.ceil(mean / (1 - keep));
  const p = mean / trials;
  if (p >= 1) {
    const certain = new Float64Array(trials + 1);
    certain[trials] = 1;
    return certain;
  }
  const pmf: number[] = [];
  let q = Math.pow(1 - p, trials);
  let total = 0;
  for (let n = 0; n <= trials; n++) {
    pmf.push(q);
    total += q;
    if (n >= mean && 1 - total < 1e-9) break;
    q *= ((trials - n) / (n + 1)) * (p / (1 - p));
  }
  return Float64Array.from(pmf);
}

/** Per step: the expected number of people answering (or of agents finishing) and the variance that step adds. */
export interface Counts { mean: ArrayLike<number>; variance: ArrayLike<number> }

/**
 * The supply side of a forecast (agents idle now, agents finishing per
 * step), fixed for one decision; `abandons` is then asked for several
 * numbers of new lines.
 */
export class Forecast {
  private readonly freed: Float64Array[] = [];
  private readonly size: number;

  constructor(private readonly ready: number, freed: Counts) {
    let total = 0;
    for (let k = 0; k < freed.mean.length; k++) {
      const mean = freed.mean[k] ?? 0;
      total += mean;
      this.freed.push(countOf(mean, freed.variance[k] ?? mean));
    }
    // Idle agents beyond this count are as good as this many: nobody could use them all.
    this.size = Math.min(400, Math.ceil(Math.max(0, ready) + total + 5 * Math.sqrt(total) + 3));
  }

  /**
   * The expected number of people left without an agent, `waiting` of
   * them answered already (they take the first agents), the others
   * answering per step as `answered` says. Stops counting once past
   * `enough` (the caller only wants to know it is too many).
   */
  abandons(waiting: number, answered: Counts, enough = Number.POSITIVE_INFINITY): number {
    const size = this.size;
    let idle = new Float64Array(size + 1);
    let next = new Float64Array(size + 1);
    const start = Math.min(size, Math.max(0, Math.floor(this.ready)));
    idle[start] = 1;
    // The idle counts with any weight lie in [lo, hi]: most of the array is empty.
    let lo = start;
    let hi = start;
    let lost = 0;
    for (let k = 0; k < answered.mean.length && lost <= enough; k++) {
      const arrive = countOf(answered.mean[k] ?? 0, answered.variance[k] ?? 0);
      const free = this.freed[k] ?? Float64Array.of(1);
      const already = k === 0 ? Math.max(0, Math.floor(waiting)) : 0;
      // The change in idle agents over the step (freed − answered), from −low up.
      const low = arrive.length - 1 + already;
      const change = new Float64Array(low + free.length);
      for (let a = 0; a < arrive.length; a++) {
        const pa = arrive[a] ?? 0;
        for (let b = 0; b < free.length; b++) change[b - a - already + low]! += pa * (free[b] ?? 0);
      }
      next.fill(0, Math.max(0, lo - low), Math.min(size, hi + free.length) + 1);
      let nextLo = size;
      let nextHi = 0;
      for (let i = lo; i <= hi; i++) {
        const p = idle[i] ?? 0;
        if (p < 1e-12) continue;
        for (let j = 0; j < change.length; j++) {
          const q = p * (change[j] ?? 0);
          const after = i + j - low;
          if (after < 0) lost -= q * after;
          else {
            const at = Math.min(size, after);
            next[at]! += q;
            if (at < nextLo) nextLo = at;
            if (at > nextHi) nextHi = at;
          }
        }
      }
      // Weight pushed below zero leaves nothing behind; keep the range sane if all of it did.
      lo = Math.min(nextLo, nextHi);
      hi = nextHi;
      [idle, next] = [next, idle];
    }
    return lost;
  }
}
