/**
 * IVR flows as data: the document shape and its validation, pure. A flow is
 * a start node and named nodes; every problem in a document is reported at
 * once so an operator can fix them in one go.
 */

export const languages = ['es', 'en'] as const;
export type Language = (typeof languages)[number];
export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

interface Base { language?: Language }
export interface PlayNode extends Base { type: 'play'; media: string[]; next?: string }
export interface MenuNode extends Base {
  type: 'menu'; prompt: string[]; options: Record<string, string>;
  timeoutMs?: number; retries?: number; invalidPrompt?: string[]; timeoutPrompt?: string[]; default?: string;
}
export interface CollectNode extends Base {
  type: 'collect'; prompt: string[]; variable: string; minDigits?: number; maxDigits: number;
  terminator?: boolean; timeoutMs?: number; retries?: number; invalidPrompt?: string[]; next: string; onFail?: string;
}
export interface SayNode extends Base { type: 'say'; variable: string; as: 'digits' | 'number' | 'characters'; next?: string }
export interface LookupNode extends Base {
  type: 'lookup'; url: string; method?: 'GET' | 'POST'; timeoutMs?: number; send?: string[]; next: string; onError: string;
}
export interface ConditionRule {
  variable?: string; op?: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'exists' | 'in';
  value?: string | number | string[]; callerIn?: string[]; next: string;
}
export interface ConditionNode extends Base { type: 'condition'; rules: ConditionRule[]; else: string }
export interface ScheduleNode extends Base {
  type: 'schedule'; timezone: string; hours: Partial<Record<Weekday, [string, string][]>>; holidays?: string[]; open: string; closed: string;
}
export interface SetPriorityNode extends Base { type: 'setPriority'; priority: number; next: string }
export interface SetSkillsNode extends Base { type: 'setSkills'; skills: Record<string, number>; next: string }
export interface QueueNode extends Base { type: 'queue'; queue: string }
export interface TransferNode extends Base { type: 'transfer'; extension: string }
export interface HangupNode extends Base { type: 'hangup'; media?: string[] }

export type FlowNode = PlayNode | MenuNode | CollectNode | SayNode | LookupNode | ConditionNode | ScheduleNode
  | SetPriorityNode | SetSkillsNode | QueueNode | TransferNode | HangupNode;
export type NodeType = FlowNode['type'];
export const nodeTypes: readonly NodeType[] = ['play', 'menu', 'collect', 'say', 'lookup', 'condition', 'schedule', 'setPriority', 'setSkills', 'queue', 'transfer', 'hangup'];

export interface FlowDocument { start: string; language?: Language; nodes: Record<string, FlowNode> }

