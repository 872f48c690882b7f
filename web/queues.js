// Queues: admins add and change every setting and the members with their penalties; supervisors see them.
// A refusal is shown next to the field the API names (the members' refusal by the members).
import { actionButton as button, api, applyTexts, cell, navigation, showFieldErrors, signedIn, skillsEditor, submitForm, t } from './app.js';

const me = await signedIn(['admin', 'supervisor']);
navigation(me, 'queuesPage');
applyTexts();
const admin = me.role === 'admin';
document.getElementById('read-only').hidden = admin;
document.getElementById('queue-form').hidden = !admin;
document.getElementById('queue-form-title').hidden = !admin;

const form = document.getElementById('queue-form');
const field = (name) => form.elements[name];
const skills = skillsEditor(document.getElementById('skill-rows'));
document.getElementById('add-skill').onclick = () => skills.add();
let editing = null;

const [agents, flows, surveys] = await Promise.all([api('/api/v1/agents'), api('/api/v1/ivr-flows'), api('/api/v1/surveys')]);
for (const survey of surveys) field('surveyId').append(new Option(survey.name, survey.id));
const activeAgents = agents.filter((a) => a.active);
for (const flow of flows) field('overflowFlow').append(new Option(flow.name, flow.id));

/** One row per active agent: a member or not, and the penalty (0 is rung first). */
function memberRows(members) {
  const rows = document.getElementById('member-rows');
  rows.innerHTML = '';
  const penalties = new Map(members.map((m) => [m.agentId, m.penalty]));
  for (const agent of activeAgents) {
    const row = document.createElement('div');
    row.className = 'member-row';
    row.dataset.agentId = agent.id;
    const label = document.createElement('label');
    label.className = 'check';
    const member = document.createElement('input');
    member.type = 'checkbox';
    member.className = 'member';
    member.checked = penalties.has(agent.id);
    label.append(member, ` ${agent.name} (${agent.number})`);
    const penalty = document.createElement('input');
    penalty.type = 'number';
    penalty.className = 'penalty';
    penalty.min = '0';
    penalty.max = '100';
    penalty.value = String(penalties.get(agent.id) ?? 0);
    penalty.setAttribute('aria-label', `${t('penalty')}: ${agent.name}`);
    row.append(label, penalty);
    rows.append(row);
  }
}

/** Shows only the overflow's own fields. */
function overflowFields() {
  const action = field('overflowAction').value;
  for (const el of form.querySelectorAll('[data-overflow]')) el.hidden = el.dataset.overflow !== action;
}
field('overflowAction').onchange = overflowFields;

function fill(queue, queues) {
  editing = queue;
  form.reset();
  showFieldErrors(form, null);
  field('overflowQueue').innerHTML = '';
  for (const other of queues) if (other.id !== queue?.id) field('overflowQueue').append(new Option(other.name, other.id));
  document.getElementById('queue-form-title').textContent = queue ? `${t('editQueue')}: ${queue.name}` : t('addQueue');
  document.getElementById('cancel-edit').hidden = !queue;
  skills.set(queue?.requiredSkills ?? {});
  memberRows(queue?.members ?? []);
  if (queue) {
    for (const name of ['name', 'strategy', 'ringTimeoutSeconds', 'wrapUpSeconds', 'maxWaitSeconds', 'serviceLevelSeconds', 'musicOnHold',
      'recordingPolicy', 'recordingSamplePercent', 'recordingRetentionDays']) field(name).value = String(queue[name]);
    for (const name of ['language', 'extension', 'callbackKey', 'overflowKey', 'screenPopUrl']) field(name).value = queue[name] ?? '';
    field('everySeconds').value = String(queue.announcements.everySeconds);
    field('announcePosition').checked = queue.announcements.position !== false;
    field('announceEstimate').checked = queue.announcements.estimate === true;
    const limits = queue.thresholds;
    for (const [name, value] of [['slAmber', limits.serviceLevel.amber], ['slRed', limits.serviceLevel.red], ['waitAmber', limits.longestWait.amber],
      ['waitRed', limits.longestWait.red], ['waitingAmber', limits.waiting.amber], ['waitingRed', limits.waiting.red]]) field(name).value = String(value);
    field('surveyId').value = queue.survey?.surveyId ?? '';
    if (queue.survey) { field('surveyMode').value = queue.survey.mode; field('surveySample').value = String(queue.survey.samplePercent); }
    field('overflowAction').value = queue.overflow.action;
    if (queue.overflow.action === 'queue') field('overflowQueue').value = queue.overflow.queueId;
    if (queue.overflow.action === 'flow') field('overflowFlow').value = queue.overflow.flowId;
    if (queue.overflow.action === 'message' && queue.overflow.maxSeconds) field('messageSeconds').value = String(queue.overflow.maxSeconds);
  }
  overflowFields();
}

