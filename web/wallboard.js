import { api, applyTexts, cell, liveFeed, navigation, seconds, signedIn, t } from './app.js';

const me = await signedIn();
navigation(me, 'wallboard');
applyTexts();

let stats = null;
let session = null;
let receivedAt = Date.now();

function render() {
  if (!stats) return;
  const elapsed = (Date.now() - receivedAt) / 1000;
  const queues = document.getElementById('queues');
  queues.innerHTML = '';
  for (const q of stats.queues) {
    const card = document.createElement('article');
    card.className = 'card';
    card.dataset.queue = q.name;
    const sl = q.today.serviceLevel === null ? '—' : `${q.today.serviceLevel} %`;
    card.innerHTML = `<h2></h2><dl>
      <dt>${t('waiting')}</dt><dd class="big" data-field="waiting">${q.waiting}</dd>
      <dt>${t('longestWait')}</dt><dd>${q.longestWaitSeconds === null ? '—' : seconds(q.longestWaitSeconds + elapsed)}</dd>
      <dt>${t('serviceLevel')}</dt><dd data-field="sl">${sl}</dd>
      <dt>${t('offered')} / ${t('answered')} / ${t('abandoned')}</dt><dd>${q.today.offered} / ${q.today.answered} / ${q.today.abandoned}</dd>
      <dt>${t('agents')}</dt><dd></dd>
      <div class="states">${['available', 'ringing', 'on_call', 'wrap_up', 'paused'].map((s) => `<span class="state state-${s}">${q.agents[s]} ${t(s)}</span>`).join('')}</div>
    </dl>`;
    card.querySelector('h2').textContent = q.name;
    queues.append(card);
  }
  const agents = document.querySelector('#agents tbody');
  agents.innerHTML = '';
  const onQueueCalls = new Set(stats.calls.map((c) => c.agentId));
  for (const a of stats.agents) {
    const row = document.createElement('tr');
    row.dataset.agent = a.name;
    cell(row, a.name);
    cell(row, a.status === 'paused' && a.reason ? `${t('paused')} (${a.reason})` : t(a.status), `state state-${a.status}`).dataset.status = a.status;
    cell(row, a.status === 'logged_out' || a.secondsInState === null ? '—' : seconds(a.secondsInState + elapsed));
    // On a call outside the queues (made or taken on the desk phone): monitored from here.
    const actions = cell(row, '');
    if (a.status === 'on_call' && !onQueueCalls.has(a.agentId)) monitorButtons(actions, a.agentId);
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
    cell(row, seconds(c.secondsConnected === null ? null : c.secondsConnected + elapsed));
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
document.getElementById('monitor-end').onclick = async () => { session = await api(`/api/v1/monitor/${session.id}`, { method: 'DELETE' }); renderSession(); };

async function refresh() {
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
  } else if (message.type === 'agent.state' || message.type === 'queue.entry') {
    soon();
  } else if (message.type === 'monitor.session' && session && message.data.id === session.id) {
    session = message.data;
    renderSession();
  }
}, refresh);
await refresh();
setInterval(render, 1000);
