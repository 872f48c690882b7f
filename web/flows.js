// IVR flows: each flow drawn as a graph (a box per node, an arrow per exit) beside the node list, which is
// the keyboard's way in; a form for the node chosen; the JSON for power users; versions compared and restored;
// and a walk, a call tried on the document in the editor, saved or not. The server checks the document after
// each edit (POST /check) and its problems are shown on their nodes: the editor never guesses what is valid.
import { actionButton as button, api, ApiError, applyTexts, lang, navigation, showFieldErrors, signedIn, skillsEditor, t } from './app.js';

const $ = (id) => document.getElementById(id);
const me = await signedIn(['admin', 'supervisor']);
navigation(me, 'flowsPage');
applyTexts();
const admin = me.role === 'admin';
$('read-only').hidden = admin;
for (const id of ['new-flow-form', 'add-node-form', 'save-flow', 'json-apply']) $(id).hidden = !admin;
const nodeForm = $('node-form');
const addForm = $('add-node-form');
const jsonForm = $('json-form');
const walkForm = $('walk-form');
const diffFrom = $('diff-from');
const diffTo = $('diff-to');
$('graph').setAttribute('aria-label', t('graphLabel'));
jsonForm.elements.json.readOnly = !admin;
// Hidden while closed too: Chromium lays a closed <details>'s content out (only unseen), and the page tests count it.
jsonForm.hidden = true;
$('json-details').addEventListener('toggle', (event) => { jsonForm.hidden = !event.target.open; });
$('flow-language').disabled = !admin;

/** A text with each %s filled in order. */
const tf = (key, ...values) => values.reduce((text, value) => text.replace('%s', String(value)), t(key));
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
/** JSON with object keys sorted: two versions differ only where a value does, not where keys were reordered. */
const stableJson = (v) => JSON.stringify(v, (_key, value) => (isObject(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))) : value));
const shown = (v) => (v === undefined ? '—' : stableJson(v));
const nodeNamePattern = /^[A-Za-z0-9_-]{1,64}$/;
const flowNamePattern = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$/;
const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/**
 * The form of each node type, in order: [field, kind, required, extra]. Kinds: media (a comma list),
 * exit (a node's name), int (extra: its range), text, list (a comma list), choice (extra: the values),
 * bool, and the types' own (options, rules, hours, skills, queue). It follows src/ivr/nodes/; what is
 * valid is the server's to say (POST /check), so a field left empty is simply left out of the node.
 */
const types = {
  play: [['media', 'media', true], ['next', 'exit']],
  menu: [['prompt', 'media', true], ['options', 'options'], ['default', 'exit'], ['timeoutMs', 'int', false, [1000, 60000]], ['retries', 'int', false, [0, 10]],
    ['invalidPrompt', 'media'], ['timeoutPrompt', 'media']],
  collect: [['prompt', 'media', true], ['variable', 'text', true], ['minDigits', 'int', false, [1, 40]], ['maxDigits', 'int', true, [1, 40]],
    ['timeoutMs', 'int', false, [1000, 60000]], ['retries', 'int', false, [0, 10]], ['terminator', 'bool'], ['invalidPrompt', 'media'], ['next', 'exit', true], ['onFail', 'exit']],
  say: [['variable', 'text', true], ['as', 'choice', true, ['digits', 'number', 'characters']], ['next', 'exit']],
  lookup: [['url', 'text', true], ['method', 'choice', false, ['GET', 'POST']], ['timeoutMs', 'int', false, [100, 3000]], ['send', 'list'], ['next', 'exit', true], ['onError', 'exit', true]],
  condition: [['rules', 'rules', true], ['else', 'exit', true]],
  schedule: [['timezone', 'text', true], ['hours', 'hours'], ['holidays', 'list'], ['open', 'exit', true], ['closed', 'exit', true]],
  setPriority: [['priority', 'int', true, [0, 100]], ['next', 'exit', true]],
  setSkills: [['skills', 'skills'], ['next', 'exit', true]],
  surveyOptIn: [['prompt', 'media', true], ['key', 'text'], ['samplePercent', 'int', false, [0, 100]], ['timeoutMs', 'int', false, [1000, 30000]], ['confirm', 'media'], ['next', 'exit', true]],
  queue: [['queue', 'queue', true]],
  transfer: [['extension', 'text', true]],
  hangup: [['media', 'media']],
};
const typeLabel = (type) => (types[type] ? t(`type${cap(type)}`) : String(type));
for (const select of [nodeForm.elements.type, addForm.elements.type]) {
  for (const type of Object.keys(types)) select.append(new Option(`${typeLabel(type)} (${type})`, type));
}

/** A node's exits as [label, target]: a menu's keys, a condition's rules, then its exit fields. */
function exitsOf(node) {
  const out = [];
  if (node.type === 'menu' && isObject(node.options)) out.push(...Object.entries(node.options));
  if (node.type === 'condition' && Array.isArray(node.rules)) node.rules.forEach((rule, i) => out.push([`${t('rule')} ${i + 1}`, rule?.next]));
  for (const [field, kind] of types[node.type] ?? []) if (kind === 'exit') out.push([field, node[field]]);
  return out.filter(([, to]) => typeof to === 'string' && to !== '');
}

/** Points a node's exits to `from` at `to` instead (a rename), or clears them (`to` undefined: a removal). */
function retarget(node, from, to) {
  const move = (holder, key) => {
    if (holder[key] !== from) return;
    if (to === undefined) delete holder[key];
    else holder[key] = to;
  };
  if (node.type === 'menu' && isObject(node.options)) for (const key of Object.keys(node.options)) move(node.options, key);
  if (node.type === 'condition' && Array.isArray(node.rules)) for (const rule of node.rules) if (isObject(rule)) move(rule, 'next');
  for (const [field, kind] of types[node.type] ?? []) if (kind === 'exit') move(node, field);
}