let queues = [];
async function render() {
  queues = await api('/api/v1/queues');
  const body = document.querySelector('#queue-list tbody');
  body.innerHTML = '';
  for (const queue of queues) {
    const row = body.insertRow();
    row.dataset.queue = queue.name;
    cell(row, queue.name);
    cell(row, t(queue.strategy === 'skills' ? 'skillsStrategy' : queue.strategy));
    cell(row, queue.extension ?? '—');
    cell(row, String(queue.members.length));
    cell(row, t({ always: 'recAlways', never: 'recNever', on_demand: 'recOnDemand' }[queue.recordingPolicy]));
    const actions = cell(row, '');
    if (admin) actions.append(button(t('edit'), () => fill(queue, queues)));
  }
}
document.getElementById('cancel-edit').onclick = () => fill(null, queues);

const number = (name) => Number(field(name).value);
const orNull = (name) => field(name).value.trim() || null;

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const action = field('overflowAction').value;
  const overflow = action === 'queue' ? { action, queueId: field('overflowQueue').value }
    : action === 'flow' ? { action, flowId: field('overflowFlow').value }
      : action === 'message' ? { action, maxSeconds: number('messageSeconds') } : { action };
  const json = {
    name: field('name').value.trim(), strategy: field('strategy').value, language: orNull('language'), extension: orNull('extension'), screenPopUrl: orNull('screenPopUrl'),
    ringTimeoutSeconds: number('ringTimeoutSeconds'), wrapUpSeconds: number('wrapUpSeconds'), maxWaitSeconds: number('maxWaitSeconds'),
    serviceLevelSeconds: number('serviceLevelSeconds'), overflow, musicOnHold: field('musicOnHold').value.trim(),
    announcements: { everySeconds: number('everySeconds'), position: field('announcePosition').checked, estimate: field('announceEstimate').checked },
    recordingPolicy: field('recordingPolicy').value, recordingSamplePercent: number('recordingSamplePercent'),
    recordingRetentionDays: number('recordingRetentionDays'), callbackKey: orNull('callbackKey'), overflowKey: orNull('overflowKey'),
    requiredSkills: skills.value(),
    survey: field('surveyId').value ? { surveyId: field('surveyId').value, mode: field('surveyMode').value, samplePercent: number('surveySample') } : null,
    thresholds: {
      serviceLevel: { amber: number('slAmber'), red: number('slRed') }, longestWait: { amber: number('waitAmber'), red: number('waitRed') },
      waiting: { amber: number('waitingAmber'), red: number('waitingRed') },
    },
  };
  const members = [...document.querySelectorAll('.member-row')].filter((row) => row.querySelector('.member').checked)
    .map((row) => ({ agentId: row.dataset.agentId, penalty: Number(row.querySelector('.penalty').value) }));
  let saved = editing;
  const ok = await submitForm(form, 'form-error', async () => {
    saved = editing ? await api(`/api/v1/queues/${editing.id}`, { method: 'PATCH', json }) : await api('/api/v1/queues', { method: 'POST', json });
  }) && await submitForm(form, 'form-error', () => api(`/api/v1/queues/${saved.id}/members`, { method: 'PUT', json: { members } }));
  await render();
  if (ok) fill(null, queues);
  else if (saved) editing = queues.find((q) => q.id === saved.id) ?? editing;
});

await render();
fill(null, queues);
