import { api, applyTexts, liveFeed, navigation, seconds, signedIn, t } from './app.js';

const me = await signedIn(['agent', 'supervisor']);
navigation(me, 'desk');
applyTexts();

let state = null;
const error = document.getElementById('error');

async function act(path, json) {
  error.hidden = true;
  try {
    state = await api(`/api/v1/agents/${me.agentId}/${path}`, { method: 'POST', json });
    render();
  } catch (err) {
    error.hidden = false;
    error.textContent = err.message;
  }
}

document.getElementById('login').onclick = () => {
  const extension = document.getElementById('extension').value.trim();
  act('login', extension ? { extension } : {});
};
document.getElementById('logout').onclick = () => act('logout');
document.getElementById('ready').onclick = () => act('ready');
document.getElementById('pause').onclick = () => act('pause', { reason: document.getElementById('reason').value });

function render() {
  if (!state) return;
  const el = document.getElementById('state');
  el.className = `state big state-${state.status}`;
  el.dataset.status = state.status;
  el.textContent = state.status === 'paused' && state.reason ? `${t('paused')} (${state.reason})` : t(state.status);
  const since = state.since ? (Date.now() - Date.parse(state.since)) / 1000 : null;
  document.getElementById('timer').textContent = seconds(since);
}

async function showCall() {
  const body = document.getElementById('call-body');
  const { call } = await api(`/api/v1/agents/${me.agentId}/call`);
  body.innerHTML = '';
  if (!call) {
    body.textContent = t('noCall');
    return;
  }
  const dl = document.createElement('dl');
  const add = (label, value) => {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dl.append(dt, dd);
    return dd;
  };
  add(t('caller'), call.callerNumber || '—').id = 'caller-number';
  add(t('queue'), call.queue?.name ?? '—').id = 'call-queue';
  add(t('ivrChoices'), call.choices.map((c) => `${c.node}: ${c.input}`).join(', ') || '—');
  add(t('variables'), Object.entries(call.variables).map(([k, v]) => `${k} = ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ') || '—').id = 'call-variables';
  add(t('previousCalls'), call.previousCalls.map((c) => new Date(c.startedAt).toLocaleString()).join(', ') || '—');
  body.append(dl);
}

async function refresh() {
  state = await api(`/api/v1/agents/${me.agentId}/state`);
  render();
  await showCall();
}

const reasons = await api('/api/v1/pause-reasons');
const select = document.getElementById('reason');
for (const r of reasons.filter((r) => !r.system)) {
  const option = document.createElement('option');
  option.value = r.name;
  option.textContent = r.label;
  select.append(option);
}

liveFeed((message) => {
  if (message.type === 'agent.state' && message.data.agentId === me.agentId) {
    state = message.data;
    render();
    void showCall();
  }
}, refresh);
await refresh();
setInterval(render, 1000);
