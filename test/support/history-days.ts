import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { TestApp } from './harness.js';

/**
 * Weeks of stored history for the reports, around the autumn clock change in
 * Madrid (Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET, a 25-hour
 * day). Every time is written as Madrid wall clock with its offset (+02:00
 * until 25 Oct 01:00Z, +01:00 after). test/http/reports-history.test.ts
 * works every figure out by hand from this list.
 *
 * Agents: ana and ben (team A), carla (team B, night shifts).
 * Queues: ventas (members ana, ben; service level 20 s, changed to 30 s after
 * Friday 23's entries were written), soporte (members ana, carla; 60 s).
 *
 * What the ranges of the test start in the middle of:
 * - carla's night shifts cross local midnight (Wed 30 Sep→Thu 1 Oct, Sun 18→Mon 19,
 *   Thu 22→Fri 23, Sat 24→Sun 25 over the clock change);
 * - ana is on call c5 from 10:05:05 to 10:20:05 on Fri 23 (the 15m range 10:15);
 * - ben is at lunch from 13:30 to 14:30 on Fri 23 (the hour range 14:00);
 * - ben's last change before Fri 23 is his logout on Thu 22, before Mon 26 his logout on Fri 23.
 */

/** Agent states, in order: [at, to_state, reason or call key]. The first leaves logged_out. */
export type StateStep = [at: string, to: 'logged_out' | 'available' | 'ringing' | 'on_call' | 'wrap_up' | 'paused', reasonOrCall?: string];

