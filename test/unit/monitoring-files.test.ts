import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { EventBus } from '../../src/core/events.js';
import { projectRoot } from '../../src/core/paths.js';
import { MetricsService } from '../../src/metrics/service.js';

/**
 * deploy/monitoring/: the sample Grafana dashboard and the alert rules name
 * only metrics centralita's registry defines (with prom-client's default
 * ones), so a renamed metric cannot leave them silently empty. No YAML
 * parser: the rules file keeps each expr on one line, and the check reads
 * those lines.
 */

/** Prometheus' own series, which no exporter defines. */
const prometheusOwn = new Set(['up']);
const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/** The metric names a PromQL expression reads. */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values, which may hold anything
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges ([5m], [$__rate_interval])
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // grouping labels
    .replace(/\$\w+/g, ' ') // dashboard variables
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ' '); // numbers (5e9)
  return [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)]
    .filter((m) => m[2] === undefined && !keywords.has(m[1]!.toLowerCase()))
    .map((m) => m[1]!);
}

describe('deploy/monitoring: the dashboard and alert rules use metrics that exist', () => {
  const metrics = new MetricsService(new EventBus(), {
    callsInProgress: () => [], agentStatuses: () => [], queues: async () => [], waitSeconds: () => [], queueName: async () => undefined,
    ariUp: () => true, amiUp: () => true, dbUp: async () => true, pendingWrites: () => 0, journalBytes: () => 0,
    recordingsDisk: async () => ({ freeBytes: 1, totalBytes: 2 }), onAriRequest: () => () => undefined,
    onDbStatement: () => () => undefined,
  }, pino({ level: 'silent' }));
  after(() => metrics.stop());

  /** Every name a query may use: each metric, and a histogram's _bucket, _sum and _count series. */
  const defined = async (): Promise<Set<string>> => {
    const names = new Set(prometheusOwn);
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
    }
    return names;
  };

  it('reads metric names out of PromQL', () => {
    assert.deepEqual(metricsIn('histogram_quantile(0.9, sum by (le, queue) (rate(centralita_queue_wait_seconds_bucket{queue=~"$queue", outcome="answered"}[$__rate_interval])))'),
      ['centralita_queue_wait_seconds_bucket']);
    assert.deepEqual(metricsIn('centralita_write_queue_pending > 0 and deriv(centralita_write_queue_pending[5m]) > 0'), ['centralita_write_queue_pending', 'centralita_write_queue_pending']);
    assert.deepEqual(metricsIn('a_bytes / b_bytes < 0.10 or c == 5e9'), ['a_bytes', 'b_bytes', 'c']);
  });

  it('the Grafana dashboard is JSON whose every query names defined metrics', async () => {
    const dashboard = JSON.parse(readFileSync(`${projectRoot}/deploy/monitoring/grafana-dashboard.json`, 'utf8')) as {
      title: string; panels: { title: string; type: string; targets?: { expr: string }[] }[];
      templating: { list: { query: string }[] };
    };
    const names = await defined();
    const exprs = [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ at: p.title, expr: t.expr }))),
      ...dashboard.templating.list.map((v) => ({ at: 'variables', expr: v.query.replace(/^label_values\((.*),\s*\w+\)$/, '$1') }))];
    assert.ok(exprs.length >= 20, `only ${exprs.length} queries`);
    const unknown = exprs.flatMap(({ at, expr }) => metricsIn(expr).filter((n) => !names.has(n)).map((n) => `${at}: ${n}`));
    assert.deepEqual(unknown, []);
    // Each metric the issue asks to watch is on the dashboard.
    const used = new Set(exprs.flatMap(({ expr }) => metricsIn(expr)));
    for (const name of ['centralita_calls_in_progress', 'centralita_calls_finished_total', 'centralita_ivr_duration_seconds_bucket', 'centralita_queue_wait_seconds_bucket',
      'centralita_agents', 'centralita_queue_callers_waiting', 'centralita_queue_longest_wait_seconds', 'centralita_ari_request_duration_seconds_bucket',
      'centralita_ari_errors_total', 'centralita_ari_up', 'centralita_ami_up', 'centralita_db_up', 'centralita_write_queue_pending', 'centralita_write_journal_bytes',
      'nodejs_eventloop_lag_p99_seconds', 'centralita_recordings_disk_free_bytes', 'centralita_recordings_failed_total']) {
      assert.ok(used.has(name), `${name} is on no panel`);
    }
  });

  it('the alert rules have the four alerts asked for, each with an expr on defined metrics, a severity and a summary', async () => {
    const text = readFileSync(`${projectRoot}/deploy/monitoring/alerts.yml`, 'utf8');
    assert.doesNotMatch(text, /\t/, 'YAML takes no tabs');
    assert.match(text, /^groups:\n {2}- name: centralita\n {4}rules:\n/m);
    const names = await defined();
    const rules = text.split(/^ {6}- alert: /m).slice(1).map((block) => ({
      alert: block.split('\n')[0]!.trim(),
      exprs: [...block.matchAll(/^ {8}expr: (.+)$/gm)].map((m) => m[1]!),
      severity: /^ {10}severity: (critical|warning|info)$/m.exec(block)?.[1],
      summary: /^ {10}summary: ".+"$/m.test(block),
    }));
    for (const name of ['CentralitaAriDown', 'CentralitaWriteBacklogGrowing', 'CentralitaRecordingsDiskLow', 'CentralitaRecordingsFailing']) {
      assert.ok(rules.some((r) => r.alert === name), `no ${name}`);
    }
    assert.equal(rules.length, (text.match(/^ {8}expr: /gm) ?? []).length, 'an expr outside a rule, or a rule without one');
    for (const rule of rules) {
      assert.equal(rule.exprs.length, 1, `${rule.alert}: one expr`);
      assert.ok(rule.severity, `${rule.alert}: severity`);
      assert.ok(rule.summary, `${rule.alert}: summary`);
      const unknown = metricsIn(rule.exprs[0]!).filter((n) => !names.has(n));
      assert.deepEqual(unknown, [], `${rule.alert} names metrics the registry does not define`);
      assert.equal(rule.exprs[0]!.split('(').length, rule.exprs[0]!.split(')').length, `${rule.alert}: parentheses balance`);
    }
  });
});
