/**
 * The measurements the pacer (./pacing.ts) decides from: recent attempts
 * (answer rate, how long lines ring before a person answers) and recent
 * handle times (talk, wrap-up). Pure: times are passed in.
 *
 * They live in memory only. After a restart the windows are empty and the
 * pacer learns again (progressive dialing until it has enough samples);
 * nothing the cap depends on is lost that way (./pacing-cap.ts).
 */

/** One measurement and when it was taken (ms; only differences matter). */
interface Sample { at: number; value: number }

/**
 * A bounded window of recent values, kept both in arrival order (to drop
 * the oldest) and sorted. The pacer asks thousands of "how many are ≤ x"
 * per decision, so those are read from a table of counts per `resolution`
 * (ms), rebuilt when the window has changed: x is taken down to the
 * resolution, well below what a pacing decision can tell apart.
 */
export class SampleWindow {
  private readonly arrivals: Sample[] = [];
  private readonly sorted: number[] = [];
  private sum = 0;
  private table: Int32Array | null = null;

  constructor(private readonly capacity: number, private readonly resolution = 1000) {}

  get count(): number { return this.sorted.length; }
  get mean(): number { return this.sorted.length ? this.sum / this.sorted.length : 0; }
  get max(): number { return this.sorted.at(-1) ?? 0; }

  add(at: number, value: number): void {
    this.arrivals.push({ at, value });
    this.sorted.splice(upperBound(this.sorted, value), 0, value);
    this.sum += value;
    this.table = null;
    if (this.arrivals.length > this.capacity) this.dropOldest();
  }

  /** Forgets values taken before `before`, keeping at least `keep` of them (a quiet hour must not empty the window). */
  expire(before: number, keep: number): void {
    while (this.arrivals.length > keep && (this.arrivals[0]?.at ?? before) < before) this.dropOldest();
  }

  /** How many values are ≤ x (x taken down to the resolution). */
  atMost(x: number): number {
    const table = this.table ?? this.tabulate();
    const i = Math.floor(x / this.resolution);
    if (i < 0) return 0;
    return i < table.length ? (table[i] ?? 0) : this.sorted.length;
  }

  /**
   * P(value ≤ upTo + k × step | value > elapsed) for k = 0 … into.length − 1,
   * into `into`: how likely a call that has lasted `elapsed` has ended by
   * then (asked for every busy agent on every decision). When nothing
   * measured lasted that long the answer is 0: an unusually long call is
   * not counted on to end, the cautious guess (it means dialing less).
   */
  endsByEach(elapsed: number, upTo: number, step: number, into: Float64Array): void {
    const beyond = this.sorted.length - this.atMost(elapsed);
    const base = this.atMost(elapsed);
    for (let k = 0; k < into.length; k++) into[k] = beyond > 0 ? Math.max(0, this.atMost(upTo + k * step) - base) / beyond : 0;
  }

  /** Drops the oldest value. */
  dropOldest(): void {
    const old = this.arrivals.shift();
    if (!old) return;
    const i = upperBound(this.sorted, old.value) - 1;
    this.sorted.splice(i, 1);
    this.sum -= old.value;
    this.table = null;
  }

  /** table[i] = how many values are ≤ i × resolution, up to the largest value. */
  private tabulate(): Int32Array {
    const table = new Int32Array(Math.floor(this.max / this.resolution) + 1);
    let n = 0;
    for (let i = 0; i < table.length; i++) {
      while (n < this.sorted.length && (this.sorted[n] ?? 0) <= i * this.resolution) n++;
      table[i] = n;
    }
    this.table = table;
    return table;
  }
}

/** Index of the first element greater than x in an ascending array. */
function upperBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export type AttemptOutcome = 'human' | 'machine' | 'no_answer' | 'busy' | 'failed';

/**
 * Recent attempts: how long each lasted until its outcome was known, all
 * outcomes in one window and the humans in another over the same
 * attempts, so that "will a line that has rung for 12 s still reach a
 * person, and when" is a ratio of two counts.
 */
export class AttemptWindow {
  private readonly all: SampleWindow;
  private readonly humans: SampleWindow;
  private readonly order: Array<{ at: number; human: boolean }> = [];

  constructor(private readonly capacity: number) {
    // Both windows are trimmed here, in step, so their own bound is never reached.
    this.all = new SampleWindow(Number.POSITIVE_INFINITY, 100);
    this.humans = new SampleWindow(Number.POSITIVE_INFINITY, 100);
  }

  get attempts(): number { return this.all.count; }
  get humanCount(): number { return this.humans.count; }
  /** The share of attempts a person answered. */
  get answerRate(): number { return this.all.count ? this.humans.count / this.all.count : 0; }
  /** Mean time from dialing to a person answering. */
  get humanRingMeanMs(): number { return this.humans.mean; }
  get humanRingMaxMs(): number { return this.humans.max; }

  add(at: number, outcome: AttemptOutcome, ringMs: number): void {
    const human = outcome === 'human';
    this.order.push({ at, human });
    this.all.add(at, ringMs);
    if (human) this.humans.add(at, ringMs);
    if (this.order.length > this.capacity) this.dropOldest();
  }

  expire(before: number, keep: number): void {
    while (this.order.length > keep && (this.order[0]?.at ?? before) < before) this.dropOldest();
  }

  /** How many attempts ended at or after `t` (observations arrive in time order). */
  endedSince(t: number): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.order[mid]?.at ?? t) < t) lo = mid + 1;
      else hi = mid;
    }
    return this.order.length - lo;
  }

  /**
   * P(a line that has rung `age` ms reaches a person within the next
   * first + k × step ms) for k = 0 … into.length − 1, into `into`: the
   * attempts that reached a person in that time over those that lasted
   * longer than `age`.
   */
  humanWithinAfterEach(age: number, first: number, step: number, into: Float64Array): void {
    const stillOpen = this.all.count - this.all.atMost(age);
    const base = this.humans.atMost(age);
    for (let k = 0; k < into.length; k++) into[k] = stillOpen > 0 ? Math.max(0, this.humans.atMost(age + first + k * step) - base) / stillOpen : 0;
  }

  private dropOldest(): void {
    const old = this.order.shift();
    if (!old) return;
    // Each window keeps arrival order too, so its oldest value is this attempt's.
    this.all.dropOldest();
    if (old.human) this.humans.dropOldest();
  }
}
