import { Pacer, type AttemptOutcome, type BusyAgent, type PacingDecision, type PacingHistory } from '../campaigns/pacing.js';
import type { CampaignView } from '../campaigns/views.js';
import { localTime } from '../core/time-zone.js';
import type { Logger } from '../core/logger.js';

export interface PacingView { state: PacingDecision['state']; reason: string; ratio: number; dayAbandonRate: number; rolling30AbandonRate: number; answerRate: number }

/**
 * One pacer (src/campaigns/pacing.ts) per campaign, fed with what the
 * dialer sees and asked on every pass. Each pacer starts from the abandon
 * history in Postgres (today and the last 30 days, in the centre's time
 * zone), read again when the day changes and when this instance starts
 * (after a restart or a takeover), so the cap holds across them.
 */
export class CampaignPacing {
  private readonly pacers = new Map<string, { pacer: Pacer; day: string; mode: string; last: PacingDecision | undefined }>();

  constructor(private readonly history: (dayStart: Date, since30: Date) => Promise<PacingHistory>, private readonly timezone: string, private readonly logger: Logger) {}

  /** Lines to dial now for the campaign. */
  async decide(campaign: CampaignView, now: Date, input: { agentsReady: number; agentsBusy: BusyAgent[]; linesRinging: number[]; humansWaiting: number }): Promise<number> {
    const entry = await this.entryFor(campaign, now);
    const decision = entry.pacer.decide({ now: now.getTime(), ...input });
    if (entry.last?.state !== decision.state) this.logger.info({ campaignId: campaign.id, state: decision.state, reason: decision.reason }, 'campaign pacing changed');
    entry.last = decision;
    return decision.dial;
  }

  attemptEnded(campaignId: string, at: Date, outcome: AttemptOutcome, ringMs: number): void {
    this.pacers.get(campaignId)?.pacer.attemptEnded({ at: at.getTime(), outcome, ringMs });
  }

  connected(campaignId: string, at: Date, waitedMs: number): void {
    this.pacers.get(campaignId)?.pacer.connected({ at: at.getTime(), waitedMs });
  }

  abandoned(campaignId: string, at: Date): void {
    this.pacers.get(campaignId)?.pacer.abandoned({ at: at.getTime() });
  }

  handled(campaignId: string, at: Date, talkMs: number, wrapMs: number): void {
    this.pacers.get(campaignId)?.pacer.handled({ at: at.getTime(), talkMs, wrapMs });
  }

  /** What the wallboard shows: the pacing's state and why, and the abandon rates it keeps under the cap. */
  view(campaignId: string): PacingView | undefined {
    const entry = this.pacers.get(campaignId);
    if (!entry?.last) return undefined;
    const f = entry.pacer.figures();
    return { state: entry.last.state, reason: entry.last.reason, ratio: entry.last.ratio, dayAbandonRate: f.dayAbandonRate, rolling30AbandonRate: f.rolling30AbandonRate, answerRate: f.answerRate };
  }

  private async entryFor(campaign: CampaignView, now: Date) {
    const day = localTime(now, this.timezone).date;
    const mode = campaign.mode === 'predictive' ? 'predictive' : 'progressive';
    let entry = this.pacers.get(campaign.id);
    if (!entry || entry.mode !== mode || entry.day !== day) {
      const pacer = entry?.mode === mode ? entry.pacer : new Pacer({ mode, abandonCapPercent: campaign.abandonCapPercent, maxLinesPerAgent: campaign.maxRatio });
      const last = entry?.last;
      const [h, m] = localTime(now, this.timezone).time.split(':').map(Number) as [number, number];
      // The local day's start (to the minute; a day-light saving change that day moves it by an hour, which the cap can bear).
      const dayStart = new Date(now.getTime() - (h * 60 + m) * 60_000 - now.getUTCSeconds() * 1000 - now.getUTCMilliseconds());
      // Seeded before it is kept: a failed read leaves no unseeded pacer behind (the next pass reads again).
      pacer.seedHistory(await this.history(dayStart, new Date(now.getTime() - 30 * 86_400_000)));
      entry = { pacer, day, mode, last };
      this.pacers.set(campaign.id, entry);
    }
    return entry;
  }
}
