// DID routes and prompts: which flow answers each number (and its recording policy), the prompts uploaded
// (listen in the page, where each is played, upload, delete: refused while a flow plays it).
import { actionButton as button, api, applyTexts, cell, navigation, seconds, signedIn, submitForm, t, runChange } from './app.js';

const me = await signedIn(['admin', 'supervisor']);
navigation(me, 'routing');
applyTexts();
const admin = me.role === 'admin';
document.getElementById('read-only').hidden = admin;
for (const form of document.querySelectorAll('form.admin-form')) form.hidden = !admin;

const routeForm = document.getElementById('route-form');
const promptForm = document.getElementById('prompt-form');
const flows = await api('/api/v1/ivr-flows');
const flowNames = new Map(flows.map((f) => [f.id, f.name]));
for (const flow of flows) routeForm.elements.flowId.append(new Option(flow.name, flow.id));

/** A row's change; a refusal shows in the alert under its table's form. */
const act = (errorId, change) => runChange(errorId, change, render);

async function listen(name) {
  const player = document.getElementById('player');
  const audio = await api(`/api/v1/prompts/${encodeURIComponent(name)}`, { blob: true });
  if (player.src) URL.revokeObjectURL(player.src);
  player.src = URL.createObjectURL(audio);
  player.hidden = false;
  player.dataset.prompt = name;
  await player.play().catch(() => undefined);
}

async function render() {
  const [routes, prompts] = await Promise.all([api('/api/v1/routes'), api('/api/v1/prompts')]);
  const routeBody = document.querySelector('#route-list tbody');
  routeBody.innerHTML = '';
  for (const route of routes) {
    const row = routeBody.insertRow();
    row.dataset.did = route.did;
    cell(row, route.did);
    cell(row, flowNames.get(route.flowId) ?? route.flowId);
    cell(row, route.recordingPolicy ? t({ always: 'recAlways', never: 'recNever', on_demand: 'recOnDemand' }[route.recordingPolicy]) : t('queueDecides'));
    const actions = cell(row, '');
    if (admin) actions.append(button(t('remove'), () => act('route-error', () => api(`/api/v1/routes/${encodeURIComponent(route.did)}`, { method: 'DELETE' }))));
  }
  const promptBody = document.querySelector('#prompt-list tbody');
  promptBody.innerHTML = '';
  for (const prompt of prompts) {
    const row = promptBody.insertRow();
    row.dataset.prompt = prompt.name;
    cell(row, prompt.name);
    cell(row, seconds(prompt.durationMs / 1000));
    cell(row, prompt.usedBy.map((u) => u.name).join(', ') || '—');
    const actions = cell(row, '');
    actions.append(button(t('play'), () => listen(prompt.name)));
    if (admin) actions.append(button(t('remove'), () => act('prompt-error', () => api(`/api/v1/prompts/${encodeURIComponent(prompt.name)}`, { method: 'DELETE' }))));
  }
}

routeForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const did = routeForm.elements.did.value.trim();
  const policy = routeForm.elements.recordingPolicy.value;
  if (!/^\+?[0-9]{1,32}$/.test(did)) {
    routeForm.querySelector('.field-error[data-for="did"]').textContent = t('didRule');
    return;
  }
  const json = { flowId: routeForm.elements.flowId.value, ...(policy ? { recordingPolicy: policy } : {}) };
  if (await submitForm(routeForm, 'route-error', () => api(`/api/v1/routes/${encodeURIComponent(did)}`, { method: 'PUT', json }))) {
    routeForm.reset();
    await render();
  }
});

promptForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = promptForm.elements.name.value.trim();
  const file = promptForm.elements.file.files[0];
  if (!file) return;
  const sent = await submitForm(promptForm, 'prompt-error', () => api(`/api/v1/prompts?name=${encodeURIComponent(name)}`, { method: 'POST', body: file, type: 'audio/wav' }));
  if (sent) {
    promptForm.reset();
    await render();
  }
});

await render();
