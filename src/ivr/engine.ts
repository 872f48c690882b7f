import type { Ari } from '../asterisk/ari.js';
import type { DigitCollector } from '../asterisk/dtmf.js';
import type { Logger } from '../core/logger.js';
import type { OutboundPolicy } from '../core/outbound.js';
import type { FlowDocument, FlowNode, Language } from './flow.js';
import type { CallState, ResumeState, RunContext } from './nodes/kind.js';
import { kindOf } from './nodes/registry.js';

export { lookupVariables } from './nodes/lookup.js';
export { sayMedia } from './nodes/say.js';

export interface IvrCall { channelId: string; callId: string; caller: string; did: string }

/** What the queue that follows an IVR receives. */
export interface QueueRequest { queue: string; priority: number; skills: Record<string, number>; language: Language; variables: Record<string, string> }

export interface TraceEntry { node: string; type: FlowNode['type']; input: string | null; detail: Record<string, unknown> }

export interface EngineDeps {
  ari: Ari;
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
  /** Told each node as the call reaches it (the walk simulator follows the path with it). */
  entering?: (name: string) => void;
}

export interface RunningFlow { id: string; version: number; document: FlowDocument }

/** Where a call taken over after a restart goes on, and what it had gathered. */
export type ResumePoint = ResumeState;

/**
 * Replays a call's trace (the steps of one flow version, in order) to find
 * where it stood: the variables collected and looked up, priority, skills
 * and language, and the node to run next. A node traced on entry (play, say,
 * queue, transfer, hangup) runs again; a node traced once done (menu, collect,
 * lookup, condition, schedule, setPriority, setSkills) goes on to the branch
 * it took; a menu or collect whose last attempt failed asks again. Each node
 * type's part is its module's resume (nodes/).
 */
export function resumePoint(document: FlowDocument, trace: readonly Pick<TraceEntry, 'node' | 'input' | 'detail'>[], startLanguage: Language): ResumePoint {
  const state: ResumeState = { node: document.start, variables: {}, priority: 0, skills: {}, language: document.language ?? startLanguage };
  for (const step of trace) {
    const def = document.nodes[step.node];
    if (!def) continue;
    if (def.language) state.language = def.language;
    state.node = step.node;
    kindOf(def.type)?.resume(def, step, state);
  }
  return { node: state.node, variables: state.variables, priority: state.priority, skills: state.skills, language: state.language };
}

const maxSteps = 1000;

/**
 * Runs one call through one version of a flow. The document is the version
 * the call started on, held for the whole call, so saving a new version does
 * not change calls in progress. Resolves 'released' when the channel was
 * handed on (transfer, queue) and must not be hung up. Each node's step is
 * its type's run (nodes/).
 */
export async function runFlow(deps: EngineDeps, call: IvrCall, flow: RunningFlow, startLanguage: Language, from?: ResumePoint): Promise<void | 'released'> {
  const { digits } = deps;
  const state: CallState = {
    variables: new Map<string, string>([...Object.entries(from?.variables ?? {}), ['caller', call.caller], ['did', call.did]]),
    language: from?.language ?? flow.document.language ?? startLanguage,
    priority: from?.priority ?? 0,
    skills: from?.skills ?? {},
  };
  const media = (items: string[]): string[] => items.map((m) => (m.startsWith('prompt:') ? deps.promptMedia(m.slice('prompt:'.length)) : m));

  digits.track(call.channelId);
  let name: string | undefined = from ? from.node : flow.document.start;
  for (let step = 0; name !== undefined && step < maxSteps; step += 1) {
    const nodeName: string = name;
    const node: FlowNode | undefined = flow.document.nodes[nodeName];
    if (!node) throw new Error(`flow ${flow.id} v${flow.version} has no node ${nodeName}`);
    const kind = kindOf(node.type);
    if (!kind) throw new Error(`flow ${flow.id} v${flow.version} node ${nodeName} has no known type ${String(node.type)}`);
    if (node.language) state.language = node.language;
    deps.entering?.(nodeName);
    const ctx: RunContext = {
      deps, call, flow, name: nodeName, state,
      trace: (input, detail = {}) => deps.trace({ node: nodeName, type: node.type, input, detail }),
      play: (items) => digits.playInterruptible(call.channelId, media(items), state.language),
      collect: (prompt, options) => digits.collect(call.channelId, media(prompt), { ...options, lang: state.language }),
    };
    const outcome = await kind.run(node, ctx);
    if ('done' in outcome) return outcome.done;
    name = outcome.next;
  }
  if (name !== undefined) deps.logger.warn({ callId: call.callId, flowId: flow.id }, `IVR stopped after ${maxSteps} steps`);
}
