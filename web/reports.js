import { api, applyTexts, cell, download, navigation, signedIn, t } from './app.js';

const me = await signedIn(['admin', 'supervisor']);
navigation(me, 'reports');
applyTexts();

const today = new Date().toISOString().slice(0, 10);
const fromInput = document.getElementById('from');
const toInput = document.getElementById('to');
const params = new URLSearchParams(location.search);
fromInput.value = params.get('from') ?? today;
toInput.value = params.get('to') ?? today;
if (params.get('interval')) document.getElementById('interval').value = params.get('interval');

const queues = await api('/api/v1/queues');
const queueSelect = document.getElementById('queue');
for (const q of queues) {
  const option = document.createElement('option');
  option.value = q.id;
  option.textContent = q.name;
  queueSelect.append(option);
}

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const charts = {};
window.reportCharts = charts;

/** The report's query: whole local days from `from` to `to` included. */
function query() {
  const from = new Date(`${fromInput.value}T00:00:00`);
  const to = new Date(`${toInput.value}T00:00:00`);
  to.setDate(to.getDate() + 1);
  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), interval: document.getElementById('interval').value, timezone: zone });
  if (queueSelect.value) q.set('queue', queueSelect.value);
  const team = document.getElementById('team').value.trim();
  return { q, team };
}

function chart(id, config) {
  charts[id]?.destroy();
  charts[id] = new Chart(document.getElementById(id), { ...config, options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options } });
}

