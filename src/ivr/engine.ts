import type { AriClient } from '../asterisk/ari.js';
import type { DigitCollector } from '../asterisk/dtmf.js';
import type { Logger } from '../core/logger.js';
import { OutboundFailed, OutboundRefused, type OutboundPolicy } from '../core/outbound.js';
import type { FlowDocument, FlowNode, Language, LookupNode } from './flow.js';
import { defaultSiteOptions } from '../core/config.js';
import { isOpen, ruleHolds } from './rules.js';

export interface IvrCall { channelId: string; callId: string; caller: string; did: string }

/** What the queue that follows an IVR receives. */
export interface QueueRequest { queue: string; priority: number; skills: Record<string, number>; language: Language; variables: Record<string, string> }

export interface TraceEntry { node: string; type: FlowNode['type']; input: string | null; detail: Record<string, unknown> }

export interface EngineDeps {
  ari: AriClient;
  digits: DigitCollector;
  logger: Logger;
  clock: () => Date;
  trace: (entry: TraceEntry) => void;
  /** Takes the call over at a queue node; 'released' when the channel left Stasis. */
  queue: (call: IvrCall, request: QueueRequest) => Promise<void | 'released'>;
  /** Asterisk media for an uploaded prompt. */
  promptMedia: (name: string) => string;
  /** Where lookups may go (CENTRALITA_LOOKUP_ALLOW), how, and how much of an answer is read. */
  outbound: OutboundPolicy;
  /** The dialplan context a transfer node continues in (CENTRALITA_TRANSFER_CONTEXT; default centralita-transfer). */
  transferContext?: string;
}

export interface RunningFlow { id: string; version: number; document: FlowDocument }

/** Where a call taken over after a restart goes on, and what it had gathered. */
export interface ResumePoint {
  /** The node to run next; undefined when the flow had finished. */
  node: string | undefined;
  variables: Record<string, string>;
  priority: number;
  skills: Record<string, number>;
  language: Language;
}

/**
 * Replays a call's trace (the steps of one flow version, in order) to find
 * where it stood: the variables collected and looked up, priority, skills
 * and language, and the node to run next. A node traced on entry (play, say,
 * queue, transfer, hangup) runs again; a node traced once done (menu, collect,
 * lookup, condition, schedule, setPriority, setSkills) goes on to the branch
 * it took; a menu or collect whose last attempt failed asks again.
 */
export function resumePoint(document: FlowDocument, trace: readonly Pick<TraceEntry, 'node' | 'input' | 'detail'>[], startLanguage: Language): ResumePoint {
  const variables: Record<string, string> = {};
  let language: Language = document.language ?? startLanguage;
  let priority = 0;
  let skills: Record<string, number> = {};
  let node: string | undefined = document.start;
  for (const step of trace) {
    const def = document.nodes[step.node];
    if (!def) continue;
    if (def.language) language = def.language;
    const detail = step.detail;
    node = step.node;
    switch (def.type) {
      case 'menu':
        if (detail.outcome === 'default') node = typeof detail.next === 'string' ? detail.next : undefined;
        else if (detail.outcome === undefined && step.input !== null) node = def.options[step.input];
        break;
      case 'collect':
        if (typeof detail.variable === 'string' && step.input !== null) {
          variables[detail.variable] = step.input;
          node = def.next;
        }
        break;
      case 'lookup':
        if (typeof detail.result === 'object' && detail.result !== null) Object.assign(variables, detail.result);
        node = 'error' in detail ? def.onError : def.next;
        break;
      case 'condition':
        node = typeof detail.next === 'string' ? detail.next : undefined;
        break;
      case 'schedule':
        node = detail.open === true ? def.open : def.closed;
        break;
      case 'setPriority':
        priority = typeof detail.priority === 'number' ? detail.priority : def.priority;
        node = def.next;
        break;
      case 'setSkills':
        skills = { ...skills, ...def.skills };
        node = def.next;
        break;
      default:
        if (def.type === 'play' && (detail.language === 'es' || detail.language === 'en')) language = detail.language;
    }
  }
  return { node, variables, priority, skills, language };
}

const maxSteps = 1000;
const lookupTimeoutCapMs = 3000;

