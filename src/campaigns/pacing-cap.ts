/**
 * The abandon cap the pacer (./pacing.ts) keeps: the share of answered
 * people left without an agent within the grace, at or below the cap
 * (default 3 %, Ofcom's) over today and over the rolling 30 days.
 *
 * The counts are the service's to keep: it seeds them from Postgres
 * (`seed`, today's and the last 30 days' of this campaign) at start, after
 * a restart or failover and when the day changes, and this adds what the
 * pacer observes after that; so a restart does not start the day from
 * zero, and a day's abandons are never forgotten.
 */

/** People reached and abandoned over one period (today, or the rolling 30 days). */
export interface AbandonCount { humans: number; abandons: number }

export interface PacingHistory { dayHumans: number; dayAbandons: number; rolling30Humans: number; rolling30Abandons: number }

/** Abandons above the target are paid back over this many people answering. */
const correctionHumans = 300;

/** abandons / humans, 0 before anyone answered. */
export const rate = (c: AbandonCount): number => (c.humans > 0 ? c.abandons / c.humans : 0);

export const percent = (share: number, digits = 1): string => `${(share * 100).toFixed(digits)} %`;

export class AbandonCap {
  day: AbandonCount = { humans: 0, abandons: 0 };
  rolling30: AbandonCount = { humans: 0, abandons: 0 };

  /** cap and target as shares (0.03, 0.024). */
  constructor(readonly cap: number, readonly target: number) {}

  seed(history: PacingHistory): void {
    this.day = { humans: history.dayHumans, abandons: history.dayAbandons };
    this.rolling30 = { humans: history.rolling30Humans, abandons: history.rolling30Abandons };
  }

  human(abandoned: boolean): void {
    for (const period of [this.day, this.rolling30]) {
      period.humans += 1;
      if (abandoned) period.abandons += 1;
    }
  }

  /** Abandons the cap still allows now, the tighter of today and the rolling 30 days. */
  budget(): number {
    return Math.min(this.cap * this.day.humans - this.day.abandons, this.cap * this.rolling30.humans - this.rolling30.abandons);
  }

  /**
   * Why the pacer may not dial ahead at all now, if it may not: a rate
   * above the cap stops it; no room for one more abandon (also each day's
   * start, until 1 / cap people have answered) slows it to 1:1.
   */
  forbids(): { state: 'stopped' | 'slowed'; why: string } | null {
    const over = this.over(this.cap);
    if (over) return { state: 'stopped', why: over };
    if (this.budget() >= 1) return null;
    if (this.day.abandons === 0) {
      return { state: 'slowed', why: `no abandon allowed before ${Math.ceil(1 / this.cap)} answers today (${this.day.humans} so far)` };
    }
    return { state: 'slowed', why: `abandons ${percent(rate(this.day))} today, cap ${percent(this.cap, 0)}: no room for one more` };
  }

  /** Why predictive holds back, when a rate is past the midpoint of target and cap (ε is then below the target). */
  near(): string | null {
    return this.over((this.target + this.cap) / 2);
  }

  /**
   * The expected abandoned share the forecast may allow the calls in
   * flight (ε in pacing.ts): the target, plus what today's and the 30
   * days' abandons are below it spread over the next 300 people (minus
   * what they are above it), the tighter of the two; up to twice the cap,
   * since a forecast that proves cautious may be trusted further, and it
   * is the measured rate that the cap is kept on.
   */
  allowance(): number {
    const per = (c: AbandonCount): number => this.target + (this.target * c.humans - c.abandons) / correctionHumans;
    return Math.min(2 * this.cap, Math.max(0, Math.min(per(this.day), per(this.rolling30))));
  }

  summary(): string {
    return `abandons ${percent(rate(this.day))} today (cap ${percent(this.cap, 0)})`;
  }

  private over(limit: number): string | null {
    if (rate(this.day) > limit) return `abandons ${percent(rate(this.day))} today, cap ${percent(this.cap, 0)}`;
    if (rate(this.rolling30) > limit) return `abandons ${percent(rate(this.rolling30))} over 30 days, cap ${percent(this.cap, 0)}`;
    return null;
  }
}
