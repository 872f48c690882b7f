import { api, applyTexts, cell, liveFeed, navigation, seconds, signedIn, t } from './app.js';

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

/** The call being handled (its id), for the controls. */
let current = null;
const callError = document.getElementById('call-error');

/** Runs a call control; a refusal is shown in the call's alert; the call is shown again. */
async function control(request) {
  callError.hidden = true;
  try {
    await request();
  } catch (err) {
    callError.hidden = false;
    callError.textContent = err.message;
  }
  await showCall();
}

const callPath = (what) => `/api/v1/calls/${current.callId}/${what}`;
document.getElementById('hold').onclick = () => control(() => api(callPath('hold'), { method: 'POST' }));
document.getElementById('unhold').onclick = () => control(() => api(callPath('unhold'), { method: 'POST' }));
document.getElementById('hangup').onclick = () => control(() => api(callPath('hangup'), { method: 'POST' }));
document.getElementById('rec-pause').onclick = () => control(() => api(callPath('recording/pause'), { method: 'POST' }));
document.getElementById('rec-resume').onclick = () => control(() => api(callPath('recording/resume'), { method: 'POST' }));
document.getElementById('transfer-form').onsubmit = (event) => {
  event.preventDefault();
  const to = document.getElementById('transfer-to').value.trim();
  // Digits: read as the phone reads ## number # (a queue's short number, a phone, an external number within
  // the agent's dialing rights); anything else a queue's name.
  const json = /^\+?[0-9]{2,20}$/.test(to) ? { number: to } : { queueId: to };
  void control(() => api(callPath('transfer'), { method: 'POST', json }));
};
document.getElementById('consult-form').onsubmit = (event) => {
  event.preventDefault();
  const to = document.getElementById('consult-to').value.trim();
  // Digits: a phone or a queue's short number; anything else a queue's name (its first free agent is rung).
  void control(() => api(callPath('consult'), { method: 'POST', json: /^[0-9]{2,8}$/.test(to) ? { extension: to } : { queueId: to } }));
};
for (const step of ['complete', 'conference', 'cancel']) {
  document.getElementById(`consult-${step}`).onclick = () => control(() => api(callPath(`consult/${step}`), { method: 'POST' }));
}
document.getElementById('disposition-form').onsubmit = (event) => {
  event.preventDefault();
  const note = document.getElementById('disposition-note').value.trim();
  void control(async () => {
    await api(callPath('disposition'), { method: 'PUT', json: { code: document.getElementById('disposition').value, ...(note ? { note } : {}) } });
    await showRecent();
  });
};

/** The controls of the queue call being handled: hold and transfer while connected, the wrap-up code until the wrap-up ends. */
function showControls(status, handling) {
  current = handling;
  const connected = handling !== null && status === 'on_call';
  document.getElementById('call-controls').hidden = !connected;
  const form = document.getElementById('disposition-form');
  form.hidden = !handling || handling.dispositions.length === 0;
  if (!handling) return;
  document.getElementById('hold-state').hidden = !handling.holdSince;
  document.getElementById('hold').hidden = Boolean(handling.holdSince);
  document.getElementById('unhold').hidden = !handling.holdSince;
  document.getElementById('code-required').hidden = !handling.awaitingCode;
  // The consult: start one, then complete, conference or go back to the caller.
  const consult = handling.consult;
  document.getElementById('consult').hidden = Boolean(consult);
  document.getElementById('consult-to').disabled = Boolean(consult);
  document.getElementById('consult-state').textContent = consult
    ? `${t({ ringing: 'consultRinging', talking: 'consultTalking', conference: 'consultConference' }[consult.state])} ${consult.extension}` : '';
  document.getElementById('consult-complete').hidden = !consult || consult.state === 'ringing';
  document.getElementById('consult-conference').hidden = !consult || consult.state !== 'talking';
  document.getElementById('consult-cancel').hidden = !consult || consult.state === 'conference';
  const select = document.getElementById('disposition');
  const chosen = select.value;
  select.innerHTML = '';
  for (const d of handling.dispositions) {
    const option = document.createElement('option');
    option.value = d.code;
    option.textContent = `${d.code} · ${d.label}${d.requiresNote ? ' ✎' : ''}`;
    select.append(option);
  }
  if (handling.code || chosen) select.value = handling.code ?? chosen;
  const set = handling.dispositions.find((d) => d.code === handling.code);
  document.getElementById('disposition-set').textContent = set ? `${t('codeSaved')} ${set.code} · ${set.label}` : '';
}