/** A short line for a node's box: what it plays, its keys, its queue… */
function summary(node) {
  const list = (v) => (Array.isArray(v) ? v.join(', ') : '');
  switch (node.type) {
    case 'play': case 'hangup': return list(node.media);
    case 'menu': return isObject(node.options) ? `${t('keys')}: ${Object.keys(node.options).join(' ')}` : '';
    case 'collect': return node.variable ? `${node.variable} ≤ ${node.maxDigits ?? '?'}` : '';
    case 'say': return node.variable ?? '';
    case 'lookup': try { return new URL(node.url).host; } catch { return ''; }
    case 'condition': return Array.isArray(node.rules) ? tf('rulesCount', node.rules.length) : '';
    case 'schedule': return node.timezone ?? '';
    case 'setPriority': return `= ${node.priority ?? '?'}`;
    case 'setSkills': return isObject(node.skills) ? Object.entries(node.skills).map(([k, v]) => `${k} ${v}`).join(', ') : '';
    case 'queue': return node.queue ?? '';
    case 'transfer': return node.extension ?? '';
    default: return '';
  }
}

// What the page holds: the flow open (id null until a new one is saved) and its document as edited.
let flows = await api('/api/v1/ivr-flows');
// The prompts and queues only feed suggestions and a select: without them the editor still works.
const [prompts, queues] = await Promise.all([api('/api/v1/prompts').catch(() => []), api('/api/v1/queues').catch(() => [])]);
let flow = null;
let doc = null;
let selected = null;
/** The last check's problems: [{message, nodes}]. */
let problems = [];
/** The last walk's path, highlighted in the graph. */
let walked = { nodes: new Set(), edges: new Set() };
let dirty = false;
let versions = [];
const versionDocs = new Map();
/** Problems found in the page itself (a rules field that is not JSON), by field, until fixed. */
const localErrors = new Map();
let skills = null;

const problemsOf = (name) => problems.filter((p) => p.nodes?.includes(name));

/** An element with its properties (`attrs`: attributes, `data`: data-*) and children. */
function el(tag, { attrs = {}, data = {}, ...props } = {}, ...children) {
  const element = Object.assign(document.createElement(tag), props);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
  Object.assign(element.dataset, data);
  element.append(...children);
  return element;
}
const code = (text) => el('code', { textContent: text });
const errorSpan = (field) => el('span', { className: 'field-error', data: { for: field }, attrs: { role: 'alert' } });
/** Shows a refusal found in the page next to a form's field ('' clears it); whether there is one. */
function refuse(form, field, message) {
  form.querySelector(`.field-error[data-for="${field}"]`).textContent = message;
  if (message) form.elements.namedItem(field).setAttribute('aria-invalid', 'true');
  else form.elements.namedItem(field).removeAttribute('aria-invalid');
  return Boolean(message);
}
/** An alert paragraph with a message, or hidden (null). */
function alertIn(id, message) {
  $(id).hidden = message === null;
  $(id).textContent = message ?? '';
}
/** The node to show when the one chosen is gone: the start, else the first. */
const someNode = () => (doc.nodes[doc.start] ? doc.start : Object.keys(doc.nodes)[0] ?? null);
/** A field of the node form: its text and the document's field name (as the graph's arrows say), the control, its problems. */
const labelled = (field, control, className = '') => el('label', { className }, el('span', {}, `${t(`field${cap(field)}`)} `, code(field)), control, errorSpan(field));

// ---- The graph ----

const SVG = 'http://www.w3.org/2000/svg';
const [W, H, GAP_X, GAP_Y, PAD, PAD_TOP] = [172, 58, 80, 44, 16, 64];
let drawn = new Map();

function svg(tag, attrs = {}, parent = undefined) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value));
  parent?.append(element);
  return element;
}
const fit = (text, n) => (String(text).length > n ? `${String(text).slice(0, n - 1)}…` : String(text));

/** Columns by breadth-first depth from start (nodes it cannot reach in a last column), rows in the order found. */
function layout() {
  const depth = new Map();
  if (doc.nodes[doc.start]) {
    depth.set(doc.start, 0);
    const todo = [doc.start];
    while (todo.length > 0) {
      const name = todo.shift();
      for (const [, to] of exitsOf(doc.nodes[name]).filter(([, next]) => doc.nodes[next] && !depth.has(next))) {
        depth.set(to, depth.get(name) + 1);
        todo.push(to);
      }
    }
  }
  const unreachable = Math.max(-1, ...depth.values()) + 1;
  const columns = [];
  for (const name of [...depth.keys(), ...Object.keys(doc.nodes).filter((n) => !depth.has(n))]) (columns[depth.get(name) ?? unreachable] ??= []).push(name);
  const at = new Map();
  columns.forEach((names, col) => names.forEach((name, row) => at.set(name, { col, x: PAD + col * (W + GAP_X), y: PAD_TOP + row * (H + GAP_Y) })));
  const rows = Math.max(1, ...columns.map((c) => c.length));
  return { at, width: PAD * 2 + Math.max(1, columns.length) * (W + GAP_X) - GAP_X, height: PAD_TOP + rows * (H + GAP_Y) - GAP_Y + PAD };
}

const point = ([x0, y0, x1, y1, x2, y2, x3, y3], s) => {
  const u = 1 - s;
  const f = (a, b, c, d) => u * u * u * a + 3 * u * u * s * b + 3 * u * s * s * c + s * s * s * d;
  return [f(x0, x1, x2, x3), f(y0, y1, y2, y3)];
};

