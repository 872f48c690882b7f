import { api, applyTexts, cell, liveFeed, navigation, seconds, signedIn, t } from './app.js';

const me = await signedIn(['admin', 'supervisor']);
navigation(me, 'wallboard');
applyTexts();

let stats = null;
let session = null;
let receivedAt = Date.now();

// TV mode (?tv=1, or the TV button): large figures, no controls, for a screen on the wall.
const tv = new URLSearchParams(location.search).get('tv') === '1';
document.body.classList.toggle('tv', tv);
document.getElementById('tv').onclick = () => { location.search = tv ? '' : '?tv=1'; };

/**
 * green, amber or red for a figure against the queue's limits: the waiting
 * callers and the longest wait are worse above them, the service level below.
 */
function level(value, limits, lowerIsWorse = false) {
  if (value === null || value === undefined || !limits) return 'none';
  const worse = (limit) => (lowerIsWorse ? value < limit : value >= limit);
  return worse(limits.red) ? 'red' : worse(limits.amber) ? 'amber' : 'green';
}
const worst = (levels) => ['red', 'amber', 'green'].find((l) => levels.includes(l)) ?? 'none';

/** The agents the filters let through, in the order chosen. */
function shownAgents(agents) {
  const team = document.getElementById('filter-team').value;
  const status = document.getElementById('filter-state').value;
  const order = document.getElementById('sort-agents').value;
  const rank = ['on_call', 'ringing', 'wrap_up', 'available', 'paused', 'logged_out'];
  return agents
    .filter((a) => (!team || (a.team ?? '') === team) && (!status || a.status === status))
    .sort((a, b) => (order === 'state' ? rank.indexOf(a.status) - rank.indexOf(b.status) || a.name.localeCompare(b.name)
      : order === 'time' ? (b.secondsInState ?? -1) - (a.secondsInState ?? -1) : a.name.localeCompare(b.name)));
}

/** The team filter lists the teams seen (kept across updates). */
function teamOptions(agents) {
  const select = document.getElementById('filter-team');
  const known = new Set([...select.options].map((o) => o.value));
  for (const team of new Set(agents.map((a) => a.team).filter(Boolean))) if (!known.has(team)) select.append(new Option(team, team));
}

/**
 * Which monitor button has the keyboard focus, if any, so that the next
 * rendering (every second) gives it back: a keyboard user must not lose
 * their place each time the figures move.
 */
function focusedButton() {
  const el = document.activeElement;
  const row = el?.closest?.('tr[data-agent], tr[data-call]');
  if (!row || !el.dataset.mode) return null;
  return row.dataset.call ? `tr[data-call="${row.dataset.call}"] button[data-mode="${el.dataset.mode}"]`
    : `tr[data-agent="${CSS.escape(row.dataset.agent)}"] button[data-mode="${el.dataset.mode}"]`;
}

function render() {
  if (!stats) return;
  const refocus = focusedButton();
  try {
    draw();
  } finally {
    if (refocus) document.querySelector(refocus)?.focus();
  }
}