/** The transfer and consult boxes suggest colleagues (with their state) and queues as they are typed. */
async function showDirectory() {
  const { queues, colleagues } = await api('/api/v1/directory');
  const phones = colleagues.map((c) => new Option(`${c.name} · ${c.status === 'paused' && c.reason ? `${t('paused')} (${c.reason})` : t(c.status)}`, c.extension));
  // A queue without a short number is named.
  const all = [...phones, ...queues.map((q) => new Option(`${t('queue')} ${q.name}`, q.extension ?? q.name))];
  document.getElementById('directory-all').replaceChildren(...all);
}

async function showRecent() {
  const rows = await api(`/api/v1/agents/${me.agentId}/recent-calls`);
  const body = document.querySelector('#recent tbody');
  body.innerHTML = '';
  for (const c of rows) {
    const row = document.createElement('tr');
    row.dataset.call = c.callId;
    cell(row, c.answeredAt ? new Date(c.answeredAt).toLocaleString() : '—');
    cell(row, c.callerNumber ?? '—');
    cell(row, c.queue ?? '—');
    cell(row, String(c.holdSeconds));
    cell(row, c.disposition ? `${c.disposition}${c.dispositionLabel ? ` · ${c.dispositionLabel}` : ''}${c.note ? ` (${c.note})` : ''}` : '—');
    body.append(row);
  }
}

async function showCall() {
  const body = document.getElementById('call-body');
  const { call, handling, status } = await api(`/api/v1/agents/${me.agentId}/call`);
  showControls(status, handling ?? null);
  body.innerHTML = '';
  showScreenPop(call);
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
  // A campaign's contact: who, and the list's fields (debt, due date…).
  const contact = handling?.contact;
  if (contact) {
    add(t('campaign'), contact.campaign).id = 'call-campaign';
    add(t('contact'), `${contact.name ?? ''} ${contact.number}`.trim()).id = 'call-contact';
    for (const [name, value] of Object.entries(contact.fields)) add(name, value).dataset.field = name;
  }
  body.append(dl);
}

/**
 * The queue's CRM screen pop (the server fills its URL from the call): opened
 * once per call, in the page's frame or a tab of its own, as the agent chose
 * (remembered in this browser); a blocked pop-up leaves the link to click.
 */
let poppedFor = null;
const popMode = document.getElementById('screen-pop-mode');
popMode.value = localStorage.getItem('centralita.screenPop') ?? 'frame';
popMode.onchange = () => localStorage.setItem('centralita.screenPop', popMode.value);
function showScreenPop(call) {
  const bar = document.getElementById('screen-pop-bar');
  const frame = document.getElementById('screen-pop-frame');
  // The server refuses any template that is not http(s); checked here again before it is used.
  const safe = call?.screenPop && ['http:', 'https:'].includes(new URL(call.screenPop, location.href).protocol);
  bar.hidden = !safe;
  if (!safe) {
    frame.hidden = true;
    return;
  }
  document.getElementById('screen-pop-link').href = call.screenPop;
  if (poppedFor === call.id) return;
  poppedFor = call.id;
  if (popMode.value === 'frame') {
    frame.src = call.screenPop;
    frame.hidden = false;
  } else if (popMode.value === 'tab') {
    frame.hidden = true;
    window.open(call.screenPop, 'centralita-crm', 'noopener');
  }
}

/**
 * Click-to-call: the number typed, or a CRM's click-to-dial (?dial=, or a
 * tel:/callto: link this page handles) filled in. The call is placed only
 * when the agent presses Call: a link never dials by itself.
 */