export const shifts: Record<'ana' | 'ben' | 'carla', StateStep[][]> = {
  ana: [
    [ // Wed 30 Sep: one call (history before October)
      ['2026-09-30T09:00:00+02:00', 'available'], ['2026-09-30T09:10:00+02:00', 'ringing', 'h1'], ['2026-09-30T09:10:10+02:00', 'on_call', 'h1'],
      ['2026-09-30T09:15:10+02:00', 'wrap_up', 'h1'], ['2026-09-30T09:15:40+02:00', 'available'], ['2026-09-30T10:00:00+02:00', 'logged_out'],
    ],
    [ // Thu 15 Oct
      ['2026-10-15T09:00:00+02:00', 'available'], ['2026-10-15T09:30:00+02:00', 'ringing', 'h2'], ['2026-10-15T09:30:05+02:00', 'on_call', 'h2'],
      ['2026-10-15T09:34:05+02:00', 'wrap_up', 'h2'], ['2026-10-15T09:34:25+02:00', 'available'], ['2026-10-15T11:00:00+02:00', 'logged_out'],
    ],
    [ // Thu 22 Oct: c1, then c2 after it rang out on ben; lunch
      ['2026-10-22T09:00:00+02:00', 'available'],
      ['2026-10-22T09:30:00+02:00', 'ringing', 'c1'], ['2026-10-22T09:30:10+02:00', 'on_call', 'c1'], ['2026-10-22T09:36:10+02:00', 'wrap_up', 'c1'], ['2026-10-22T09:36:40+02:00', 'available'],
      ['2026-10-22T10:00:15+02:00', 'ringing', 'c2'], ['2026-10-22T10:00:20+02:00', 'on_call', 'c2'], ['2026-10-22T10:03:20+02:00', 'wrap_up', 'c2'], ['2026-10-22T10:03:50+02:00', 'available'],
      ['2026-10-22T12:00:00+02:00', 'paused', 'lunch'], ['2026-10-22T13:00:00+02:00', 'available'], ['2026-10-22T14:00:00+02:00', 'logged_out'],
    ],
    [ // Fri 23 Oct: c5 across 10:15; c6 in ventas, transferred by ana to soporte and answered by ana again; a break
      ['2026-10-23T08:00:00+02:00', 'available'],
      ['2026-10-23T10:05:00+02:00', 'ringing', 'c5'], ['2026-10-23T10:05:05+02:00', 'on_call', 'c5'], ['2026-10-23T10:20:05+02:00', 'wrap_up', 'c5'], ['2026-10-23T10:20:45+02:00', 'available'],
      ['2026-10-23T10:40:00+02:00', 'ringing', 'c6'], ['2026-10-23T10:40:04+02:00', 'on_call', 'c6'], ['2026-10-23T10:43:04+02:00', 'wrap_up', 'c6'], ['2026-10-23T10:43:34+02:00', 'available'],
      ['2026-10-23T10:43:40+02:00', 'ringing', 'c6'], ['2026-10-23T10:43:42+02:00', 'on_call', 'c6'], ['2026-10-23T10:47:42+02:00', 'wrap_up', 'c6'], ['2026-10-23T10:48:22+02:00', 'available'],
      ['2026-10-23T11:00:00+02:00', 'paused', 'break'], ['2026-10-23T11:10:00+02:00', 'available'], ['2026-10-23T12:00:00+02:00', 'logged_out'],
    ],
    [ // Sat 24 Oct
      ['2026-10-24T10:00:00+02:00', 'available'], ['2026-10-24T10:30:00+02:00', 'ringing', 'c12'], ['2026-10-24T10:30:25+02:00', 'on_call', 'c12'],
      ['2026-10-24T10:35:25+02:00', 'wrap_up', 'c12'], ['2026-10-24T10:35:45+02:00', 'available'], ['2026-10-24T11:00:00+02:00', 'logged_out'],
    ],
    [ // Mon 26 Oct (CET): c16 in soporte, c17 in ventas after it rang out on ben; a break
      ['2026-10-26T09:00:00+01:00', 'available'],
      ['2026-10-26T09:20:00+01:00', 'ringing', 'c16'], ['2026-10-26T09:20:10+01:00', 'on_call', 'c16'], ['2026-10-26T09:26:10+01:00', 'wrap_up', 'c16'], ['2026-10-26T09:26:40+01:00', 'available'],
      ['2026-10-26T09:40:15+01:00', 'ringing', 'c17'], ['2026-10-26T09:40:18+01:00', 'on_call', 'c17'], ['2026-10-26T09:44:18+01:00', 'wrap_up', 'c17'], ['2026-10-26T09:44:38+01:00', 'available'],
      ['2026-10-26T10:00:00+01:00', 'paused', 'break'], ['2026-10-26T10:15:00+01:00', 'available'], ['2026-10-26T11:00:00+01:00', 'logged_out'],
    ],
  ],
  ben: [
    [ // Wed 30 Sep
      ['2026-09-30T09:00:00+02:00', 'available'], ['2026-09-30T09:20:00+02:00', 'paused', 'break'], ['2026-09-30T09:35:00+02:00', 'available'], ['2026-09-30T10:00:00+02:00', 'logged_out'],
    ],
    [ // Thu 15 Oct
      ['2026-10-15T09:00:00+02:00', 'available'], ['2026-10-15T10:00:00+02:00', 'paused', 'lunch'], ['2026-10-15T10:30:00+02:00', 'available'],
      ['2026-10-15T11:00:00+02:00', 'ringing', 'h3'], ['2026-10-15T11:00:08+02:00', 'on_call', 'h3'], ['2026-10-15T11:05:08+02:00', 'wrap_up', 'h3'],
      ['2026-10-15T11:05:38+02:00', 'available'], ['2026-10-15T11:10:00+02:00', 'logged_out'],
    ],
    [ // Thu 22 Oct: c2 rings out (RONA), a break
      ['2026-10-22T09:00:00+02:00', 'available'], ['2026-10-22T10:00:00+02:00', 'ringing', 'c2'], ['2026-10-22T10:00:15+02:00', 'paused', 'rona'],
      ['2026-10-22T10:01:15+02:00', 'available'], ['2026-10-22T11:00:00+02:00', 'paused', 'break'], ['2026-10-22T11:15:00+02:00', 'available'],
      ['2026-10-22T14:00:00+02:00', 'logged_out'],
    ],
    [ // Fri 23 Oct: lunch across 14:00, then c7 across 14:45
      ['2026-10-23T13:00:00+02:00', 'available'], ['2026-10-23T13:30:00+02:00', 'paused', 'lunch'], ['2026-10-23T14:30:00+02:00', 'available'],
      ['2026-10-23T14:40:00+02:00', 'ringing', 'c7'], ['2026-10-23T14:40:03+02:00', 'on_call', 'c7'], ['2026-10-23T14:52:03+02:00', 'wrap_up', 'c7'],
      ['2026-10-23T14:52:33+02:00', 'available'], ['2026-10-23T15:30:00+02:00', 'logged_out'],
    ],
    [ // Mon 26 Oct (CET): c17 rings out (RONA)
      ['2026-10-26T09:00:00+01:00', 'available'], ['2026-10-26T09:40:00+01:00', 'ringing', 'c17'], ['2026-10-26T09:40:15+01:00', 'paused', 'rona'],
      ['2026-10-26T09:41:00+01:00', 'available'], ['2026-10-26T10:30:00+01:00', 'logged_out'],
    ],
  ],
  carla: [
    [['2026-09-30T22:00:00+02:00', 'available'], ['2026-10-01T06:00:00+02:00', 'logged_out']], // night Wed 30 Sep → Thu 1 Oct
    [ // night Sun 18 → Mon 19, a break
      ['2026-10-18T22:00:00+02:00', 'available'], ['2026-10-19T02:00:00+02:00', 'paused', 'break'], ['2026-10-19T02:20:00+02:00', 'available'],
      ['2026-10-19T06:00:00+02:00', 'logged_out'],
    ],
    [ // night Thu 22 → Fri 23, call n1
      ['2026-10-22T22:00:00+02:00', 'available'], ['2026-10-23T01:00:00+02:00', 'ringing', 'n1'], ['2026-10-23T01:00:06+02:00', 'on_call', 'n1'],
      ['2026-10-23T01:08:06+02:00', 'wrap_up', 'n1'], ['2026-10-23T01:08:36+02:00', 'available'], ['2026-10-23T06:00:00+02:00', 'logged_out'],
    ],
    [ // night Sat 24 → Sun 25 over the clock change: the break in the first 02:xx (CEST), c13 in the second (CET)
      ['2026-10-24T22:00:00+02:00', 'available'], ['2026-10-25T02:10:00+02:00', 'paused', 'break'], ['2026-10-25T02:25:00+02:00', 'available'],
      ['2026-10-25T02:30:00+01:00', 'ringing', 'c13'], ['2026-10-25T02:30:05+01:00', 'on_call', 'c13'], ['2026-10-25T02:40:05+01:00', 'wrap_up', 'c13'],
      ['2026-10-25T02:40:35+01:00', 'available'], ['2026-10-25T06:00:00+01:00', 'logged_out'],
    ],
  ],
};

