import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { TestApp } from './harness.js';

/**
 * A scripted morning written as stored events with known timestamps, for
 * the reports: Tuesday 10 March 2026, queue `ventas` (service level 20 s),
 * agents ana and ben (team A) and carla (team B, idle), IVR flow `menu`.
 * test/http/reports.test.ts works every figure out by hand.
 */
export const day = '2026-03-10';
export const at = (hms: string): Date => new Date(`${day}T${hms}Z`);

export async function seedScriptedDay(t: TestApp): Promise<{ ids: Record<string, string>; calls: Record<string, string>; queueId: string; flowId: string }> {
  const db = () => t.app.database.db;
  const ids: Record<string, string> = {};
  const calls: Record<string, string> = {};
  const state = (agent: string, hms: string, from: string, to: string, extra: { reason?: string; callId?: string } = {}) => sql`
  insert into agent_state_events (agent_id, from_state, to_state, to_reason, extension, call_id, source, at)
  values (${ids[agent]}, ${from}, ${to}, ${extra.reason ?? null}, '1005', ${extra.callId ? calls[extra.callId] : null}, 'system', ${at(hms)})`.execute(db());
  for (const [key, team] of [['ana', 'A'], ['ben', 'A'], ['carla', 'B']] as const) {
    const res = await t.api('/api/v1/agents', { method: 'POST', json: { number: `7${Object.keys(ids).length}`, name: key, pin: '1234', team } });
    ids[key] = res.body.id;
  }
  const queue = await t.api('/api/v1/queues', { method: 'POST', json: {
    name: 'ventas', strategy: 'longest_idle', serviceLevelSeconds: 20,
    dispositions: [{ code: '1', label: 'Venta' }, { code: '2', label: 'Reclamación', requiresNote: true }],
  } });
  assert.equal(queue.status, 201, JSON.stringify(queue.body));
  const queueId: string = queue.body.id;
  await t.api(`/api/v1/queues/${queueId}/members`, { method: 'PUT', json: { members: [{ agentId: ids.ana }, { agentId: ids.ben }] } });
  const flow = await t.api('/api/v1/ivr-flows', { method: 'POST', json: { name: 'menu', document: { start: 'welcome', nodes: {
    welcome: { type: 'play', media: ['sound:hello-world'], next: 'menu' },
    menu: { type: 'menu', prompt: ['sound:beep'], options: { 1: 'q' } },
    q: { type: 'queue', queue: 'ventas' },
  } } } });
  assert.equal(flow.status, 201, JSON.stringify(flow.body));
  const flowId: string = flow.body.id;

  // Calls 1-6 reach the queue; 8 hangs up in the menu, 9 during the welcome.
  for (const [name, start, end] of [['c1', '08:09:40', '08:14:05'], ['c2', '08:14:50', '08:15:03'], ['c3', '08:19:50', '08:23:20'], ['c4', '08:49:20', '08:56:02'],
    ['c5', '08:34:50', '08:36:00'], ['c6', '08:39:50', '08:40:30'], ['c8', '08:05:00', '08:05:20'], ['c9', '08:06:00', '08:06:04']] as const) {
    calls[name] = randomUUID();
    await sql`insert into calls (id, channel_id, direction, caller_number, did, started_at, answered_at, ended_at, end_reason)
      values (${calls[name]}, ${`chan-${name}-${calls[name]}`}, 'inbound', '600000000', '5550000', ${at(start)}, ${at(start)}, ${at(end)}, 'hangup')`.execute(db());
    const nodes = name === 'c9' ? ['welcome'] : name === 'c8' ? ['welcome', 'menu'] : ['welcome', 'menu', 'q'];
    for (const [k, node] of nodes.entries()) {
      await sql`insert into ivr_traces (call_id, flow_id, flow_version, node, node_type, at)
        values (${calls[name]}, ${flowId}, 1, ${node}, ${({ welcome: 'play', menu: 'menu', q: 'queue' } as Record<string, string>)[node]}, ${new Date(at(start).getTime() + k * 1000)})`.execute(db());
    }
  }
  // Queue entries: [call, entered, answered by, answered at, left, outcome, wait]
  const entries: [string, string, string | null, string | null, string, string, number][] = [
    ['c1', '08:09:50', 'ana', '08:10:05', '08:14:05', 'answered', 15],
    ['c2', '08:15:00', null, null, '08:15:03', 'abandoned', 3],
    ['c3', '08:20:00', 'ben', '08:20:20', '08:23:20', 'answered', 20],
    ['c4', '08:49:30', 'ana', '08:50:02', '08:56:02', 'answered', 32],
    ['c5', '08:35:00', null, null, '08:36:00', 'abandoned', 60],
    ['c6', '08:40:00', null, null, '08:40:30', 'callback', 30],
  ];
  for (const [call, entered, agent, answered, left, outcome, wait] of entries) {
    const entryId = randomUUID();
    await sql`insert into queue_entries (id, call_id, queue_id, priority, entered_at, answered_at, answered_by, left_at, outcome, wait_seconds)
      values (${entryId}, ${calls[call]}, ${queueId}, 0, ${at(entered)}, ${answered ? at(answered) : null}, ${agent ? ids[agent] : null}, ${at(left)}, ${outcome}, ${wait})`.execute(db());
    if (call === 'c3') {
      await sql`insert into queue_offers (entry_id, agent_id, offered_at, ended_at, result) values
        (${entryId}, ${ids.ana}, ${at('08:20:00')}, ${at('08:20:15')}, 'no_answer'), (${entryId}, ${ids.ben}, ${at('08:20:15')}, ${at('08:20:20')}, 'answered')`.execute(db());
    } else if (agent) {
      await sql`insert into queue_offers (entry_id, agent_id, offered_at, ended_at, result) values (${entryId}, ${ids[agent]}, ${at(entered)}, ${at(answered!)}, 'answered')`.execute(db());
    }
  }
  // Holds and wrap-up codes (issue 23): c1 held twice for 45 s in all, c4 once for 30 s; codes on c1 and c3, none on c4.
  await sql`update queue_entries set hold_count = 2, hold_seconds = 45, disposition = '1' where call_id = ${calls.c1}`.execute(db());
  await sql`update queue_entries set disposition = '2', disposition_note = 'factura' where call_id = ${calls.c3}`.execute(db());
  await sql`update queue_entries set hold_count = 1, hold_seconds = 30 where call_id = ${calls.c4}`.execute(db());
  // ana: 08:00-09:00 with two calls, a RONA and a break.
  await state('ana', '08:00:00', 'logged_out', 'available');
  await state('ana', '08:10:00', 'available', 'ringing', { callId: 'c1' });
  await state('ana', '08:10:05', 'ringing', 'on_call', { callId: 'c1' });
  await state('ana', '08:14:05', 'on_call', 'wrap_up', { callId: 'c1' });
  await state('ana', '08:14:35', 'wrap_up', 'available');
  await state('ana', '08:20:00', 'available', 'ringing', { callId: 'c3' });
  await state('ana', '08:20:15', 'ringing', 'paused', { reason: 'rona' });
  await state('ana', '08:21:00', 'paused', 'available');
  await state('ana', '08:30:00', 'available', 'paused', { reason: 'break' });
  await state('ana', '08:45:00', 'paused', 'available');
  await state('ana', '08:50:00', 'available', 'ringing', { callId: 'c4' });
  await state('ana', '08:50:02', 'ringing', 'on_call', { callId: 'c4' });
  await state('ana', '08:56:02', 'on_call', 'wrap_up', { callId: 'c4' });
  await state('ana', '08:57:02', 'wrap_up', 'available');
  await state('ana', '09:00:00', 'available', 'logged_out');
  // ben: 08:00-09:00, one call, then lunch.
  await state('ben', '08:00:00', 'logged_out', 'available');
  await state('ben', '08:20:15', 'available', 'ringing', { callId: 'c3' });
  await state('ben', '08:20:20', 'ringing', 'on_call', { callId: 'c3' });
  await state('ben', '08:23:20', 'on_call', 'wrap_up', { callId: 'c3' });
  await state('ben', '08:24:00', 'wrap_up', 'available');
  await state('ben', '08:40:00', 'available', 'paused', { reason: 'lunch' });
  await state('ben', '09:00:00', 'paused', 'logged_out');
  await t.app.agents.load();
  return { ids, calls, queueId, flowId };
}