/** An arrow's curve and where its label goes: forward to the next columns, else an arc (back edges, loops). */
function curve(a, b) {
  if (b.col > a.col) {
    const [x0, y0, x3, y3] = [a.x + W, a.y + H / 2, b.x, b.y + H / 2];
    const c = Math.min(GAP_X, (x3 - x0) / 2);
    const p = [x0, y0, x0 + c, y0, x3 - c, y3, x3, y3];
    // The label in the gap just after its box, where the arrows of one node spread apart.
    let s = 0;
    while (s < 1 && point(p, s)[0] < x0 + GAP_X * 0.5) s += 0.02;
    return { p, label: point(p, s) };
  }
  if (b.col === a.col && a !== b) {
    const bulge = a.x + W + 36;
    const p = [a.x + W, a.y + H / 2, bulge, a.y + H / 2, bulge, b.y + H / 2, b.x + W, b.y + H / 2];
    return { p, label: point(p, 0.5) };
  }
  // Back to an earlier column, or a loop on itself: over the top, from one box's top to the other's.
  const lift = 28 + 8 * Math.min(4, a.col - b.col);
  const top = Math.min(a.y, b.y) - lift;
  const p = [a.x + W * 0.65, a.y, a.x + W * 0.65, top, b.x + W * 0.35, top, b.x + W * 0.35, b.y];
  return { p, label: point(p, 0.5) };
}

function drawGraph() {
  const box = $('graph');
  const { scrollLeft, scrollTop } = box;
  const { at, width, height } = layout();
  drawn = at;
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, 'aria-hidden': 'true', focusable: 'false' });
  const defs = svg('defs', {}, root);
  for (const id of ['flow-arrow', 'flow-arrow-walked']) {
    const marker = svg('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, defs);
    svg('path', { d: 'M0,0 L10,5 L0,10 z' }, marker);
  }
  const edges = svg('g', {}, root);
  const boxes = svg('g', {}, root);
  // One arrow per pair of nodes, labelled with every exit it stands for (menu keys 1 and 2 to the same node).
  const pairs = new Map();
  for (const [from, node] of Object.entries(doc.nodes)) {
    for (const [label, to] of exitsOf(node)) {
      if (!at.has(to)) continue;
      const key = `${from}\n${to}`;
      pairs.set(key, [...(pairs.get(key) ?? []), label]);
    }
  }
  for (const [key, labels] of pairs) {
    const [from, to] = key.split('\n');
    const { p, label } = curve(at.get(from), at.get(to));
    const onPath = walked.edges.has(key);
    svg('path', {
      class: onPath ? 'edge walked' : 'edge', 'marker-end': `url(#${onPath ? 'flow-arrow-walked' : 'flow-arrow'})`,
      d: `M${p[0]},${p[1]} C${p[2]},${p[3]} ${p[4]},${p[5]} ${p[6]},${p[7]}`,
    }, edges);
    svg('text', { class: onPath ? 'edge-label walked' : 'edge-label', x: label[0], y: label[1] - 4, 'text-anchor': 'middle' }, edges).textContent = fit(labels.join(', '), 18);
  }
  for (const [name, node] of Object.entries(doc.nodes)) {
    const { x, y } = at.get(name);
    const trouble = problemsOf(name).length > 0;
    const classes = ['node', name === doc.start && 'start', name === selected && 'selected', trouble && 'problem', walked.nodes.has(name) && 'walked'];
    const g = svg('g', { class: classes.filter(Boolean).join(' '), transform: `translate(${x},${y})` }, boxes);
    g.dataset.node = name;
    svg('rect', { class: 'halo', x: -5, y: -5, width: W + 10, height: H + 10, rx: 9 }, g);
    svg('rect', { class: 'box', width: W, height: H, rx: 6 }, g);
    svg('text', { class: 'name', x: 10, y: 19 }, g).textContent = fit(`${name === doc.start ? '▶ ' : ''}${trouble ? '⚠ ' : ''}${name}`, 22);
    svg('text', { class: 'kind', x: 10, y: 35 }, g).textContent = fit(typeLabel(node.type), 24);
    svg('text', { class: 'kind', x: 10, y: 50 }, g).textContent = fit(summary(node), 24);
    svg('title', {}, g).textContent = `${name} (${node.type})${trouble ? ` ⚠ ${problemsOf(name).map((pr) => pr.message).join('; ')}` : ''}`;
    g.addEventListener('click', () => select(name));
  }
  box.replaceChildren(root);
  box.scrollLeft = scrollLeft;
  box.scrollTop = scrollTop;
}

/** Scrolls the graph to show a node's box (chosen in the list, it may be out of sight). */
function reveal(name) {
  const box = $('graph');
  const p = drawn.get(name);
  if (!p) return;
  if (p.x < box.scrollLeft || p.x + W > box.scrollLeft + box.clientWidth) box.scrollLeft = Math.max(0, p.x - PAD);
  if (p.y < box.scrollTop || p.y + H > box.scrollTop + box.clientHeight) box.scrollTop = Math.max(0, p.y - PAD_TOP);
}

/** The node list: one button per node, the keyboard's way to choose one; its state in words, not colour only. */
function drawList() {
  const list = $('node-list');
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.node : undefined;
  list.replaceChildren(...Object.entries(doc.nodes).map(([name, node]) => {
    const count = problemsOf(name).length;
    const text = `${count ? '⚠ ' : ''}${name} · ${typeLabel(node.type)}${name === doc.start ? ` · ${t('startNode')}` : ''}${count ? ` (${tf('problemCount', count)})` : ''}`;
    const attrs = { 'aria-current': String(name === selected) };
    return el('li', {}, el('button', { type: 'button', className: count ? 'problem' : '', textContent: text, data: { node: name }, attrs, onclick: () => select(name) }));
  }));
  // The list is drawn again after each change: the focus stays on the node's button.
  if (focused !== undefined) list.querySelector(`button[data-node="${CSS.escape(focused)}"]`)?.focus();
}

function select(name) {
  selected = name;
  drawGraph();
  drawList();
  fillNodeForm();
  reveal(name);
}

// ---- The node form ----

