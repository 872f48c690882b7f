// Post-call surveys (docs/surveys.md): the list, with the queues and routes that offer each; admins
// create one or save a new version from its JSON document. Every problem the server finds is listed
// (POST /surveys/check) before anything is saved.
import { actionButton as button, api, applyTexts, cell, navigation, signedIn, submitForm, t } from './app.js';

const me = await signedIn(['admin', 'supervisor']);
navigation(me, 'surveysPage');
applyTexts();
const admin = me.role === 'admin';
const form = document.getElementById('survey-form');
form.hidden = !admin;
document.getElementById('survey-form-title').hidden = !admin;
const field = (name) => form.elements[name];
const problems = document.getElementById('problems');

/** A starting point: one question on each scale, a comment and a thank-you. */
const template = {
  language: 'es',
  questions: [
    { id: 'agente', prompt: ['sound:beep'], scale: '1-5' },
    { id: 'recomendaria', prompt: ['sound:beep'], scale: '0-10' },
    { id: 'resuelto', prompt: ['sound:beep'], scale: 'yes_no' },
  ],
  comment: { prompt: ['sound:vm-intro'], maxSeconds: 60 },
  thanks: ['sound:auth-thankyou'],
};
let editing = null;

function fill(survey) {
  editing = survey;
  field('name').value = survey?.name ?? '';
  field('document').value = JSON.stringify(survey?.document ?? template, null, 2);
  problems.hidden = true;
  document.getElementById('survey-form-title').textContent = survey ? `${t('editSurvey')}: ${survey.name}` : t('addSurvey');
  document.getElementById('cancel-edit').hidden = !survey;
}

async function render() {
  const [surveys, queues, routes] = await Promise.all([api('/api/v1/surveys'), api('/api/v1/queues'), api('/api/v1/routes')]);
  const offeredBy = (id) => [...queues.filter((q) => q.survey?.surveyId === id).map((q) => q.name), ...routes.filter((r) => r.survey?.surveyId === id).map((r) => r.did)];
  const body = document.querySelector('#surveys tbody');
  body.innerHTML = '';
  for (const survey of surveys) {
    const row = body.insertRow();
    row.dataset.survey = survey.name;
    cell(row, survey.name);
    cell(row, String(survey.currentVersion));
    const full = await api(`/api/v1/surveys/${survey.id}`);
    cell(row, String(full.document.questions.length));
    cell(row, offeredBy(survey.id).join(', ') || '—');
    const actions = cell(row, '');
    if (admin) actions.append(button(t('edit'), () => fill(full)));
  }
}
document.getElementById('cancel-edit').onclick = () => fill(null);

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  problems.hidden = true;
  let document_;
  try {
    document_ = JSON.parse(field('document').value);
  } catch (err) {
    problems.replaceChildren(Object.assign(document.createElement('li'), { textContent: `JSON: ${err.message}` }));
    problems.hidden = false;
    return;
  }
  const found = (await api('/api/v1/surveys/check', { method: 'POST', json: { document: document_ } })).problems;
  if (found.length > 0) {
    problems.replaceChildren(...found.map((p) => Object.assign(document.createElement('li'), { textContent: p })));
    problems.hidden = false;
    return;
  }
  const json = { name: field('name').value.trim(), document: document_ };
  const ok = await submitForm(form, 'form-error', () => (editing
    ? api(`/api/v1/surveys/${editing.id}`, { method: 'PUT', json })
    : api('/api/v1/surveys', { method: 'POST', json })));
  if (ok) fill(null);
  await render();
});

await render();
fill(null);
// Filled and listed: what a test (or a person quick with the keyboard) types now stays.
document.body.dataset.rendered = 'true';
