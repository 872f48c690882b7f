/**
 * IVR flows as data: the document shape and its validation, pure. A flow is
 * a start node and named nodes; every problem in a document is reported at
 * once so an operator can fix them in one go. What each node type accepts
 * is its own module's (nodes/, listed in nodes/registry.ts); this file
 * checks what is common and the graph: targets, reachability, silent loops.
 */
import { languages, mediaPattern, variablePattern, type Language, type NodeChecks } from './nodes/kind.js';
import { kindOf, nodeTypes, type FlowNode } from './nodes/registry.js';

export { languages, type Language } from './nodes/kind.js';
export { nodeTypes, type FlowNode, type NodeType } from './nodes/registry.js';
export { weekdays, type Weekday, type ScheduleNode } from './nodes/schedule.js';
export type { PlayNode } from './nodes/play.js';
export type { MenuNode } from './nodes/menu.js';
export type { CollectNode } from './nodes/collect.js';
export type { SayNode } from './nodes/say.js';
export type { LookupNode } from './nodes/lookup.js';
export type { ConditionNode, ConditionRule } from './nodes/condition.js';
export type { SetPriorityNode } from './nodes/set-priority.js';
export type { SetSkillsNode } from './nodes/set-skills.js';
export type { QueueNode } from './nodes/queue.js';
export type { TransferNode } from './nodes/transfer.js';
export type { HangupNode } from './nodes/hangup.js';
export type { SurveyOptInNode } from './nodes/survey-opt-in.js';

export interface FlowDocument { start: string; language?: Language; nodes: Record<string, FlowNode> }

/** The nodes a node can lead to. */
export function targetsOf(node: FlowNode): string[] {
  return kindOf(node.type)?.targets(node) ?? [];
}

const asksTheCaller = (node: FlowNode): boolean => kindOf(node.type)?.asksTheCaller === true;

type Check = (ok: boolean, problem: string) => void;

function checkNode(name: string, node: Record<string, unknown>, check: Check): void {
  const at = `nodes.${name}`;
  const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  const checks: NodeChecks = {
    at, check, isString,
    media: (field, required) => {
      const value = node[field];
      if (value === undefined && !required) return;
      if (!Array.isArray(value) || value.length === 0) return check(false, `${at}.${field} must be a non-empty list of media`);
      value.forEach((m, i) => check(typeof m === 'string' && mediaPattern.test(m),
        `${at}.${field}[${i}] is not playable media (sound:, prompt:, digits:, number:, characters: or tone:): ${JSON.stringify(m)}`));
    },
    target: (field, required = true) => {
      if (node[field] === undefined && !required) return;
      check(isString(node[field]), `${at}.${field} must name the next node`);
    },
    int: (field, min, max) => {
      const value = node[field];
      if (value === undefined) return;
      check(Number.isInteger(value) && (value as number) >= min && (value as number) <= max, `${at}.${field} must be a whole number from ${min} to ${max}`);
    },
    variable: (field) => check(isString(node[field]) && variablePattern.test(node[field] as string), `${at}.${field} must be a variable name`),
  };
  if (node.language !== undefined) check((languages as readonly unknown[]).includes(node.language), `${at}.language must be one of ${languages.join(', ')}`);
  const kind = kindOf(node.type);
  if (kind) kind.validate(node, checks);
  else check(false, `${at}.type ${JSON.stringify(node.type)} is not a node type (${nodeTypes.join(', ')})`);
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
    if (typeof node !== 'object' || node === null || !kindOf(node.type)) { graph.set(name, []); continue; }
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
