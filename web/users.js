// Users and sessions (admins): who signs in to the pages, adding one, resetting a password, disabling,
// removing; the sessions open now, each with End. A refusal is shown next to the field the API names.
import { actionButton as button, api, applyTexts, cell, navigation, signedIn, submitForm, t, runChange } from './app.js';

const me = await signedIn(['admin']);
navigation(me, 'users');
applyTexts();

const agents = await api('/api/v1/agents');
const agentNames = new Map(agents.map((a) => [a.id, a.name]));
const agentSelect = document.querySelector('#add-user select[name="agentId"]');
for (const agent of agents) {
  const option = document.createElement('option');
  option.value = agent.id;
  option.textContent = `${agent.name} (${agent.number})`;
  agentSelect.append(option);
}

const time = (iso) => new Date(iso).toLocaleString(document.documentElement.lang);

async function render() {
  const [users, sessions] = await Promise.all([api('/api/v1/users'), api('/api/v1/sessions')]);
  const body = document.querySelector('#users tbody');
  body.innerHTML = '';
  for (const user of users) {
    const row = body.insertRow();
    row.dataset.user = user.username;
    cell(row, user.username);
    cell(row, t(`role${user.role[0].toUpperCase()}${user.role.slice(1)}`));
    cell(row, user.agentId ? agentNames.get(user.agentId) ?? user.agentId : '—');
    cell(row, user.active ? t('active') : t('disabled'));
    const actions = cell(row, '');
    actions.append(
      button(t('resetPassword'), async () => {
        const password = prompt(t('newPassword'));
        if (!password) return;
        await act(() => api(`/api/v1/users/${user.id}/password`, { method: 'PUT', json: { password } }));
      }),
      button(user.active ? t('disable') : t('enable'), () => act(() => api(`/api/v1/users/${user.id}`, { method: 'PATCH', json: { active: !user.active } }))),
      button(t('remove'), () => confirm(t('confirmRemove').replace('%s', user.username)) && act(() => api(`/api/v1/users/${user.id}`, { method: 'DELETE' }))),
    );
  }
  const sessionBody = document.querySelector('#sessions tbody');
  sessionBody.innerHTML = '';
  for (const session of sessions) {
    const row = sessionBody.insertRow();
    row.dataset.session = session.id;
    cell(row, session.username);
    cell(row, t(`role${session.role[0].toUpperCase()}${session.role.slice(1)}`));
    cell(row, time(session.createdAt));
    cell(row, time(session.lastSeenAt));
    cell(row, session.address ?? '—');
    const end = cell(row, '');
    if (session.id !== me.sessionId) end.append(button(t('end'), () => act(() => api(`/api/v1/sessions/${session.id}`, { method: 'DELETE' }))));
  }
}

/** Runs a change and shows the table again; a refusal shows in the page's alert. */
/** A row's change; a refusal shows in the page's alert. */
const act = (change) => runChange('form-error', change, render);

const form = document.getElementById('add-user');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(form));
  const json = { username: data.username.trim(), password: data.password, role: data.role, ...(data.agentId ? { agentId: data.agentId } : {}) };
  if (await submitForm(form, 'form-error', () => api('/api/v1/users', { method: 'POST', json }))) {
    form.reset();
    await render();
  }
});

await render();
