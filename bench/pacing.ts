// Predictive pacing over a simulated day: a discrete-event simulation of a
// campaign's agents and lines, driven by the same Pacer the live dialer uses
// (src/campaigns/pacing.ts), for progressive 1:1, fixed 2:1 and 3:1, and
// predictive dialing, at 15, 30 and 60 % of attempts answered by a person,
// with 20 and 100 agents. No Asterisk, no database. Usage:
//   npm run bench:pacing [-- --seeds N --hours H]     (defaults 5 seeds, 8 hours)
// Prints a Markdown table (the figures in bench/README.md come from it);
// about 75 s of CPU with the defaults, most of it the predictive runs.
//
// What the simulation assumes (each a stated guess, the same for every dialer):
// - every agent is logged in for the whole day, never paused; an agent who
//   frees up is ready at once and the dialer asks the pacer once a second;
// - an attempt's outcome is drawn when it is dialed and revealed only when it
//   happens (the pacer sees the line's age, never its fate):
//     a person answers (the case's answer rate) after a ring drawn from a
//       lognormal of mean 11 s (σ of the log 0.5, so 4-25 s), below the
//       25 s no-answer timeout;
//     of the other attempts: 25 % an answering machine (the same ring plus
//       3 s to detect it), 10 % busy (2-5 s), 5 % failed (0.5-3 s), 60 % no
//       answer (25 s timeout);
// - a person who answers gets the longest-idle ready agent; with none ready
//   they wait up to 2 s for one, else the call is abandoned (they hear the
//   recorded message and the line ends);
// - talk time lognormal of mean 210 s (σ of the log 0.7: median 164 s, one
//   call in twenty past 9 minutes); wrap-up lognormal of mean 25 s (σ 0.35).
// Each case runs on several seeds (mulberry32) and reports the mean; a
// dialer's abandon rate is also given for its worst seed, since the cap is
// for every day, not for the average one.
import { Pacer, type AttemptOutcome, type BusyAgent, type PacerOptions } from '../src/campaigns/pacing.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} wants a positive number`);
  return value;
};
const seeds = Math.floor(arg('seeds', 5));
const hours = arg('hours', 8);

const second = 1000;
const noAnswerMs = 25 * second;
const graceMs = 2 * second;

/** Small, fast, seeded: mulberry32. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A lognormal with this mean and σ of its log. */
function lognormal(rnd: () => number, mean: number, sigma: number): number {
  const u = Math.max(rnd(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  return Math.exp(Math.log(mean) - (sigma * sigma) / 2 + sigma * z);
}

const uniform = (rnd: () => number, lo: number, hi: number): number => lo + (hi - lo) * rnd();

/** A ring until someone (or something) answers, before the no-answer timeout. */
function answerRing(rnd: () => number): number {
  for (;;) {
    const ring = lognormal(rnd, 11 * second, 0.5);
    if (ring < noAnswerMs) return ring;
  }
}

type EventKind = 'tick' | 'resolve' | 'grace' | 'talkEnd' | 'wrapEnd';
interface SimEvent { at: number; seq: number; kind: EventKind; id: number }

/** A binary heap of events by time (then by order of scheduling, so runs repeat exactly). */
class Agenda {
  private readonly heap: SimEvent[] = [];
  private seq = 0;
  push(at: number, kind: EventKind, id: number): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, kind, id });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): SimEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
const before = (a: SimEvent, b: SimEvent): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

interface Agent { phase: 'ready' | 'talk' | 'wrap'; since: number; talkMs: number; wrapMs: number }
interface Line { dialedAt: number; outcome: AttemptOutcome; ringMs: number }
interface Totals { talkMs: number; wrapMs: number; loggedMs: number; humans: number; abandons: number; calls: number }