/** Media a node may play: Asterisk sounds, uploaded prompts, and what ARI can say or sound. */
const mediaPattern = /^(sound:[A-Za-z0-9_/.-]+|prompt:[a-z0-9][a-z0-9_-]{0,63}|digits:[0-9*#]{1,40}|number:-?[0-9]{1,12}|characters:[A-Za-z0-9]{1,40}|tone:[A-Za-z0-9/,+!.;=]{1,200})$/;
const variablePattern = /^[A-Za-z_][A-Za-z0-9_.]{0,63}$/;
const timePattern = /^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/;

/** The nodes a node can lead to. */
export function targetsOf(node: FlowNode): string[] {
  switch (node.type) {
    case 'play': case 'say': return node.next ? [node.next] : [];
    case 'menu': return [...Object.values(node.options ?? {}), ...(node.default ? [node.default] : [])];
    case 'collect': return [node.next, ...(node.onFail ? [node.onFail] : [])];
    case 'lookup': return [node.next, node.onError];
    case 'condition': return [...(node.rules ?? []).map((r) => r.next), node.else];
    case 'schedule': return [node.open, node.closed];
    case 'setPriority': case 'setSkills': return [node.next];
    case 'queue': case 'transfer': case 'hangup': return [];
  }
}

const asksTheCaller = (node: FlowNode): boolean => node.type === 'menu' || node.type === 'collect';

type Check = (ok: boolean, problem: string) => void;

function checkNode(name: string, node: Record<string, unknown>, check: Check): void {
  const at = `nodes.${name}`;
  const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  const media = (field: string, required: boolean): void => {
    const value = node[field];
    if (value === undefined && !required) return;
    if (!Array.isArray(value) || value.length === 0) return check(false, `${at}.${field} must be a non-empty list of media`);
    value.forEach((m, i) => check(typeof m === 'string' && mediaPattern.test(m),
      `${at}.${field}[${i}] is not playable media (sound:, prompt:, digits:, number:, characters: or tone:): ${JSON.stringify(m)}`));
  };
  const target = (field: string, required = true): void => {
    if (node[field] === undefined && !required) return;
    check(isString(node[field]), `${at}.${field} must name the next node`);
  };
  const int = (field: string, min: number, max: number): void => {
    const value = node[field];
    if (value === undefined) return;
    check(Number.isInteger(value) && (value as number) >= min && (value as number) <= max, `${at}.${field} must be a whole number from ${min} to ${max}`);
  };
  const variable = (field: string): void => check(isString(node[field]) && variablePattern.test(node[field] as string), `${at}.${field} must be a variable name`);
  if (node.language !== undefined) check((languages as readonly unknown[]).includes(node.language), `${at}.language must be one of ${languages.join(', ')}`);

  switch (node.type as NodeType) {
    case 'play': media('media', true); target('next', false); break;
    case 'menu': {
      media('prompt', true); media('invalidPrompt', false); media('timeoutPrompt', false);
      int('timeoutMs', 1000, 60_000); int('retries', 0, 10); target('default', false);
      const options = node.options;
      if (typeof options !== 'object' || options === null || Array.isArray(options) || Object.keys(options).length === 0) {
        check(false, `${at}.options must map keys (0-9, *, #) to nodes`);
      } else {
        for (const [key, next] of Object.entries(options)) {
          check(/^[0-9*#]$/.test(key), `${at}.options: ${JSON.stringify(key)} is not a phone key`);
          check(isString(next), `${at}.options.${key} must name the next node`);
        }
      }
      break;
    }
    case 'collect':
      media('prompt', true); media('invalidPrompt', false); variable('variable');
      int('minDigits', 1, 40); int('maxDigits', 1, 40); int('timeoutMs', 1000, 60_000); int('retries', 0, 10);
      check(node.maxDigits !== undefined, `${at}.maxDigits is required`);
      if (Number.isInteger(node.minDigits) && Number.isInteger(node.maxDigits)) {
        check((node.minDigits as number) <= (node.maxDigits as number), `${at}.minDigits must not exceed maxDigits`);
      }
      if (node.terminator !== undefined) check(typeof node.terminator === 'boolean', `${at}.terminator must be true or false`);
      target('next'); target('onFail', false);
      break;
    case 'say':
      variable('variable');
      check(['digits', 'number', 'characters'].includes(node.as as string), `${at}.as must be digits, number or characters`);
      target('next', false);
      break;
    case 'lookup': {
      let url: URL | undefined;
      try { url = new URL(String(node.url)); } catch { /* reported below */ }
      check(url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:'), `${at}.url must be an http(s) URL`);
      if (node.method !== undefined) check(node.method === 'GET' || node.method === 'POST', `${at}.method must be GET or POST`);
      int('timeoutMs', 100, 3000);
      if (node.send !== undefined) {
        check(Array.isArray(node.send) && node.send.every((v) => typeof v === 'string' && variablePattern.test(v)), `${at}.send must be a list of variable names`);
      }
      target('next'); target('onError');
      break;
    }
    case 'condition': {
      const rules = node.rules;
      if (!Array.isArray(rules) || rules.length === 0) check(false, `${at}.rules must be a non-empty list`);
      else rules.forEach((rule: Record<string, unknown>, i) => {
        const where = `${at}.rules[${i}]`;
        check(isString(rule?.next), `${where}.next must name the next node`);
        if (rule?.callerIn !== undefined) {
          check(Array.isArray(rule.callerIn) && rule.callerIn.every((n) => typeof n === 'string'), `${where}.callerIn must be a list of numbers`);
        } else {
          check(isString(rule?.variable) && variablePattern.test(rule.variable as string), `${where}.variable must be a variable name (or give callerIn)`);
          check(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'exists', 'in'].includes(rule?.op as string), `${where}.op must be eq, ne, gt, gte, lt, lte, exists or in`);
          if (rule?.op === 'in') check(Array.isArray(rule.value), `${where}.value must be a list for op in`);
          else if (rule?.op !== 'exists') check(typeof rule?.value === 'string' || typeof rule?.value === 'number', `${where}.value must be a string or a number`);
        }
      });
      target('else');
      break;
    }
    case 'schedule': {
      let zoneOk = typeof node.timezone === 'string';
      try { if (zoneOk) new Intl.DateTimeFormat('en', { timeZone: node.timezone as string }); } catch { zoneOk = false; }
      check(zoneOk, `${at}.timezone must be an IANA time zone such as Europe/Madrid`);
      const hours = node.hours;
      if (typeof hours !== 'object' || hours === null || Array.isArray(hours)) check(false, `${at}.hours must map weekdays (mon..sun) to [from, to] ranges`);
      else for (const [day, ranges] of Object.entries(hours)) {
        check((weekdays as readonly string[]).includes(day), `${at}.hours.${day} is not a weekday (mon..sun)`);
        check(Array.isArray(ranges) && ranges.every((r) => Array.isArray(r) && r.length === 2 && r.every((t) => typeof t === 'string' && timePattern.test(t)) && r[0] < r[1]),
          `${at}.hours.${day} must be a list of ["HH:MM", "HH:MM"] ranges, each ending after it starts`);
      }
      if (node.holidays !== undefined) {
        check(Array.isArray(node.holidays) && node.holidays.every((d) => typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d)), `${at}.holidays must be a list of YYYY-MM-DD dates`);
      }
      target('open'); target('closed');
      break;
    }
    case 'setPriority': int('priority', 0, 100); check(node.priority !== undefined, `${at}.priority is required`); target('next'); break;
    case 'setSkills': {
      const skills = node.skills;
      check(typeof skills === 'object' && skills !== null && !Array.isArray(skills)
        && Object.entries(skills).every(([k, v]) => /^[a-z][a-z0-9_-]{0,31}$/.test(k) && Number.isInteger(v) && v >= 1 && v <= 10),
      `${at}.skills must map skill names to levels 1-10`);
      target('next');
      break;
    }
    case 'queue': check(isString(node.queue), `${at}.queue must name a queue`); break;
    case 'transfer': check(typeof node.extension === 'string' && /^[0-9]{2,10}$/.test(node.extension), `${at}.extension must be an extension number`); break;
    case 'hangup': media('media', false); break;
    default: check(false, `${at}.type ${JSON.stringify(node.type)} is not a node type (${nodeTypes.join(', ')})`);
  }
}

/** Strongly connected components (Tarjan), to find loops. */
function loops(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexes = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indexes.set(v, index); low.set(v, index); index += 1;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexes.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexes.get(w)!));
    }
    if (low.get(v) === indexes.get(v)) {
      const component: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.reverse());
    }
  };
  for (const v of graph.keys()) if (!indexes.has(v)) visit(v);
  return found;
}