function exitSelect(name, value, optional) {
  const select = el('select', { name, className: 'exit', required: !optional });
  if (optional || !value) select.append(new Option(optional ? '—' : t('missing'), ''));
  for (const other of Object.keys(doc.nodes)) select.append(new Option(other, other));
  if (value && !doc.nodes[value]) select.append(new Option(`${value} ⚠`, value));
  select.value = value ?? '';
  return select;
}

function optionsField(node) {
  const rows = el('div', { id: 'option-rows' });
  const add = el('button', { type: 'button', className: 'action', id: 'add-option', textContent: t('addOption') });
  const row = (key, next) => {
    const keyInput = el('input', { name: 'option-key', value: key, maxLength: 1, size: 2, autocomplete: 'off', attrs: { 'aria-label': t('optionKey') } });
    const nextSelect = exitSelect('option-next', next, true);
    nextSelect.setAttribute('aria-label', t('optionNext'));
    const r = el('div', { className: 'option-row' }, keyInput, nextSelect);
    r.append(button(t('remove'), () => { r.remove(); edited(); add.focus(); }));
    rows.append(r);
    return keyInput;
  };
  for (const [key, next] of Object.entries(isObject(node.options) ? node.options : {})) row(key, next);
  // A row with no key yet changes nothing in the node.
  add.onclick = () => row('', '').focus();
  return el('fieldset', { className: 'skills' }, el('legend', {}, `${t('fieldOptions')} `, code('options')), rows, add, errorSpan('options'));
}

function hoursField(node) {
  const hours = isObject(node.hours) ? node.hours : {};
  const ranges = (day) => (Array.isArray(hours[day]) ? hours[day].map((r) => (Array.isArray(r) ? r.join('-') : String(r))).join(', ') : '');
  const days = weekdays.map((day) => el('label', {}, el('span', { textContent: t(`day${cap(day)}`) }), el('input', { name: `hours-${day}`, value: ranges(day), autocomplete: 'off' })));
  return el('fieldset', { className: 'skills thresholds' }, el('legend', {}, `${t('fieldHours')} `, code('hours')), ...days, errorSpan('hours'));
}

function skillsField(node) {
  const rows = el('div', { id: 'skill-rows' });
  const add = el('button', { type: 'button', className: 'action', id: 'add-skill', textContent: t('addSkill') });
  skills = skillsEditor(rows);
  skills.set(isObject(node.skills) ? node.skills : {});
  add.onclick = () => { skills.add('', 5); rows.lastElementChild.querySelector('input').focus(); };
  // The editor's remove buttons take a row away without an input event.
  rows.addEventListener('click', (event) => { if (event.target.tagName === 'BUTTON') edited(); });
  return el('fieldset', { className: 'skills' }, el('legend', {}, `${t('fieldSkills')} `, code('skills')), rows, add, errorSpan('skills'));
}

function fieldFor(node, [field, kind, required = false, extra]) {
  const value = node[field];
  const input = (props) => el('input', { name: field, required, autocomplete: 'off', ...props });
  const joined = Array.isArray(value) ? value.join(', ') : value ?? '';
  switch (kind) {
    case 'media': return labelled(field, input({ value: joined, attrs: { list: 'media-list' }, data: { media: 'true' } }), 'wide');
    case 'list': return labelled(field, input({ value: joined }));
    case 'text': return labelled(field, input({ value: value ?? '', inputMode: field === 'extension' ? 'numeric' : 'text' }));
    case 'int': return labelled(field, input({ type: 'number', min: extra[0], max: extra[1], step: 1, value: value ?? '' }));
    case 'exit': return labelled(field, exitSelect(field, value, !required));
    case 'choice': case 'queue': {
      const select = el('select', { name: field, required });
      if (!required || value === undefined) select.append(new Option(required ? t('missing') : '—', ''));
      const choices = kind === 'queue' ? queues.map((q) => q.name) : extra;
      for (const choice of choices) select.append(new Option(field === 'as' ? t(`as${cap(choice)}`) : choice, choice));
      // A value the list does not have (a queue named by its id, say) is kept, not lost.
      if (value !== undefined && !choices.includes(value)) select.append(new Option(String(value), value));
      select.value = value ?? '';
      return labelled(field, select);
    }
    case 'bool': return el('label', { className: 'check' }, input({ type: 'checkbox', checked: value !== false }), el('span', {}, `${t(`field${cap(field)}`)} `, code(field)));
    case 'rules': {
      const label = labelled(field, el('textarea', { name: field, rows: 8, spellcheck: false, value: JSON.stringify(value ?? [], null, 2) }), 'wide');
      label.append(el('span', { className: 'hint', textContent: t('rulesHint') }));
      return label;
    }
    case 'options': return optionsField(node);
    case 'hours': return hoursField(node);
    default: return skillsField(node);
  }
}

