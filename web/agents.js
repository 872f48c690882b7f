// Agents and pause reasons: admins add and change them (skills with levels, team, desk extension, PIN reset,
// supervisor, active); supervisors see them. Each refusal is shown next to the field the API names.
import { actionButton as button, api, applyTexts, cell, navigation, showFieldErrors, signedIn, skillsEditor, submitForm as submit, t, runChange } from './app.js';

const me = await signedIn(['admin', 'supervisor']);
navigation(me, 'agentsPage');
applyTexts();
const admin = me.role === 'admin';
document.getElementById('read-only').hidden = admin;
for (const form of document.querySelectorAll('form.admin-form')) form.hidden = !admin;
for (const title of document.querySelectorAll('#agent-form-title')) title.hidden = !admin;

const form = document.getElementById('agent-form');
let editing = null;

const skills = skillsEditor(document.getElementById('skill-rows'));
document.getElementById('add-skill').onclick = () => skills.add();

function fill(agent) {
  editing = agent;
  form.reset();
  skills.set({});
  showFieldErrors(form, null);
  document.getElementById('agent-form-title').textContent = agent ? `${t('editAgent')}: ${agent.name}` : t('addAgent');
  document.getElementById('cancel-edit').hidden = !agent;
  if (!agent) return;
  for (const key of ['number', 'name', 'extension', 'team']) form.elements[key].value = agent[key] ?? '';
  form.elements.isSupervisor.checked = agent.isSupervisor;
  form.elements.dialingRights.value = agent.dialingRights.join(' ');
  skills.set(agent.skills);
  form.elements.number.focus();
}
document.getElementById('cancel-edit').onclick = () => fill(null);

async function render() {
  const [agents, reasons] = await Promise.all([api('/api/v1/agents'), api('/api/v1/pause-reasons')]);
  const body = document.querySelector('#agent-list tbody');
  body.innerHTML = '';
  // A team is a name agents share: the form offers the teams there are, and a new name makes a new one.
  document.getElementById('teams').replaceChildren(...[...new Set(agents.map((a) => a.team).filter(Boolean))].sort().map((team) => new Option(team)));
  for (const agent of agents) {
    const row = body.insertRow();
    row.dataset.agent = agent.number;
    for (const value of [agent.number, agent.name, agent.extension ?? '—', agent.team ?? '—']) cell(row, value);
    cell(row, Object.entries(agent.skills).map(([name, level]) => `${name} ${level}`).join(', ') || '—');
    cell(row, agent.isSupervisor ? '✓' : '');
    cell(row, agent.active ? t('active') : t('disabled'));
    const actions = cell(row, '');
    // A deactivated agent keeps their history and changes no more.
    if (admin && agent.active) {
      actions.append(
        button(t('edit'), () => fill(agent)),
        // Removed if they have no history; deactivated (kept, signed out everywhere) if they have.
        button(t('remove'), () => confirm(t('confirmRemoveAgent').replace('%s', agent.name)) && act(() => api(`/api/v1/agents/${agent.id}`, { method: 'DELETE' }))),
      );
    }
  }
  const reasonBody = document.querySelector('#pause-list tbody');
  reasonBody.innerHTML = '';
  for (const reason of reasons) {
    const row = reasonBody.insertRow();
    row.dataset.reason = reason.name;
    for (const value of [reason.name, reason.code ?? '—', reason.label, reason.productive ? '✓' : '']) cell(row, value);
  }
}

/** A row's change; a refusal shows in the page's alert. */
const act = (change) => runChange('form-error', change, render);

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const value = (name) => form.elements[name].value.trim();
  const json = {
    number: value('number'), name: value('name'), extension: value('extension') || null, team: value('team') || null,
    isSupervisor: form.elements.isSupervisor.checked, skills: skills.value(),
    // Patterns apart by spaces or commas.
    dialingRights: value('dialingRights').split(/[\s,]+/).filter(Boolean),
    ...(value('pin') ? { pin: value('pin') } : {}),
  };
  // A new agent needs a PIN; a change without one keeps the PIN (a PIN typed here resets it).
  if (!editing && !json.pin) json.pin = '';
  const ok = await submit(form, 'form-error', () => (editing
    ? api(`/api/v1/agents/${editing.id}`, { method: 'PATCH', json })
    : api('/api/v1/agents', { method: 'POST', json })));
  if (ok) {
    fill(null);
    await render();
  }
});

const pauseForm = document.getElementById('pause-form');
pauseForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = pauseForm.elements.name.value.trim();
  const json = { code: pauseForm.elements.code.value.trim(), label: pauseForm.elements.label.value.trim(), productive: pauseForm.elements.productive.checked };
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(name)) {
    pauseForm.querySelector('.field-error[data-for="name"]').textContent = t('reasonNameRule');
    return;
  }
  const ok = await submit(pauseForm, 'pause-error', () => api(`/api/v1/pause-reasons/${encodeURIComponent(name)}`, { method: 'PUT', json }));
  if (ok) {
    pauseForm.reset();
    await render();
  }
});

await render();