function draw() {
  const elapsed = (Date.now() - receivedAt) / 1000;
  const queues = document.getElementById('queues');
  queues.innerHTML = '';
  for (const q of stats.queues) {
    const card = document.createElement('article');
    card.className = 'card';
    card.dataset.queue = q.name;
    const sl = q.today.serviceLevel === null ? '—' : `${q.today.serviceLevel} %`;
    const longest = q.longestWaitSeconds === null ? null : q.longestWaitSeconds + elapsed;
    const levels = {
      waiting: level(q.waiting, q.thresholds?.waiting), longest: level(longest, q.thresholds?.longestWait),
      sl: level(q.today.serviceLevel, q.thresholds?.serviceLevel, true),
    };
    card.dataset.level = worst(Object.values(levels));
    card.innerHTML = `<h2></h2><dl>
      <dt>${t('waiting')}</dt><dd class="big" data-field="waiting" data-level="${levels.waiting}">${q.waiting}</dd>
      <dt>${t('longestWait')}</dt><dd data-field="longest" data-level="${levels.longest}">${longest === null ? '—' : seconds(longest)}</dd>
      <dt>${t('serviceLevel')}</dt><dd data-field="sl" data-level="${levels.sl}">${sl}</dd>
      <dt>${t('offered')} / ${t('answered')} / ${t('abandoned')}</dt><dd>${q.today.offered} / ${q.today.answered} / ${q.today.abandoned}</dd>
      <dt>${t('csatToday')}</dt><dd data-field="csat">${q.today.csat === null || q.today.csat === undefined ? '—' : `${q.today.csat} % (${q.today.csatAnswers})`}</dd>
    </dl>
    <p class="states" aria-label="${t('agents')}">${['available', 'ringing', 'on_call', 'wrap_up', 'paused'].map((s) => `<span class="state state-${s}">${q.agents[s]} ${t(s)}</span>`).join('')}</p>`;
    card.querySelector('h2').textContent = q.name;
    queues.append(card);
  }
  const agents = document.querySelector('#agents tbody');
  agents.innerHTML = '';
  const onQueueCalls = new Set(stats.calls.map((c) => c.agentId));
  teamOptions(stats.agents);
  for (const a of shownAgents(stats.agents)) {
    const row = document.createElement('tr');
    row.dataset.agent = a.name;
    cell(row, a.name);
    cell(row, a.team ?? '—');
    cell(row, a.status === 'paused' && a.reason ? `${t('paused')} (${a.reason})` : t(a.status), `state state-${a.status}`).dataset.status = a.status;
    cell(row, a.status === 'logged_out' || a.secondsInState === null ? '—' : seconds(a.secondsInState + elapsed));
    // On a call outside the queues (made or taken on the desk phone): monitored from here.
    const actions = cell(row, '');
    if (a.status === 'on_call' && !onQueueCalls.has(a.agentId)) monitorButtons(actions, a.agentId);
    if (a.status !== 'logged_out') {
      const change = document.createElement('button');
      change.type = 'button';
      change.className = 'action';
      change.dataset.mode = 'force';
      change.textContent = t('changeState');
      change.onclick = () => openForce(a);
      actions.append(change);
    }
    agents.append(row);
  }
  const calls = document.querySelector('#calls tbody');
  calls.innerHTML = '';
  if (stats.calls.length === 0) {
    const row = document.createElement('tr');
    cell(row, t('noCalls')).colSpan = 5;
    calls.append(row);
  }
  for (const c of stats.calls) {
    const row = document.createElement('tr');
    row.dataset.call = c.callId;
    cell(row, c.callerNumber);
    cell(row, c.queue);
    cell(row, c.agent);
    const duration = cell(row, seconds(c.secondsConnected === null ? null : c.secondsConnected + elapsed));
    if (c.holdSince) {
      // On hold: marked in words (not only colour), with the time on hold.
      row.dataset.hold = 'true';
      const hold = document.createElement('span');
      hold.className = 'state state-paused hold';
      hold.textContent = ` ${t('onHold')} ${seconds(c.secondsOnHold + elapsed)}`;
      duration.append(hold);
    }
    monitorButtons(cell(row, ''), c.agentId);
    calls.append(row);
  }
  renderSession();
}

function monitorButtons(actions, agentId) {
  for (const mode of ['listen', 'whisper', 'barge']) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'action';
    button.dataset.mode = mode;
    button.textContent = t(mode);
    button.onclick = () => startMonitor(agentId, mode);
    actions.append(button);
  }
}

function renderSession() {
  const panel = document.getElementById('monitor');
  panel.hidden = !session || session.status === 'ended';
  if (!session) return;
  document.getElementById('monitor-status').textContent = session.status === 'ringing' ? t('ringingPhone') : `${t(session.mode)}`;
  for (const button of panel.querySelectorAll('button[data-mode]')) button.setAttribute('aria-pressed', String(button.dataset.mode === session.mode));
  // Barging into a call: the supervisor may take it over (the agent's leg drops).
  document.getElementById('monitor-take-over').hidden = !(session.status === 'active' && session.mode === 'barge');
}

async function startMonitor(agentId, mode) {
  try {
    session = await api('/api/v1/monitor', { method: 'POST', json: { supervisorId: me.agentId, agentId, mode } });
  } catch (err) {
    alert(err.message);
  }
  renderSession();
}

for (const button of document.querySelectorAll('#monitor button[data-mode]')) {
  button.onclick = async () => { session = await api(`/api/v1/monitor/${session.id}`, { method: 'PATCH', json: { mode: button.dataset.mode } }); renderSession(); };
}
document.getElementById('monitor-take-over').onclick = async () => { session = await api(`/api/v1/monitor/${session.id}/take-over`, { method: 'POST' }); renderSession(); };
document.getElementById('monitor-end').onclick = async () => { session = await api(`/api/v1/monitor/${session.id}`, { method: 'DELETE' }); renderSession(); };