/** A queue entry: its call, queue, entry, answer, leaving, outcome, wait, and the offers [agent, offered, ended, result]. */
export interface EntrySpec {
  key: string; call: string; queue: string; entered: string; answeredBy?: 'ana' | 'ben' | 'carla'; answered?: string; left: string | null;
  outcome: 'answered' | 'abandoned' | 'callback' | 'transferred' | null; wait: number | null; offers?: [string, string, string, string][];
}

/** Written while ventas's service level is 20 s. */
export const entriesAt20: EntrySpec[] = [
  { key: 'h1', call: 'h1', queue: 'ventas', entered: '2026-09-30T09:09:50+02:00', answeredBy: 'ana', answered: '2026-09-30T09:10:10+02:00', left: '2026-09-30T09:15:10+02:00', outcome: 'answered', wait: 20 },
  { key: 'h2', call: 'h2', queue: 'ventas', entered: '2026-10-15T09:29:55+02:00', answeredBy: 'ana', answered: '2026-10-15T09:30:05+02:00', left: '2026-10-15T09:34:05+02:00', outcome: 'answered', wait: 10 },
  { key: 'h3', call: 'h3', queue: 'ventas', entered: '2026-10-15T10:59:50+02:00', answeredBy: 'ben', answered: '2026-10-15T11:00:08+02:00', left: '2026-10-15T11:05:08+02:00', outcome: 'answered', wait: 18 },
  { key: 'c1', call: 'c1', queue: 'ventas', entered: '2026-10-22T09:29:52+02:00', answeredBy: 'ana', answered: '2026-10-22T09:30:10+02:00', left: '2026-10-22T09:36:10+02:00', outcome: 'answered', wait: 18 },
  { key: 'c2', call: 'c2', queue: 'ventas', entered: '2026-10-22T09:59:58+02:00', answeredBy: 'ana', answered: '2026-10-22T10:00:20+02:00', left: '2026-10-22T10:03:20+02:00', outcome: 'answered', wait: 22,
    offers: [['ben', '2026-10-22T10:00:00+02:00', '2026-10-22T10:00:15+02:00', 'no_answer'], ['ana', '2026-10-22T10:00:15+02:00', '2026-10-22T10:00:20+02:00', 'answered']] },
  { key: 'c3', call: 'c3', queue: 'ventas', entered: '2026-10-22T11:30:00+02:00', left: '2026-10-22T11:30:03+02:00', outcome: 'abandoned', wait: 3 },
  { key: 'c4', call: 'c4', queue: 'ventas', entered: '2026-10-22T12:10:00+02:00', left: '2026-10-22T12:10:40+02:00', outcome: 'abandoned', wait: 40 },
  { key: 'n1', call: 'n1', queue: 'soporte', entered: '2026-10-23T00:59:56+02:00', answeredBy: 'carla', answered: '2026-10-23T01:00:06+02:00', left: '2026-10-23T01:08:06+02:00', outcome: 'answered', wait: 10 },
  { key: 'c5', call: 'c5', queue: 'ventas', entered: '2026-10-23T10:04:50+02:00', answeredBy: 'ana', answered: '2026-10-23T10:05:05+02:00', left: '2026-10-23T10:20:05+02:00', outcome: 'answered', wait: 15 },
  { key: 'c20', call: 'c20', queue: 'soporte', entered: '2026-10-23T10:16:00+02:00', left: '2026-10-23T10:16:08+02:00', outcome: 'abandoned', wait: 8 },
  { key: 'c6a', call: 'c6', queue: 'ventas', entered: '2026-10-23T10:39:58+02:00', answeredBy: 'ana', answered: '2026-10-23T10:40:04+02:00', left: '2026-10-23T10:43:04+02:00', outcome: 'transferred', wait: 6 },
  { key: 'c6b', call: 'c6', queue: 'soporte', entered: '2026-10-23T10:43:04+02:00', answeredBy: 'ana', answered: '2026-10-23T10:43:42+02:00', left: '2026-10-23T10:47:42+02:00', outcome: 'answered', wait: 38 },
  { key: 'c7', call: 'c7', queue: 'ventas', entered: '2026-10-23T14:39:55+02:00', answeredBy: 'ben', answered: '2026-10-23T14:40:03+02:00', left: '2026-10-23T14:52:03+02:00', outcome: 'answered', wait: 8 },
  { key: 'c9', call: 'c9', queue: 'soporte', entered: '2026-10-23T16:00:00+02:00', left: '2026-10-23T16:00:04+02:00', outcome: 'abandoned', wait: 4 },
  { key: 'c10', call: 'c10', queue: 'ventas', entered: '2026-10-23T16:10:00+02:00', left: '2026-10-23T16:10:12+02:00', outcome: 'abandoned', wait: 12 },
  { key: 'c11', call: 'c11', queue: 'soporte', entered: '2026-10-23T16:20:00+02:00', left: '2026-10-23T16:21:00+02:00', outcome: 'callback', wait: 60 },
];