function fillNodeForm() {
  const node = selected === null ? undefined : doc.nodes[selected];
  nodeForm.hidden = !node;
  $('no-node').hidden = Boolean(node);
  $('node-form-title').textContent = node ? `${t('node')}: ${selected}` : t('node');
  if (!node) return;
  localErrors.clear();
  const { elements } = nodeForm;
  elements.name.value = selected;
  if (![...elements.type.options].some((o) => o.value === node.type)) elements.type.append(new Option(String(node.type), node.type));
  elements.type.value = node.type;
  elements.language.value = node.language ?? '';
  elements.start.checked = doc.start === selected;
  // A flow always has a start: it moves by choosing another node's, not by unticking this one.
  elements.start.disabled = doc.start === selected;
  skills = null;
  $('node-fields').replaceChildren(...(types[node.type] ?? []).map((spec) => fieldFor(node, spec)));
  for (const span of nodeForm.querySelectorAll('.field-error')) span.textContent = '';
  for (const control of nodeForm.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
  $('node-problems').dataset.shown = '';
  if (!admin) {
    for (const control of nodeForm.elements) control.disabled = true;
    for (const b of nodeForm.querySelectorAll('button')) b.hidden = true;
  }
  showNodeProblems();
}

/** The selected node's problems: listed at the top of its form, and each by the field it names. */
function showNodeProblems() {
  if (selected === null || !doc.nodes[selected]) return;
  const messages = problemsOf(selected).map((p) => p.message);
  const list = $('node-problems');
  // Drawn again only when they change: the check runs after every edit.
  if (list.dataset.shown !== JSON.stringify(messages)) {
    list.replaceChildren(...messages.map((m) => el('li', { textContent: `⚠ ${m}` })));
    list.dataset.shown = JSON.stringify(messages);
  }
  list.hidden = messages.length === 0;
  // The server names the field: `nodes.<name>.<field>…` (`hours.mon`: that day's input).
  const byField = new Map([...localErrors].map(([field, message]) => [field, [message]]));
  const invalid = new Set(localErrors.keys());
  const prefix = `nodes.${selected}.`;
  for (const message of messages.filter((m) => m.startsWith(prefix))) {
    const [field, part] = message.slice(prefix.length).split(/[^A-Za-z]/);
    byField.set(field, [...(byField.get(field) ?? []), message.slice(prefix.length)]);
    invalid.add(field);
    if (field === 'hours' && weekdays.includes(part)) invalid.add(`hours-${part}`);
  }
  for (const span of $('node-fields').querySelectorAll('.field-error')) {
    const text = byField.get(span.dataset.for)?.join(' ') ?? '';
    if (span.textContent !== text) span.textContent = text;
  }
  for (const control of $('node-fields').querySelectorAll('[name]')) {
    if (invalid.has(control.name)) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  }
}

/** Reads the selected node's fields back from its form into the document. */
function readForm() {
  const node = doc.nodes[selected];
  const control = (name) => nodeForm.elements.namedItem(name);
  const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);
  if (control('language').value) node.language = control('language').value;
  else delete node.language;
  for (const [field, kind] of types[node.type] ?? []) {
    let value;
    if (kind === 'media' || kind === 'list') value = list(control(field).value);
    else if (kind === 'int') value = control(field).value === '' ? undefined : Number(control(field).value);
    else if (kind === 'bool') value = control(field).checked ? undefined : false;
    else if (kind === 'skills') value = skills.value();
    else if (kind === 'options') {
      value = Object.fromEntries([...nodeForm.querySelectorAll('.option-row')]
        .map((row) => [row.querySelector('[name="option-key"]').value.trim(), row.querySelector('[name="option-next"]').value]).filter(([key]) => key !== ''));
    } else if (kind === 'hours') {
      value = Object.fromEntries(weekdays.map((day) => [day, list(control(`hours-${day}`).value).map((range) => range.split('-').map((s) => s.trim()))])
        .filter(([, ranges]) => ranges.length > 0));
    } else if (kind === 'rules') {
      // Rules that are not JSON yet (being typed) keep the node's last good ones.
      try {
        value = JSON.parse(control(field).value);
        localErrors.delete(field);
      } catch (err) {
        localErrors.set(field, tf('badJson', err.message));
        continue;
      }
    } else value = control(field).value.trim() || undefined;
    if (value === undefined || (Array.isArray(value) && value.length === 0 && kind !== 'rules')) delete node[field];
    else node[field] = value;
  }
}

function edited() {
  readForm();
  changed();
}

/** After any edit: draw again, check (debounced), and the form too when `rebuild` (another node, type or set of nodes). */
function changed(rebuild = false) {
  dirty = true;
  $('flow-dirty').hidden = false;
  $('flow-status').textContent = '';
  draw(rebuild);
  scheduleCheck();
  if (diffFrom.value === 'editor' || diffTo.value === 'editor') void showDiff();
}

function draw(rebuild) {
  drawGraph();
  drawList();
  syncJson();
  walkLookups();
  if (rebuild) fillNodeForm();
  else showNodeProblems();
  const general = problems.filter((p) => !p.nodes?.some((n) => doc.nodes[n]));
  $('flow-problems').replaceChildren(...general.map((p) => el('li', { textContent: `⚠ ${p.message}` })));
  $('flow-problems').hidden = general.length === 0;
}

function rename(input) {
  const name = input.value.trim();
  const old = selected;
  if (name === old || refuse(nodeForm, 'name', !nodeNamePattern.test(name) ? t('nodeNameRule') : doc.nodes[name] ? t('nodeNameTaken') : '')) return;
  // Same place in the order (the layout's rows follow it), and every exit and the start follow the name.
  doc.nodes = Object.fromEntries(Object.entries(doc.nodes).map(([n, node]) => [n === old ? name : n, node]));
  for (const node of Object.values(doc.nodes)) retarget(node, old, name);
  if (doc.start === old) doc.start = name;
  problems = problems.map((p) => ({ ...p, nodes: p.nodes?.map((n) => (n === old ? name : n)) }));
  selected = name;
  // The form stays (the focus may already be on its next field); its lists of nodes take the new name.
  for (const option of nodeForm.querySelectorAll('select.exit option')) if (option.value === old) Object.assign(option, { value: name, textContent: name });
  $('node-form-title').textContent = `${t('node')}: ${name}`;
  changed();
}

function retype(type) {
  const old = doc.nodes[selected];
  doc.nodes[selected] = { type, ...(old.language ? { language: old.language } : {}) };
  changed(true);
}

nodeForm.addEventListener('submit', (event) => event.preventDefault());
nodeForm.addEventListener('input', (event) => {
  // The name, the type and the start change when done (change), not at each key.
  if (['name', 'type', 'start'].includes(event.target.name)) return;
  if (event.target.dataset.media) suggest(event.target);
  edited();
});
nodeForm.addEventListener('change', (event) => {
  const target = event.target;
  if (target.name === 'name') rename(target);
  else if (target.name === 'type') retype(target.value);
  else if (target.name === 'start' && !target.checked) target.checked = true;
  else if (target.name === 'start') {
    doc.start = selected;
    changed();
  }
});
nodeForm.addEventListener('focusin', (event) => { if (event.target.dataset?.media) suggest(event.target); });