function simulate(agentCount: number, humanRate: number, options: PacerOptions, seed: number): Totals {
  const rnd = random(seed);
  const pacer = new Pacer(options);
  const agenda = new Agenda();
  const dayMs = hours * 3600 * second;
  const agents: Agent[] = Array.from({ length: agentCount }, () => ({ phase: 'ready', since: 0, talkMs: 0, wrapMs: 0 }));
  const readyOrder: number[] = agents.map((_, i) => i); // longest idle first
  const lines = new Map<number, Line>();
  const waiting = new Map<number, number>(); // line id → answered at, in answer order
  const totals: Totals = { talkMs: 0, wrapMs: 0, loggedMs: agentCount * dayMs, humans: 0, abandons: 0, calls: 0 };
  let nextLine = 0;

  const dial = (now: number): void => {
    const id = nextLine++;
    const u = rnd();
    const rest = (u - humanRate) / (1 - humanRate); // where the other outcomes share the remainder
    let line: Line;
    if (u < humanRate) line = { dialedAt: now, outcome: 'human', ringMs: answerRing(rnd) };
    else if (rest < 0.25) line = { dialedAt: now, outcome: 'machine', ringMs: answerRing(rnd) + 3 * second };
    else if (rest < 0.35) line = { dialedAt: now, outcome: 'busy', ringMs: uniform(rnd, 2, 5) * second };
    else if (rest < 0.40) line = { dialedAt: now, outcome: 'failed', ringMs: uniform(rnd, 0.5, 3) * second };
    else line = { dialedAt: now, outcome: 'no_answer', ringMs: noAnswerMs };
    lines.set(id, line);
    agenda.push(now + line.ringMs, 'resolve', id);
  };

  const connect = (now: number, agentId: number, waitedMs: number): void => {
    const agent = agents[agentId]!;
    pacer.connected({ at: now, waitedMs });
    totals.humans += 1;
    totals.calls += 1;
    agent.phase = 'talk';
    agent.since = now;
    agent.talkMs = lognormal(rnd, 210 * second, 0.7);
    agent.wrapMs = lognormal(rnd, 25 * second, 0.35);
    agenda.push(now + agent.talkMs, 'talkEnd', agentId);
  };

  agenda.push(0, 'tick', 0);
  for (let e = agenda.pop(); e && e.at < dayMs; e = agenda.pop()) {
    const now = e.at;
    switch (e.kind) {
      case 'tick': {
        const busy: BusyAgent[] = [];
        for (const a of agents) if (a.phase !== 'ready') busy.push({ sinceMs: now - a.since, phase: a.phase });
        const ages: number[] = [];
        for (const l of lines.values()) ages.push(now - l.dialedAt);
        const decision = pacer.decide({ now, agentsReady: readyOrder.length, agentsBusy: busy, linesRinging: ages, humansWaiting: waiting.size });
        for (let i = 0; i < decision.dial; i++) dial(now);
        agenda.push(now + second, 'tick', 0);
        break;
      }
      case 'resolve': {
        const line = lines.get(e.id)!;
        lines.delete(e.id);
        pacer.attemptEnded({ at: now, outcome: line.outcome, ringMs: line.ringMs });
        if (line.outcome !== 'human') break;
        const agentId = readyOrder.shift();
        if (agentId !== undefined) connect(now, agentId, 0);
        else {
          waiting.set(e.id, now);
          agenda.push(now + graceMs, 'grace', e.id);
        }
        break;
      }
      case 'grace':
        if (waiting.delete(e.id)) {
          pacer.abandoned({ at: now });
          totals.humans += 1;
          totals.abandons += 1;
        }
        break;
      case 'talkEnd': {
        const agent = agents[e.id]!;
        totals.talkMs += agent.talkMs;
        agent.phase = 'wrap';
        agent.since = now;
        agenda.push(now + agent.wrapMs, 'wrapEnd', e.id);
        break;
      }
      case 'wrapEnd': {
        const agent = agents[e.id]!;
        totals.wrapMs += agent.wrapMs;
        pacer.handled({ at: now, talkMs: agent.talkMs, wrapMs: agent.wrapMs });
        agent.phase = 'ready';
        agent.since = now;
        const first = waiting.entries().next();
        if (!first.done) {
          const [lineId, answeredAt] = first.value;
          waiting.delete(lineId);
          connect(now, e.id, now - answeredAt);
        } else readyOrder.push(e.id);
        break;
      }
    }
  }
  // Calls still going at the end of the day count up to the end.
  for (const a of agents) {
    if (a.phase === 'talk') totals.talkMs += dayMs - a.since;
    if (a.phase === 'wrap') totals.wrapMs += dayMs - a.since;
  }
  return totals;
}

const dialers: Array<{ label: string; options: PacerOptions }> = [
  { label: 'progressive 1:1', options: { mode: 'progressive' } },
  { label: 'fixed 2:1', options: { mode: 'fixed_ratio', ratio: 2, capGuard: false } },
  { label: 'fixed 3:1', options: { mode: 'fixed_ratio', ratio: 3, capGuard: false } },
  { label: 'predictive', options: { mode: 'predictive' } },
];

const started = performance.now();
const rows: string[] = [];
for (const agentCount of [20, 100]) {
  for (const humanRate of [0.15, 0.3, 0.6]) {
    let progressiveTalk = 0;
    for (const dialer of dialers) {
      const runs = Array.from({ length: seeds }, (_, s) => simulate(agentCount, humanRate, dialer.options, 1000 + s));
      const mean = (f: (t: Totals) => number): number => runs.reduce((sum, t) => sum + f(t), 0) / runs.length;
      const abandon = (t: Totals): number => (t.humans ? t.abandons / t.humans : 0);
      const occupancy = mean((t) => (t.talkMs + t.wrapMs) / t.loggedMs);
      const talkShare = mean((t) => t.talkMs / t.loggedMs);
      const talkPerHour = talkShare * 60;
      const waitPerCall = mean((t) => (t.loggedMs - t.talkMs - t.wrapMs) / Math.max(1, t.calls) / second);
      if (dialer.options.mode === 'progressive') progressiveTalk = talkPerHour;
      const gain = dialer.options.mode === 'progressive' ? '' : `${((talkPerHour / progressiveTalk - 1) * 100).toFixed(0)} %`;
      rows.push(`| ${agentCount} | ${humanRate * 100} % | ${dialer.label} | ${pct(occupancy)} | ${pct(talkShare)} | ${pct(mean(abandon))} | ${pct(Math.max(...runs.map(abandon)))} | ${talkPerHour.toFixed(1)} | ${waitPerCall.toFixed(0)} s | ${gain} |`);
    }
  }
}
function pct(share: number): string { return `${(share * 100).toFixed(1)} %`; }

console.log(`${seeds} seeds, ${hours} h day, ${((performance.now() - started) / 1000).toFixed(1)} s (${(process.cpuUsage().user / 1e6).toFixed(1)} s of CPU)\n`);
console.log('| agents | answer rate | dialer | occupancy (talk + wrap) | talk only | abandons (mean) | abandons (worst seed) | talk min per agent-hour | wait per call | talk vs progressive |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