/** Written after ventas's service level became 30 s. */
export const entriesAt30: EntrySpec[] = [
  { key: 'c12', call: 'c12', queue: 'ventas', entered: '2026-10-24T10:29:58+02:00', answeredBy: 'ana', answered: '2026-10-24T10:30:25+02:00', left: '2026-10-24T10:35:25+02:00', outcome: 'answered', wait: 27 },
  { key: 'c13', call: 'c13', queue: 'soporte', entered: '2026-10-25T02:29:50+01:00', answeredBy: 'carla', answered: '2026-10-25T02:30:05+01:00', left: '2026-10-25T02:40:05+01:00', outcome: 'answered', wait: 15 },
  { key: 'c14', call: 'c14', queue: 'ventas', entered: '2026-10-25T10:00:00+01:00', left: '2026-10-25T10:00:35+01:00', outcome: 'abandoned', wait: 35 },
  { key: 'c15', call: 'c15', queue: 'soporte', entered: '2026-10-25T10:05:00+01:00', left: '2026-10-25T10:05:02+01:00', outcome: 'abandoned', wait: 2 },
  { key: 'c16', call: 'c16', queue: 'soporte', entered: '2026-10-26T09:19:40+01:00', answeredBy: 'ana', answered: '2026-10-26T09:20:10+01:00', left: '2026-10-26T09:26:10+01:00', outcome: 'answered', wait: 30 },
  { key: 'c17', call: 'c17', queue: 'ventas', entered: '2026-10-26T09:39:57+01:00', answeredBy: 'ana', answered: '2026-10-26T09:40:18+01:00', left: '2026-10-26T09:44:18+01:00', outcome: 'answered', wait: 21,
    offers: [['ben', '2026-10-26T09:40:00+01:00', '2026-10-26T09:40:15+01:00', 'no_answer'], ['ana', '2026-10-26T09:40:15+01:00', '2026-10-26T09:40:18+01:00', 'answered']] },
];