/** The uploaded prompts as suggestions for the item being typed (after the last comma) of a media list. */
function suggest(input) {
  const cut = input.value.lastIndexOf(',');
  const head = cut < 0 ? '' : `${input.value.slice(0, cut + 1)} `;
  $('media-list').replaceChildren(...prompts.map((p) => el('option', { value: `${head}prompt:${p.name}` })));
}

$('remove-node').onclick = () => {
  if (!confirm(tf('confirmRemoveNode', selected))) return;
  const gone = selected;
  delete doc.nodes[gone];
  for (const node of Object.values(doc.nodes)) retarget(node, gone, undefined);
  selected = someNode();
  changed(true);
  $('node-list').querySelector('button[aria-current="true"]')?.focus();
};

addForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = addForm.elements.name.value.trim();
  if (refuse(addForm, 'name', !nodeNamePattern.test(name) ? t('nodeNameRule') : doc.nodes[name] ? t('nodeNameTaken') : '')) return;
  doc.nodes[name] = { type: addForm.elements.type.value };
  if (!doc.nodes[doc.start]) doc.start = name;
  selected = name;
  addForm.reset();
  changed(true);
  nodeForm.elements.name.focus();
});

$('flow-language').onchange = (event) => {
  if (event.target.value) doc.language = event.target.value;
  else delete doc.language;
  changed();
};

// ---- The check, the JSON, saving ----

let checkTimer;
let checkSeq = 0;
const scheduleCheck = () => { clearTimeout(checkTimer); checkTimer = setTimeout(check, 400); };

/** Asks the server for every problem of the document in the editor; null when it could not answer. */
async function check() {
  clearTimeout(checkTimer);
  const seq = (checkSeq += 1);
  let answer;
  try {
    answer = await api('/api/v1/ivr-flows/check', { method: 'POST', json: { document: doc } });
  } catch {
    // Without an answer the marks stay as they were; saving still gets the server's verdict.
    return null;
  }
  // An older check answering after a newer edit's is not shown.
  if (seq !== checkSeq) return answer.problems;
  problems = answer.problems;
  draw(false);
  return problems;
}

function syncJson() {
  const area = jsonForm.elements.json;
  // Not while it is being edited: the text typed there is not replaced.
  if (document.activeElement !== area) area.value = JSON.stringify(doc, null, 2);
}

jsonForm.addEventListener('submit', (event) => {
  event.preventDefault();
  let parsed;
  try {
    parsed = JSON.parse(jsonForm.elements.json.value);
  } catch (err) {
    return refuse(jsonForm, 'json', tf('badJson', err.message));
  }
  if (refuse(jsonForm, 'json', isObject(parsed) && isObject(parsed.nodes) && Object.values(parsed.nodes).every(isObject) ? '' : t('badDocument'))) return;
  doc = parsed;
  if (!doc.nodes[selected]) selected = someNode();
  $('flow-language').value = doc.language ?? '';
  changed(true);
});

function fillFlowSelect() {
  const select = $('flow-select');
  select.replaceChildren(...flows.map((f) => new Option(f.name, f.id)));
  if (flow && !flow.id) select.append(new Option(`${flow.name} (${t('notSaved')})`, ''));
  if (select.options.length === 0) select.append(new Option('—', ''));
  select.value = flow?.id ?? '';
}

/** Shows a document as the one open, nothing edited yet. */
function show(document_) {
  doc = document_;
  if (!doc.nodes[selected]) selected = someNode();
  dirty = false;
  fillFlowSelect();
  $('editor').hidden = false;
  $('flow-version').textContent = flow.id ? tf('versionN', flow.currentVersion) : t('notSaved');
  $('flow-dirty').hidden = true;
  $('flow-language').value = doc.language ?? '';
  draw(true);
}

/** Forgets the last walk: its path and its marks on the graph. */
function clearWalk() {
  walked = { nodes: new Set(), edges: new Set() };
  $('walk-path').replaceChildren();
  for (const id of ['walk-end', 'walk-variables']) $(id).textContent = '';
}

/** What belongs to the flow open before another is: the node chosen, its problems, its versions, the walk. */
function forget() {
  selected = null;
  problems = [];
  versionDocs.clear();
  clearWalk();
}

async function openFlow(id) {
  flow = await api(`/api/v1/ivr-flows/${encodeURIComponent(id)}`);
  forget();
  show(flow.document);
  await Promise.all([loadVersions(), check()]);
}

$('flow-select').onchange = async (event) => {
  if (dirty && !confirm(t('discardChanges'))) event.target.value = flow?.id ?? '';
  else if (event.target.value) await openFlow(event.target.value);
};

$('new-flow-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = $('new-flow-name').value.trim();
  const bad = !flowNamePattern.test(name) ? t('flowNameRule') : flows.some((f) => f.name === name) ? t('flowNameTaken') : '';
  if (refuse(event.target, 'name', bad) || (dirty && !confirm(t('discardChanges')))) return;
  // A new flow lives in the page until it is saved (POST): one node that hangs up, valid as it is.
  flow = { id: null, name, currentVersion: null };
  forget();
  event.target.reset();
  show({ start: t('firstNode'), nodes: { [t('firstNode')]: { type: 'hangup' } } });
  dirty = true;
  $('flow-dirty').hidden = false;
  await Promise.all([loadVersions(), check()]);
});