const dialNumber = document.getElementById('dial-number');
const dialResult = document.getElementById('dial-result');
const asked = new URLSearchParams(location.search).get('dial');
if (asked) {
  dialNumber.value = asked.replace(/^(tel|callto|sip|web\+callto):(\/\/)?/i, '').replace(/[^0-9+ ().-]/g, '').slice(0, 40);
  document.getElementById('dial-call').focus();
}
document.getElementById('dial-form').onsubmit = async (event) => {
  event.preventDefault();
  dialResult.classList.remove('error');
  dialResult.textContent = '';
  try {
    const { callId } = await api('/api/v1/calls', { method: 'POST', json: { agentId: me.agentId, number: dialNumber.value.trim() } });
    dialResult.dataset.callId = callId;
    dialResult.textContent = t('dialPlaced');
  } catch (err) {
    dialResult.classList.add('error');
    dialResult.textContent = err.message;
  }
};
document.getElementById('register-tel').onclick = () => {
  const result = document.getElementById('register-tel-result');
  try {
    navigator.registerProtocolHandler('tel', `${location.origin}/ui/desk.html?dial=%s`);
    result.textContent = t('registerTelAsked');
  } catch (err) {
    result.textContent = `${t('registerTelRefused')} (${err.message})`;
  }
};

/**
 * Preview campaigns (docs/outbound.md, "Preview"): the next contact with
 * its list's fields, shown before anything is dialled; Call rings the
 * agent's phone first, Skip brings it round again later.
 */
const previewSection = document.getElementById('preview');
const previewCampaign = document.getElementById('preview-campaign');
const previewResult = document.getElementById('preview-result');
function showContact(contact) {
  const box = document.getElementById('preview-contact');
  box.hidden = !contact;
  previewResult.classList.remove('error');
  previewResult.textContent = contact ? '' : t('previewNone');
  if (!contact) return;
  box.dataset.contact = contact.id;
  document.getElementById('preview-name').textContent = contact.name ?? '';
  document.getElementById('preview-number').textContent = contact.number;
  const body = document.querySelector('#preview-fields tbody');
  body.innerHTML = '';
  for (const [name, value] of Object.entries(contact.fields)) {
    const row = document.createElement('tr');
    row.dataset.field = name;
    cell(row, name);
    cell(row, value);
    body.append(row);
  }
}
async function showPreviewCampaigns() {
  const campaigns = await api(`/api/v1/campaigns/preview?agentId=${me.agentId}`).catch(() => []);
  previewSection.hidden = campaigns.length === 0;
  const chosen = previewCampaign.value;
  previewCampaign.innerHTML = '';
  for (const c of campaigns) {
    const option = document.createElement('option');
    option.value = c.campaignId;
    option.textContent = c.name;
    previewCampaign.append(option);
  }
  // The campaign whose contact the agent holds, else the one chosen before.
  const holding = campaigns.find((c) => c.contact);
  if (holding) previewCampaign.value = holding.campaignId;
  else if (campaigns.some((c) => c.campaignId === chosen)) previewCampaign.value = chosen;
  const held = campaigns.find((c) => c.campaignId === previewCampaign.value)?.contact;
  if (held) showContact(held);
  else document.getElementById('preview-contact').hidden = true;
}
async function preview(action) {
  previewResult.classList.remove('error');
  try {
    const path = `/api/v1/campaigns/${previewCampaign.value}/preview${action === 'next' ? '' : `/${action}`}`;
    const body = await api(path, { method: 'POST', json: { agentId: me.agentId } });
    if (action === 'next') showContact(body.contact);
    else if (action === 'skip') showContact(null);
    else previewResult.textContent = t('dialPlaced');
  } catch (err) {
    previewResult.classList.add('error');
    previewResult.textContent = err.message;
  }
}
document.getElementById('preview-next').onclick = () => preview('next');
document.getElementById('preview-call').onclick = () => preview('call');
document.getElementById('preview-skip').onclick = () => preview('skip');

async function refresh() {
  void showPreviewCampaigns();
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
    if (state.status === 'available' || state.status === 'paused') {
      void showRecent();
      void showPreviewCampaigns(); // a contact called is no longer held
    }
  }
  if (message.type === 'queue.call' && message.data.agentId === me.agentId) {
    void showCall();
    if (message.data.event === 'connected') void showDirectory();
  }
}, refresh);
await refresh();
await showRecent();
await showDirectory();
setInterval(render, 1000);