/** Every problem of a flow document; empty when it can be saved. */
export function validateFlow(input: unknown): string[] {
  const problems: string[] = [];
  const check: Check = (ok, problem) => { if (!ok) problems.push(problem); };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return ['the flow must be a JSON object with start and nodes'];
  const doc = input as Record<string, unknown>;
  const nodes = doc.nodes;
  if (typeof nodes !== 'object' || nodes === null || Array.isArray(nodes) || Object.keys(nodes).length === 0) {
    return ['nodes must be an object of named nodes, with at least one'];
  }
  if (doc.language !== undefined) check((languages as readonly unknown[]).includes(doc.language), `language must be one of ${languages.join(', ')}`);
  const named = nodes as Record<string, Record<string, unknown>>;
  for (const [name, node] of Object.entries(named)) {
    check(/^[A-Za-z0-9_-]{1,64}$/.test(name), `node name ${JSON.stringify(name)} may only use letters, digits, _ and -`);
    if (typeof node !== 'object' || node === null || Array.isArray(node)) check(false, `nodes.${name} must be an object`);
    else checkNode(name, node, check);
  }
  check(typeof doc.start === 'string' && doc.start in named, `start must name one of the nodes${typeof doc.start === 'string' ? ` (there is no ${doc.start})` : ''}`);

  const graph = new Map<string, string[]>();
  for (const [name, node] of Object.entries(named)) {
    if (typeof node !== 'object' || node === null || !nodeTypes.includes(node.type as NodeType)) { graph.set(name, []); continue; }
    const targets = targetsOf(node as unknown as FlowNode).filter((t) => typeof t === 'string');
    for (const t of targets) check(t in named, `nodes.${name} leads to ${t}, which is not a node`);
    graph.set(name, targets.filter((t) => t in named));
  }
  if (typeof doc.start === 'string' && doc.start in named) {
    const seen = new Set<string>([doc.start]);
    const todo = [doc.start];
    while (todo.length > 0) for (const t of graph.get(todo.pop()!) ?? []) if (!seen.has(t)) { seen.add(t); todo.push(t); }
    for (const name of Object.keys(named)) check(seen.has(name), `nodes.${name} cannot be reached from start`);
  }
  for (const loop of loops(graph)) {
    const silent = loop.every((name) => !asksTheCaller(named[name] as unknown as FlowNode));
    check(!silent, `nodes ${loop.join(' → ')} → ${loop[0]} loop without asking the caller anything (add a menu or collect)`);
  }
  return problems;
}