let saving = false;
$('save-flow').onclick = async () => {
  if (saving) return;
  saving = true;
  alertIn('flow-error', null);
  $('flow-status').textContent = '';
  try {
    const found = await check();
    if (found && found.length > 0) return alertIn('flow-error', tf('flowProblems', found.length));
    const saved = flow.id ? await api(`/api/v1/ivr-flows/${flow.id}`, { method: 'PUT', json: { document: doc } })
      : await api('/api/v1/ivr-flows', { method: 'POST', json: { name: flow.name, document: doc } });
    flows = await api('/api/v1/ivr-flows');
    flow = saved;
    show(saved.document);
    $('flow-status').textContent = tf('savedVersion', saved.currentVersion);
    await loadVersions();
  } catch (err) {
    // The refusal lists its problems as text only: the check gives them again with their nodes, to mark them.
    if (err instanceof ApiError && err.code === 'invalid_flow') await check();
    alertIn('flow-error', err.message);
  } finally {
    saving = false;
  }
};

// ---- Versions ----

const when = (iso) => new Date(iso).toLocaleString(lang === 'es' ? 'es-ES' : 'en-GB');

async function loadVersions() {
  versions = flow?.id ? (await api(`/api/v1/ivr-flows/${flow.id}/versions`)).sort((a, b) => b.version - a.version) : [];
  const body = $('versions').querySelector('tbody');
  body.replaceChildren(...versions.map((v) => {
    const actions = el('td');
    if (admin && v.version !== flow.currentVersion) {
      const restore = button(t('restore'), () => restoreVersion(v.version));
      restore.dataset.restore = String(v.version);
      actions.append(restore);
    }
    return el('tr', { data: { version: String(v.version) } },
      el('td', { textContent: `${v.version}${v.version === flow.currentVersion ? ` (${t('current')})` : ''}` }), el('td', { textContent: when(v.createdAt) }), actions);
  }));
  for (const select of [diffFrom, diffTo]) {
    select.replaceChildren(...versions.map((v) => new Option(tf('versionN', v.version), String(v.version))), new Option(t('editorVersion'), 'editor'));
  }
  diffFrom.value = String(versions[1]?.version ?? versions[0]?.version ?? 'editor');
  diffTo.value = String(versions[0]?.version ?? 'editor');
  await showDiff();
}

async function restoreVersion(version) {
  if (!confirm(tf('confirmRestore', version))) return;
  alertIn('versions-error', null);
  try {
    flow = await api(`/api/v1/ivr-flows/${flow.id}/restore`, { method: 'POST', json: { version } });
    flows = await api('/api/v1/ivr-flows');
    show(flow.document);
    $('flow-status').textContent = tf('restoredVersion', flow.currentVersion);
    await Promise.all([loadVersions(), check()]);
  } catch (err) {
    alertIn('versions-error', err.message);
  }
}

async function versionDoc(value) {
  if (value === 'editor') return doc;
  if (!versionDocs.has(value)) versionDocs.set(value, (await api(`/api/v1/ivr-flows/${flow.id}/versions/${value}`)).document);
  return versionDocs.get(value);
}

/** What changed from one document to another: start, language, nodes added and removed, and each changed field. */
function differences(a, b) {
  const items = [];
  for (const key of ['start', 'language']) if (shown(a[key]) !== shown(b[key])) items.push(el('li', {}, code(key), `: ${shown(a[key])} → ${shown(b[key])}`));
  const before = isObject(a.nodes) ? a.nodes : {};
  const after = isObject(b.nodes) ? b.nodes : {};
  for (const name of Object.keys(after)) if (!(name in before)) items.push(el('li', {}, `${t('nodeAdded')}: `, el('strong', { textContent: name }), ` (${typeLabel(after[name].type)})`));
  for (const name of Object.keys(before)) if (!(name in after)) items.push(el('li', {}, `${t('nodeRemoved')}: `, el('strong', { textContent: name }), ` (${typeLabel(before[name].type)})`));
  for (const name of Object.keys(after).filter((n) => n in before)) {
    const fields = [...new Set([...Object.keys(before[name]), ...Object.keys(after[name])])].filter((f) => shown(before[name][f]) !== shown(after[name][f]));
    if (fields.length === 0) continue;
    const changes = fields.map((f) => el('li', {}, code(f), `: ${shown(before[name][f])} → ${shown(after[name][f])}`));
    items.push(el('li', {}, `${t('nodeChanged')}: `, el('strong', { textContent: name }), el('ul', {}, ...changes)));
  }
  return items;
}

let diffSeq = 0;
async function showDiff() {
  const seq = (diffSeq += 1);
  const out = $('diff');
  try {
    const [a, b] = await Promise.all([versionDoc(diffFrom.value), versionDoc(diffTo.value)]);
    if (seq !== diffSeq) return;
    const items = differences(a, b);
    out.replaceChildren(items.length ? el('ul', {}, ...items) : el('p', { className: 'note', textContent: t('noChanges') }));
  } catch (err) {
    out.replaceChildren(el('p', { className: 'error', textContent: err.message }));
  }
}
diffFrom.onchange = showDiff;
diffTo.onchange = showDiff;

// ---- The walk ----

/** One answer per lookup node of the document (kept by name while the nodes change). */
function walkLookups() {
  const box = $('walk-lookups');
  const names = Object.entries(doc.nodes).filter(([, node]) => node.type === 'lookup').map(([name]) => name);
  const areas = [...box.querySelectorAll('textarea')];
  if (stableJson(areas.map((a) => a.name)) === stableJson(names.map((n) => `lookup-${n}`))) return;
  const kept = new Map(areas.map((a) => [a.name, a.value]));
  box.replaceChildren(...names.map((name) => el('label', { className: 'wide' }, el('span', { textContent: tf('lookupAnswer', name) }),
    el('textarea', { name: `lookup-${name}`, rows: 3, spellcheck: false, value: kept.get(`lookup-${name}`) ?? '' }), errorSpan(`lookup-${name}`))));
  box.hidden = names.length === 0;
}