// A supervisor sets an agent's state (audited with why; the agent is told).
const forceDialog = document.getElementById('force');
let forcing = null;
const pauseReasons = (await api('/api/v1/pause-reasons')).filter((r) => !r.system);
for (const r of pauseReasons) document.getElementById('force-reason').append(new Option(r.label, r.name));
const stateChoice = document.getElementById('force-state');
stateChoice.onchange = () => { document.getElementById('force-reason').disabled = stateChoice.value !== 'paused'; };
function openForce(agent) {
  forcing = agent;
  document.getElementById('force-agent').textContent = agent.name;
  document.getElementById('force-error').hidden = true;
  document.getElementById('force-why').value = '';
  stateChoice.onchange();
  forceDialog.showModal();
}
document.getElementById('force-cancel').onclick = () => forceDialog.close();
document.getElementById('force-form').onsubmit = async (event) => {
  event.preventDefault();
  const state = stateChoice.value;
  const json = { state, why: document.getElementById('force-why').value.trim(), ...(state === 'paused' ? { reason: document.getElementById('force-reason').value } : {}) };
  try {
    await api(`/api/v1/agents/${forcing.agentId}/force`, { method: 'POST', json });
    forceDialog.close();
    soon();
  } catch (err) {
    const error = document.getElementById('force-error');
    error.hidden = false;
    error.textContent = err.message;
  }
};

/** Today's abandoned callers, each with a button asking for a callback. */
async function showAbandoned() {
  const rows = await api('/api/v1/reports/abandoned-today');
  const body = document.querySelector('#abandoned tbody');
  body.innerHTML = '';
  for (const a of rows) {
    const row = document.createElement('tr');
    row.dataset.abandoned = a.callId;
    cell(row, new Date(a.at).toLocaleTimeString());
    cell(row, a.callerNumber ?? '—');
    cell(row, a.queue);
    cell(row, a.waitSeconds === null ? '—' : String(a.waitSeconds));
    const actions = cell(row, a.callback ? `${t('callback')}: ${t('callbackAsked')}` : '');
    if (!a.callback && a.callerNumber) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'action';
      button.textContent = t('callback');
      button.onclick = async () => {
        const error = document.getElementById('abandoned-error');
        error.hidden = true;
        try {
          await api(`/api/v1/queues/${a.queueId}/callbacks`, { method: 'POST', json: { callId: a.callId } });
        } catch (err) {
          error.hidden = false;
          error.textContent = err.message;
        }
        await showAbandoned();
      };
      actions.append(button);
    }
    body.append(row);
  }
}

/** The outbound campaigns running (or with agents in them): lines, agents waiting, abandons and the pacing's why. */
let campaigns = [];
function drawCampaigns() {
  const section = document.getElementById('campaigns');
  section.innerHTML = '';
  const percent = (fraction) => (fraction === null || fraction === undefined ? '—' : `${Math.round(fraction * 10000) / 100} %`);
  for (const c of campaigns) {
    const card = document.createElement('article');
    card.className = 'card';
    card.dataset.campaign = c.name;
    card.dataset.level = c.pacing?.state === 'stopped' ? 'red' : c.pacing?.state === 'slowed' ? 'amber' : 'green';
    card.innerHTML = `<h2></h2><dl>
      <dt>${t('campaignDialling')}</dt><dd class="big" data-field="dialling">${c.dialling}</dd>
      <dt>${t('campaignTalking')}</dt><dd data-field="talking">${c.talking}</dd>
      <dt>${t('campaignAgentsWaiting')}</dt><dd data-field="waiting">${c.agentsWaiting} / ${c.sessions.length}</dd>
      <dt>${t('campaignAbandon')}</dt><dd data-field="abandon">${percent(c.pacing?.dayAbandonRate)} / ${percent(c.pacing?.rolling30AbandonRate)}</dd>
      <dt>${t('campaignRatio')}</dt><dd data-field="ratio">${c.pacing ? c.pacing.ratio.toFixed(2) : '—'}</dd>
    </dl><p class="reason" data-field="reason"></p>`;
    card.querySelector('h2').textContent = `${c.name} (${t(c.mode)})`;
    card.querySelector('.reason').textContent = c.pacing?.reason ?? '';
    section.append(card);
  }
}
async function refreshCampaigns() {
  try {
    campaigns = await api('/api/v1/campaigns/live');
  } catch {
    campaigns = []; // the banner says when the service is away
  }
  drawCampaigns();
}

async function refresh() {
  void showAbandoned();
  void refreshCampaigns();
  stats = await api('/api/v1/stats/live');
  receivedAt = Date.now();
  render();
}

let pending = null;
const soon = () => { clearTimeout(pending); pending = setTimeout(refresh, 200); };
liveFeed((message) => {
  if (message.type === 'stats.live') {
    stats = message.data;
    receivedAt = Date.now();
    render();
  } else if (message.type === 'agent.state' || message.type === 'queue.entry' || message.type === 'queue.call') {
    soon();
    if (message.type === 'queue.entry' && message.data.event === 'left' && message.data.outcome === 'abandoned') void showAbandoned();
  } else if (message.type === 'monitor.session' && session && message.data.id === session.id) {
    session = message.data;
    renderSession();
  }
}, refresh);
for (const id of ['filter-team', 'filter-state', 'sort-agents']) document.getElementById(id).onchange = render;
await refresh();
setInterval(render, 1000);
setInterval(refreshCampaigns, 2000);