const label = (period, interval) => {
  const d = new Date(period);
  if (interval === '15m' || interval === 'hour') return d.toLocaleString([], { day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' });
  return d.toLocaleDateString();
};

function table(id, columns, rows) {
  const el = document.getElementById(id);
  el.tHead.innerHTML = '';
  const head = el.tHead.insertRow();
  for (const [name] of columns) {
    const th = document.createElement('th');
    th.textContent = name;
    head.append(th);
  }
  const body = el.tBodies[0];
  body.innerHTML = '';
  for (const row of rows) {
    const tr = body.insertRow();
    for (const [, value] of columns) cell(tr, String(value(row) ?? '—'));
  }
}

async function show() {
  const error = document.getElementById('error');
  error.hidden = true;
  const { q, team } = query();
  const interval = q.get('interval');
  try {
    const agentQuery = new URLSearchParams(q);
    if (team) agentQuery.set('team', team);
    const [queueReport, agentReport, peaks, surveyReport] = await Promise.all([
      api(`/api/v1/reports/queues?${q}`),
      api(`/api/v1/reports/agents?${agentQuery}`),
      api(`/api/v1/reports/peak-hours?${new URLSearchParams({ from: q.get('from'), to: q.get('to'), timezone: zone, ...(q.get('queue') ? { queue: q.get('queue') } : {}) })}`),
      api(`/api/v1/reports/surveys?${agentQuery}`),
    ]);
    // Surveys: CSAT and response rate per period, all selected queues together (docs/surveys.md).
    const surveyPeriods = new Map();
    for (const r of surveyReport.rows) {
      const p = surveyPeriods.get(r.period) ?? { positive: 0, answers: 0, offered: 0, completed: 0 };
      p.positive += (r.csat ?? 0) * r.csatAnswers / 100; p.answers += r.csatAnswers; p.offered += r.offered; p.completed += r.completed;
      surveyPeriods.set(r.period, p);
    }
    const sp = [...surveyPeriods.keys()];
    chart('chart-csat', { type: 'line', data: { labels: sp.map((p) => label(p, interval)), datasets: [
      { label: 'CSAT %', data: sp.map((p) => { const v = surveyPeriods.get(p); return v.answers ? Math.round((1000 * v.positive) / v.answers) / 10 : null; }), borderColor: '#1e8e3e' },
      { label: t('responseRate'), data: sp.map((p) => { const v = surveyPeriods.get(p); return v.offered ? Math.round((1000 * v.completed) / v.offered) / 10 : null; }), borderColor: '#7b3fb5' },
    ] }, options: { scales: { y: { min: 0, max: 100 } } } });
    table('table-surveys', [[t('queue'), (r) => r.name], [t('offered'), (r) => r.offered], [t('responseRate'), (r) => r.responseRate], ['CSAT %', (r) => r.csat],
      ['NPS', (r) => r.nps], ['n', (r) => r.csatAnswers]], surveyReport.totals);
    // Queues: one line per period, all selected queues together.
    const byPeriod = new Map();
    for (const r of queueReport.rows) {
      const p = byPeriod.get(r.period) ?? { offered: 0, answered: 0, abandoned: 0, within: 0, short: 0 };
      p.offered += r.offered; p.answered += r.answered; p.abandoned += r.abandoned; p.within += r.answeredWithinThreshold; p.short += r.shortAbandoned;
      byPeriod.set(r.period, p);
    }
    const periods = [...byPeriod.keys()];
    const labels = periods.map((p) => label(p, interval));
    chart('chart-volume', { type: 'line', data: { labels, datasets: [
      { label: t('offered'), data: periods.map((p) => byPeriod.get(p).offered), borderColor: '#1f5fbf' },
      { label: t('answered'), data: periods.map((p) => byPeriod.get(p).answered), borderColor: '#1e8e3e' },
      { label: t('abandoned'), data: periods.map((p) => byPeriod.get(p).abandoned), borderColor: '#c5221f' },
    ] } });
    const target = 80;
    chart('chart-sl', { type: 'line', data: { labels, datasets: [
      { label: t('serviceLevelShort'), data: periods.map((p) => { const v = byPeriod.get(p); return v.offered - v.short > 0 ? Math.round((1000 * v.within) / (v.offered - v.short)) / 10 : null; }), borderColor: '#1f5fbf' },
      { label: `${t('target')} ${target} %`, data: periods.map(() => target), borderColor: '#f9ab00', borderDash: [6, 4], pointRadius: 0 },
    ] }, options: { scales: { y: { min: 0, max: 100 } } } });
    table('table-queues', [['period', (r) => label(r.period, interval)], [t('queue'), (r) => r.queue], [t('offered'), (r) => r.offered], [t('answered'), (r) => r.answered],
      [t('abandoned'), (r) => r.abandoned], ['SL %', (r) => r.serviceLevel], ['ASA', (r) => r.asa], [t('aht'), (r) => r.aht]], queueReport.rows);

    const agents = agentReport.totals;
    const names = agents.map((a) => a.agent);
    chart('chart-agents', { type: 'bar', data: { labels: names, datasets: [
      { label: t('answered'), data: agents.map((a) => a.answered), backgroundColor: '#1f5fbf', yAxisID: 'y' },
      { label: t('aht'), data: agents.map((a) => (a.answered ? Math.round(a.handleTime / a.answered) : 0)), backgroundColor: '#7b3fb5', yAxisID: 'y1' },
      { label: t('occupancy'), data: agents.map((a) => a.occupancy), backgroundColor: '#1e8e3e', yAxisID: 'y1' },
    ] }, options: { scales: { y: { position: 'left' }, y1: { position: 'right', grid: { drawOnChartArea: false } } } } });
    const reasons = [...new Set(agents.flatMap((a) => Object.keys(a.pauseByReason)))];
    const palette = ['#c5221f', '#f9ab00', '#1e8e3e', '#7b3fb5', '#1f5fbf', '#80868b'];
    chart('chart-pauses', { type: 'bar', data: { labels: names, datasets: reasons.map((reason, k) => ({
      label: reason, data: agents.map((a) => a.pauseByReason[reason] ?? 0), backgroundColor: palette[k % palette.length],
    })) }, options: { scales: { x: { stacked: true }, y: { stacked: true } } } });
    table('table-agents', [[t('agent'), (a) => a.agent], [t('answered'), (a) => a.answered], ['RONA', (a) => a.missed], [t('aht'), (a) => (a.answered ? Math.round(a.handleTime / a.answered) : null)],
      [t('occupancy'), (a) => a.occupancy], [t('pauseTime'), (a) => a.pauseTime], ['login', (a) => a.loginTime]], agents);

    // Peak hours: weekdays × hours, darker with more calls offered.
    const heat = document.getElementById('heat');
    const max = Math.max(1, ...peaks.rows.map((p) => p.offered));
    const days = [1, 2, 3, 4, 5, 6, 0];
    const dayNames = days.map((d) => new Date(Date.UTC(2024, 0, 7 + d)).toLocaleDateString([], { weekday: 'short', timeZone: 'UTC' }));
    heat.tHead.innerHTML = '';
    const head = heat.tHead.insertRow();
    head.append(document.createElement('th'));
    for (let h = 0; h < 24; h += 1) { const th = document.createElement('th'); th.textContent = String(h); head.append(th); }
    heat.tBodies[0].innerHTML = '';
    days.forEach((d, k) => {
      const tr = heat.tBodies[0].insertRow();
      const th = document.createElement('th');
      th.textContent = dayNames[k];
      tr.append(th);
      for (let h = 0; h < 24; h += 1) {
        const p = peaks.rows.find((x) => x.weekday === d && x.hour === h);
        const td = cell(tr, p ? String(p.offered) : '');
        if (p) td.style.background = `rgba(31, 95, 191, ${0.1 + (0.9 * p.offered) / max})`;
        if (p && p.offered / max > 0.5) td.style.color = '#fff';
        td.dataset.weekday = String(d);
        td.dataset.hour = String(h);
      }
    });
    document.body.dataset.rendered = 'true';
  } catch (err) {
    error.hidden = false;
    error.textContent = err.message;
  }
}

document.getElementById('filters').addEventListener('submit', (event) => { event.preventDefault(); void show(); });
document.getElementById('csv-queues').onclick = () => download(`/api/v1/reports/queues?${query().q}`, 'queues.csv', 'text/csv');
document.getElementById('csv-agents').onclick = () => {
  const { q, team } = query();
  if (team) q.set('team', team);
  return download(`/api/v1/reports/agents?${q}`, 'agents.csv', 'text/csv');
};
await show();