/** Fields of a lookup answer that become variables: top-level strings, numbers and booleans. */
export function lookupVariables(answer: unknown): Record<string, string> {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) throw new Error('the answer is not a JSON object');
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(answer)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') variables[key] = String(value);
  }
  return variables;
}

/** The media that says a variable's value; undefined when there is nothing sayable. */
export function sayMedia(value: string, as: 'digits' | 'number' | 'characters'): string | undefined {
  if (as === 'number') {
    const n = Number(value);
    if (value.trim() !== '' && Number.isFinite(n)) return `number:${Math.trunc(n)}`;
    return sayMedia(value, 'digits');
  }
  if (as === 'digits') {
    const digits = value.replace(/[^0-9*#]/g, '');
    return digits ? `digits:${digits}` : undefined;
  }
  const characters = value.replace(/[^A-Za-z0-9]/g, '');
  return characters ? `characters:${characters}` : undefined;
}

/**
 * Runs one call through one version of a flow. The document is the version
 * the call started on, held for the whole call, so saving a new version does
 * not change calls in progress. Resolves 'released' when the channel was
 * handed on (transfer, queue) and must not be hung up.
 */
export async function runFlow(deps: EngineDeps, call: IvrCall, flow: RunningFlow, startLanguage: Language, from?: ResumePoint): Promise<void | 'released'> {
  const { ari, digits } = deps;
  const variables = new Map<string, string>([...Object.entries(from?.variables ?? {}), ['caller', call.caller], ['did', call.did]]);
  let language: Language = from?.language ?? flow.document.language ?? startLanguage;
  let priority = from?.priority ?? 0;
  let skills: Record<string, number> = from?.skills ?? {};
  const media = (items: string[]): string[] => items.map((m) => (m.startsWith('prompt:') ? deps.promptMedia(m.slice('prompt:'.length)) : m));
  const play = (items: string[]) => digits.playInterruptible(call.channelId, media(items), language);
  const collect = (prompt: string[], options: { maxDigits: number; timeoutMs: number; terminator: '#' | null }) =>
    digits.collect(call.channelId, media(prompt), { ...options, lang: language });

  digits.track(call.channelId);
  let name: string | undefined = from ? from.node : flow.document.start;
  for (let step = 0; name !== undefined && step < maxSteps; step += 1) {
    const node: FlowNode | undefined = flow.document.nodes[name];
    if (!node) throw new Error(`flow ${flow.id} v${flow.version} has no node ${name}`);
    if (node.language) language = node.language;
    const trace = (input: string | null, detail: Record<string, unknown> = {}): void => deps.trace({ node: name!, type: node.type, input, detail });
    let next: string | undefined;

    switch (node.type) {
      case 'play': {
        trace(null, { language });
        if ((await play(node.media)) === 'gone') return;
        next = node.next;
        break;
      }
      case 'menu': {
        const attempts = (node.retries ?? 2) + 1;
        let chosen: string | undefined;
        for (let attempt = 0; attempt < attempts && chosen === undefined; attempt += 1) {
          const key = await collect(node.prompt, { maxDigits: 1, timeoutMs: node.timeoutMs ?? 5000, terminator: null });
          if (key === null) return;
          if (key !== '' && node.options[key]) {
            trace(key, { attempt: attempt + 1 });
            chosen = node.options[key];
          } else {
            trace(key === '' ? null : key, { attempt: attempt + 1, outcome: key === '' ? 'timeout' : 'invalid' });
            const sorry = key === '' ? node.timeoutPrompt : node.invalidPrompt;
            if (sorry && (await play(sorry)) === 'gone') return;
          }
        }
        next = chosen ?? node.default;
        if (chosen === undefined) trace(null, { outcome: 'default', next: next ?? null });
        break;
      }
      case 'collect': {
        const attempts = (node.retries ?? 2) + 1;
        const minDigits = node.minDigits ?? 1;
        let value: string | undefined;
        for (let attempt = 0; attempt < attempts && value === undefined; attempt += 1) {
          const typed = await collect(node.prompt, { maxDigits: node.maxDigits, timeoutMs: node.timeoutMs ?? 6000, terminator: node.terminator === false ? null : '#' });
          if (typed === null) return;
          if (typed.length >= minDigits) value = typed;
          else {
            trace(typed || null, { attempt: attempt + 1, outcome: typed ? 'too_short' : 'timeout' });
            if (node.invalidPrompt && (await play(node.invalidPrompt)) === 'gone') return;
          }
        }
        if (value !== undefined) {
          variables.set(node.variable, value);
          trace(value, { variable: node.variable });
          next = node.next;
        } else {
          next = node.onFail;
        }
        break;
      }
      case 'say': {
        const value = variables.get(node.variable) ?? '';
        const said = sayMedia(value, node.as);
        trace(null, { variable: node.variable, value, as: node.as });
        if (said && (await play([said])) === 'gone') return;
        next = node.next;
        break;
      }
      case 'lookup': {
        const result = await lookup(node, variables, name);
        trace(null, result.ok ? { status: result.status, result: result.variables } : { error: result.error, ...(result.reason ? { reason: result.reason } : {}) });
        if (result.ok) for (const [k, v] of Object.entries(result.variables)) variables.set(k, v);
        next = result.ok ? node.next : node.onError;
        break;
      }
      case 'condition': {
        const rule = node.rules.find((r) => ruleHolds(r, variables, call.caller));
        next = rule ? rule.next : node.else;
        trace(null, { matched: rule ? node.rules.indexOf(rule) : null, next });
        break;
      }
      case 'schedule': {
        const now = deps.clock();
        const open = isOpen(node, now);
        trace(null, { open, at: now.toISOString() });
        next = open ? node.open : node.closed;
        break;
      }
      case 'setPriority':
        priority = node.priority;
        trace(null, { priority });
        next = node.next;
        break;
      case 'setSkills':
        skills = { ...skills, ...node.skills };
        trace(null, { skills });
        next = node.next;
        break;
      case 'queue':
        trace(null, { queue: node.queue, priority, skills });
        return deps.queue(call, { queue: node.queue, priority, skills, language, variables: Object.fromEntries(variables) });
      case 'transfer':
        trace(null, { extension: node.extension });
        await ari.request('channels.continueInDialplan', { channelId: call.channelId, context: deps.transferContext ?? defaultSiteOptions.transferContext, extension: node.extension, priority: 1 });
        return 'released';
      case 'hangup':
        trace(null);
        if (node.media) await play(node.media);
        return;
    }
    name = next;
  }
  if (name !== undefined) deps.logger.warn({ callId: call.callId, flowId: flow.id }, `IVR stopped after ${maxSteps} steps`);

  type LookupResult = { ok: true; status: number; variables: Record<string, string> } | { ok: false; error: string; reason?: string };
  async function lookup(node: LookupNode, vars: Map<string, string>, nodeName: string): Promise<LookupResult> {
    const sent: Record<string, string> = { caller: call.caller, did: call.did };
    for (const key of node.send ?? []) sent[key] = vars.get(key) ?? '';
    const method = node.method ?? 'GET';
    const url = new URL(node.url);
    if (method === 'GET') for (const [k, v] of Object.entries(sent)) url.searchParams.set(k, v);
    try {
      const answer = await deps.outbound.request(url, {
        method,
        headers: { accept: 'application/json', ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        body: method === 'POST' ? JSON.stringify(sent) : undefined,
        timeoutMs: Math.min(node.timeoutMs ?? lookupTimeoutCapMs, lookupTimeoutCapMs),
      });
      if (answer.status < 200 || answer.status > 299) return { ok: false, error: `HTTP ${answer.status}` };
      let parsed: unknown;
      try { parsed = JSON.parse(answer.body.toString('utf8')); } catch { return { ok: false, error: 'the answer is not JSON' }; }
      return { ok: true, status: answer.status, variables: lookupVariables(parsed) };
    } catch (err) {
      if (err instanceof OutboundRefused) {
        // The policy stopped it: the trace says why, and so does the log (the URL without its query: the caller's data).
        deps.logger.warn({ callId: call.callId, flowId: flow.id, node: nodeName, url: `${url.origin}${url.pathname}`, reason: err.message }, 'an IVR lookup was refused');
        return { ok: false, error: 'refused', reason: err.message };
      }
      if (err instanceof OutboundFailed && err.code === 'timeout') return { ok: false, error: 'timeout' };
      return { ok: false, error: (err as Error).message };
    }
  }
}
