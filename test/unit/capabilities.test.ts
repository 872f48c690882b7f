import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capabilities } from '../../src/app.js';
import { Assembly } from '../../src/core/capability.js';
import type { Database } from '../../src/db-schema.js';
import type { ReconcileView, Shared } from '../../src/shared.js';

/**
 * Every table of db-schema.ts's Database: the compiler refuses this list if
 * a table is added to (or removed from) a capability's `…Tables` without
 * being added here, so a new table cannot miss its owner silently.
 */
const everyTable: Record<keyof Database & string, true> = {
  agents: true, pause_reasons: true, agent_state_events: true,
  api_tokens: true, users: true, user_sessions: true,
  calls: true, call_events: true,
  ivr_flows: true, ivr_flow_versions: true, ivr_routes: true, ivr_traces: true,
  monitor_sessions: true, monitor_segments: true,
  prompts: true,
  webhooks: true, webhook_deliveries: true,
  queues: true, queue_members: true, queue_entries: true, queue_offers: true, queue_callbacks: true, queue_messages: true,
  recordings: true, recording_audit: true,
  campaigns: true, campaign_lists: true, campaign_contacts: true, campaign_attempts: true, dnc_numbers: true,
  surveys: true, survey_versions: true, survey_responses: true, survey_answers: true, outbound_calls: true,
  report_survey_15m: true, report_survey_question_15m: true,
  report_queue_15m: true, report_agent_15m: true, report_agent_pause_15m: true,
  report_queue_day: true, report_agent_day: true, report_agent_pause_day: true,
  report_rollup_state: true, report_dirty: true, report_events_purged: true,
  security_login_failures: true, security_lockouts: true,
};

describe('capabilities (app.ts)', () => {
  it('gives every table of db-schema.ts exactly one owner, and owns no other', () => {
    const owners = new Map<string, string[]>();
    for (const module of capabilities) {
      for (const table of module.tables) owners.set(table, [...(owners.get(table) ?? []), module.name]);
    }
    for (const table of Object.keys(everyTable)) {
      assert.equal(owners.get(table)?.length, 1, `table ${table} is owned by ${owners.get(table)?.join(' and ') ?? 'no capability'}`);
    }
    const unknown = [...owners.keys()].filter((table) => !(table in everyTable));
    assert.deepEqual(unknown, [], 'tables owned but not in db-schema.ts');
  });

  it('lists each capability once, after every capability it needs', () => {
    const seen = new Set<string>();
    for (const module of capabilities) {
      assert.ok(!seen.has(module.name), `${module.name} is listed twice`);
      for (const need of module.needs) {
        assert.ok(seen.has(need), `${module.name} needs ${need}, which ${capabilities.some((m) => m.name === need) ? 'comes after it' : 'is not listed'}`);
      }
      seen.add(module.name);
    }
  });

  it('has every event a capability listens to emitted by one', () => {
    const emitted = new Set(capabilities.flatMap((m) => m.emits));
    for (const module of capabilities) {
      for (const event of module.consumes) assert.ok(emitted.has(event), `${module.name} listens to ${event}, which no capability emits`);
    }
  });

  it('refuses to build a capability before one it needs', async () => {
    const first = capabilities.find((m) => m.needs.length > 0)!;
    const assembly = new Assembly<Shared, ReconcileView>([first]);
    // Nothing is read of the infrastructure before the needs are checked.
    await assert.rejects(assembly.build({} as Shared), new RegExp(`capability ${first.name} needs ${first.needs.join(', ')}, not built before it`));
  });
});
