import { api, applyTexts, cell, navigation, seconds, signedIn, t } from './app.js';

const me = await signedIn(['admin', 'supervisor']);
navigation(me, 'recordings');
applyTexts();

const [agents, queues] = await Promise.all([api('/api/v1/agents'), api('/api/v1/queues')]);
const agentNames = new Map(agents.map((a) => [a.id, a.name]));
const queueNames = new Map(queues.map((q) => [q.id, q.name]));
for (const [select, list] of [['agent', agents], ['queue', queues]]) {
  for (const item of list) {
    const option = document.createElement('option');
    option.value = item.id;
    option.textContent = item.name;
    document.getElementById(select).append(option);
  }
}

async function play(id, button) {
  const { url } = await api(`/api/v1/recordings/${id}/ticket`, { method: 'POST' });
  const player = document.getElementById('player');
  player.hidden = false;
  player.src = url;
  player.dataset.recording = id;
  player.dataset.retried = '';
  await player.play().catch(() => undefined);
  button.setAttribute('aria-pressed', 'true');
}

// A ticket is spent once its series of requests has been idle for 30 s (a
// long pause): ask for a new one once and go on from the same place.
document.getElementById('player').addEventListener('error', async (event) => {
  const player = event.target;
  const id = player.dataset.recording;
  if (!id || player.dataset.retried === id) return;
  player.dataset.retried = id;
  const at = player.currentTime;
  const { url } = await api(`/api/v1/recordings/${id}/ticket`, { method: 'POST' });
  player.src = url;
  player.currentTime = at;
  await player.play().catch(() => undefined);
});
document.getElementById('player').addEventListener('playing', (event) => { event.target.dataset.retried = ''; });

async function downloadRecording(id) {
  const { url } = await api(`/api/v1/recordings/${id}/ticket`, { method: 'POST' });
  const a = document.createElement('a');
  a.href = url;
  a.download = `${id}.wav`;
  a.click();
}

async function search() {
  const q = new URLSearchParams();
  const from = document.getElementById('from').value;
  const to = document.getElementById('to').value;
  if (from) q.set('from', new Date(`${from}T00:00:00`).toISOString());
  if (to) { const end = new Date(`${to}T00:00:00`); end.setDate(end.getDate() + 1); q.set('to', end.toISOString()); }
  for (const key of ['agent', 'queue', 'kind']) if (document.getElementById(key).value) q.set(key, document.getElementById(key).value);
  const caller = document.getElementById('caller').value.trim();
  if (caller) q.set('caller', caller);
  const error = document.getElementById('error');
  error.hidden = true;
  try {
    const rows = await api(`/api/v1/recordings?${q}`);
    const body = document.querySelector('#recordings tbody');
    body.innerHTML = '';
    for (const r of rows) {
      const tr = body.insertRow();
      tr.dataset.recording = r.id;
      cell(tr, new Date(r.startedAt).toLocaleString());
      cell(tr, seconds(r.durationSeconds));
      cell(tr, r.agentIds.map((id) => agentNames.get(id) ?? id).join(', '));
      cell(tr, queueNames.get(r.queueId) ?? '—');
      cell(tr, t(r.kind === 'survey_comment' ? 'kindSurveyComment' : 'kindCall'));
      cell(tr, r.status);
      const actions = cell(tr, '');
      if (r.status === 'complete') {
        const playButton = document.createElement('button');
        playButton.type = 'button';
        playButton.className = 'action';
        playButton.textContent = t('play');
        playButton.onclick = () => play(r.id, playButton);
        const get = document.createElement('button');
        get.type = 'button';
        get.className = 'action';
        get.textContent = t('download');
        get.onclick = () => downloadRecording(r.id);
        actions.append(playButton, get);
      }
    }
  } catch (err) {
    error.hidden = false;
    error.textContent = err.message;
  }
}

document.getElementById('filters').addEventListener('submit', (event) => { event.preventDefault(); void search(); });
await search();