/** What a step decided, in words, from its detail (the same as a call's trace); anything else as it came. */
function decided(detail) {
  const d = { ...detail };
  const take = (key) => { const value = d[key]; delete d[key]; return value; };
  const parts = [];
  const outcome = take('outcome');
  const outcomes = { timeout: 'walkTimeout', invalid: 'walkInvalid', too_short: 'walkTooShort' };
  if (outcome === 'default') parts.push(`${t('walkDefault')} → ${take('next') ?? '—'}`);
  else if (outcome !== undefined) parts.push(outcomes[outcome] ? t(outcomes[outcome]) : String(outcome));
  if ('matched' in d) {
    const matched = take('matched');
    parts.push(matched === null ? t('walkElse') : `${t('rule')} ${Number(matched) + 1}`);
  }
  if ('open' in d) parts.push(t(take('open') ? 'walkOpen' : 'walkClosed'));
  if ('error' in d) parts.push(`${t('walkFailed')}: ${take('error')}${d.reason ? ` (${take('reason')})` : ''}`);
  if ('result' in d) {
    take('status');
    parts.push(`${t('walkAnswered')}: ${stableJson(take('result'))}`);
  }
  if ('variable' in d && 'value' in d && 'as' in d) parts.push(`${take('variable')} = ${take('value')} (${t(`as${cap(String(take('as')))}`)})`);
  const attempt = take('attempt');
  if (attempt > 1) parts.push(`${t('attempt')} ${attempt}`);
  // The language shows with what is played; no skills is nothing to say.
  take('language');
  if (isObject(d.skills) && Object.keys(d.skills).length === 0) take('skills');
  const words = { priority: 'typeSetPriority', queue: 'queue', extension: 'extension', skills: 'skills', at: 'walkAt' };
  for (const [key, value] of Object.entries(d)) parts.push(`${words[key] ? t(words[key]) : key}: ${typeof value === 'string' ? value : stableJson(value)}`);
  return parts.join(' · ');
}

function endText(end) {
  const skillsText = isObject(end.skills) && Object.keys(end.skills).length
    ? `; ${t('skills').toLowerCase()}: ${Object.entries(end.skills).map(([k, v]) => `${k} ${v}`).join(', ')}` : '';
  switch (end.kind) {
    case 'queue': return `${tf('endQueue', end.queue, end.priority ?? 0)}${skillsText}`;
    case 'transfer': return tf('endTransfer', end.extension);
    case 'hangup': return tf('endHangup', end.node ?? '—');
    case 'waitingForKeys': return tf('endWaiting', end.node ?? '—');
    case 'stopped': return tf('endStopped', end.node ?? '—');
    default: return tf('endEnded', end.node ?? '—');
  }
}

function showWalk(result) {
  $('walk-path').replaceChildren(...result.steps.map((step) => {
    const li = el('li', { data: { node: step.node } }, el('strong', { textContent: step.node }), ` (${typeLabel(step.type)})`);
    if (step.input !== null && step.input !== undefined) li.append(` · ${tf('pressed', step.input === '' ? '—' : step.input)}`);
    const what = decided(step.detail ?? {});
    if (what) li.append(` · ${what}`);
    for (const played of step.played ?? []) li.append(el('div', { className: 'played', textContent: `${t('plays')} (${played.language}): ${played.media.join(', ')}` }));
    return li;
  }));
  $('walk-end').textContent = endText(result.end);
  const variables = Object.entries(result.variables ?? {});
  $('walk-variables').textContent = variables.length ? `${t('variables')}: ${variables.map(([k, v]) => `${k} = ${v}`).join(', ')}` : '';
  const edges = new Set();
  result.steps.forEach((step, i) => {
    const next = result.steps[i + 1];
    if (next && next.node !== step.node) edges.add(`${step.node}\n${next.node}`);
  });
  walked = { nodes: new Set(result.steps.map((s) => s.node)), edges };
  drawGraph();
}

/** A date for datetime-local: the browser's local time, to the minute. */
const now = new Date();
walkForm.elements.at.value = new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

walkForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  showFieldErrors(walkForm, null);
  alertIn('walk-error', null);
  // "1, , 1234#": an empty item is a wait without a key (a timeout).
  const typed = walkForm.elements.keys.value;
  const keys = typed.trim() === '' ? [] : typed.split(',').map((k) => k.trim());
  if (keys.some((k) => !/^[0-9*#]{0,40}$/.test(k))) return refuse(walkForm, 'keys', t('walkKeysRule'));
  const lookups = {};
  for (const area of walkForm.querySelectorAll('#walk-lookups textarea')) {
    // Empty: the lookup fails (the flow takes onError).
    try {
      lookups[area.name.slice('lookup-'.length)] = area.value.trim() === '' ? null : JSON.parse(area.value);
    } catch (err) {
      return refuse(walkForm, area.name, tf('badJson', err.message));
    }
  }
  const at = walkForm.elements.at.value;
  const caller = walkForm.elements.caller.value.trim();
  const did = walkForm.elements.did.value.trim();
  const json = { document: doc, keys, lookups, ...(at ? { at: new Date(at).toISOString() } : {}), ...(caller ? { caller } : {}), ...(did ? { did } : {}) };
  try {
    showWalk(await api('/api/v1/ivr-flows/walk', { method: 'POST', json }));
  } catch (err) {
    clearWalk();
    // A flow with problems: they are marked on their nodes; a refused field (body/keys…) is shown by it.
    if (err instanceof ApiError && err.code === 'invalid_flow') await check();
    else drawGraph();
    if (!(err instanceof ApiError) || !showFieldErrors(walkForm, err)) alertIn('walk-error', err.message);
  }
});

// ---- Start: the flow named in the address (?flow=id), else the first ----

const wanted = new URLSearchParams(location.search).get('flow');
const first = flows.find((f) => f.id === wanted) ?? flows[0];
if (first) await openFlow(first.id);
else fillFlowSelect();