export interface History { ids: Record<string, string>; queues: Record<'ventas' | 'soporte', string> & Record<string, string>; calls: Record<string, string> }

/** Writes calls and their queue entries and offers (an answered entry without offers gets one from its agent's ringing). */
export async function writeEntries(t: TestApp, h: History, specs: EntrySpec[]): Promise<void> {
  const db = t.app.database.db;
  for (const call of new Set(specs.map((s) => s.call))) {
    if (h.calls[call]) continue;
    const parts = specs.filter((s) => s.call === call);
    const started = new Date(new Date(parts[0]!.entered).getTime() - 10_000); // 10 s in the IVR before the queue
    const ends = parts.map((p) => p.left);
    const ended = ends.includes(null) ? null : new Date(Math.max(...ends.map((e) => new Date(e!).getTime())));
    h.calls[call] = randomUUID();
    await sql`insert into calls (id, channel_id, direction, caller_number, did, started_at, answered_at, ended_at, end_reason)
      values (${h.calls[call]}, ${`chan-${call}-${h.calls[call]}`}, 'inbound', '600000000', '5550000', ${started}, ${started}, ${ended}, ${ended ? 'hangup' : null})`.execute(db);
  }
  for (const s of specs) {
    const entryId = randomUUID();
    const transferred = s.outcome === 'transferred';
    await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at, answered_at, answered_by, left_at, outcome, wait_seconds, transferred_by, transferred_to)
      values (${entryId}, ${h.calls[s.call]}, ${h.queues[s.queue]}, 0, ${new Date(s.entered)}, ${s.answered ? new Date(s.answered) : null},
        ${s.answeredBy ? h.ids[s.answeredBy] : null}, ${s.left ? new Date(s.left) : null}, ${s.outcome}, ${s.wait},
        ${transferred ? h.ids[s.answeredBy!] : null}, ${transferred ? JSON.stringify({ queueId: h.queues.soporte }) : null}::jsonb)`.execute(db);
    const offers = s.offers ?? (s.answeredBy ? [[s.answeredBy, ringingStart(s.answeredBy, s.call, s.answered!), s.answered!, 'answered'] as [string, string, string, string]] : []);
    for (const [agent, offered, ended, result] of offers) {
      await sql`insert into queue_offers (entry_id, agent_id, offered_at, ended_at, result)
        values (${entryId}, ${h.ids[agent]}, ${new Date(offered)}, ${new Date(ended)}, ${result})`.execute(db);
    }
  }
}

/** When the agent's phone started ringing for the answer at `answered` (the ringing step just before it). */
function ringingStart(agent: 'ana' | 'ben' | 'carla', call: string, answered: string): string {
  for (const shift of shifts[agent]) {
    const k = shift.findIndex(([when, to]) => to === 'on_call' && new Date(when).getTime() === new Date(answered).getTime());
    if (k > 0 && shift[k - 1]![1] === 'ringing' && shift[k - 1]![2] === call) return shift[k - 1]![0];
  }
  throw new Error(`no ringing before ${agent}'s answer of ${call} at ${answered}`);
}

/** Writes one shift of an agent's state changes (it starts from logged_out), in order, so ids follow time. */
export async function writeShift(t: TestApp, h: History, agent: string, steps: StateStep[]): Promise<void> {
  let from = 'logged_out';
  let fromReason: string | null = null;
  for (const [when, to, extra] of steps) {
    const callId = extra && h.calls[extra] ? h.calls[extra] : null;
    const reason = to === 'paused' ? extra! : null;
    await sql`insert into agent_state_events (agent_id, from_state, from_reason, to_state, to_reason, extension, call_id, source, at)
      values (${h.ids[agent]}, ${from}, ${fromReason}, ${to}, ${reason}, ${to === 'logged_out' ? null : '1005'}, ${callId}, 'system', ${new Date(when)})`.execute(t.app.database.db);
    from = to;
    fromReason = reason;
  }
}

/**
 * The whole history: agents and queues through the API, the rest as stored
 * events; ventas's threshold goes from 20 to 30 s between Friday's entries
 * and Saturday's.
 */
export async function seedHistory(t: TestApp): Promise<History> {
  const h: History = { ids: {}, queues: { ventas: '', soporte: '' }, calls: {} };
  for (const [name, team, number] of [['ana', 'A', '81'], ['ben', 'A', '82'], ['carla', 'B', '83']] as const) {
    const res = await t.api('/api/v1/agents', { method: 'POST', json: { number, name, pin: '1234', team } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    h.ids[name] = res.body.id;
  }
  for (const [name, sl, members] of [['ventas', 20, ['ana', 'ben']], ['soporte', 60, ['ana', 'carla']]] as const) {
    const res = await t.api('/api/v1/queues', { method: 'POST', json: { name, strategy: 'longest_idle', serviceLevelSeconds: sl } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    h.queues[name] = res.body.id;
    const set = await t.api(`/api/v1/queues/${res.body.id}/members`, { method: 'PUT', json: { members: members.map((m) => ({ agentId: h.ids[m] })) } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  }
  await writeEntries(t, h, entriesAt20);
  const patched = await t.api(`/api/v1/queues/${h.queues.ventas}`, { method: 'PATCH', json: { serviceLevelSeconds: 30 } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  await writeEntries(t, h, entriesAt30);
  for (const agent of ['ana', 'ben', 'carla'] as const) {
    for (const shift of shifts[agent]) await writeShift(t, h, agent, shift);
  }
  await t.app.agents.load();
  return h;
}
