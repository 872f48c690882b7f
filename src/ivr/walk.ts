import type { Ari } from '../asterisk/ari.js';
import type { DigitCollector } from '../asterisk/dtmf.js';
import type { Logger } from '../core/logger.js';
import type { OutboundPolicy } from '../core/outbound.js';
import { resumePoint, runFlow, type EngineDeps, type QueueRequest, type TraceEntry } from './engine.js';
import type { FlowDocument, FlowNode, Language } from './flow.js';

/** What a simulated caller does: the keys pressed at each question, the lookups' answers, the moment of the call. */
export interface WalkInput {
  /** One entry per question (menu, collect) in order; '' lets it time out. When they run out, the walk stops there. */
  keys: string[];
  /** A lookup node's answer, by node name; null or absent: the lookup fails. */
  lookups: Record<string, unknown>;
  at: Date;
  caller: string;
  did: string;
  language: Language;
}

export interface WalkStep {
  node: string;
  type: FlowNode['type'];
  input: string | null;
  detail: Record<string, unknown>;
  /** What the caller hears at this node, in order. */
  played: { media: string[]; language: Language }[];
}

export type WalkEnd =
  | { kind: 'queue'; node: string; queue: string; priority: number; skills: Record<string, number>; language: Language }
  | { kind: 'transfer'; node: string; extension: string }
  | { kind: 'hangup'; node: string }
  /** The flow ran out of nodes: the IVR hangs up. */
  | { kind: 'ended'; node: string | undefined }
  /** The keys ran out at a question: the caller would be asked there. */
  | { kind: 'waitingForKeys'; node: string }
  | { kind: 'stopped'; node: string | undefined };

export interface Walk { steps: WalkStep[]; end: WalkEnd; variables: Record<string, string> }

const silentLogger = { warn: () => undefined, info: () => undefined, debug: () => undefined, error: () => undefined } as unknown as Logger;

/**
 * Runs a flow document the way a call would, without Asterisk: the real
 * engine and node types (engine.ts, nodes/) with the phone, the clock, the
 * lookups and the queue played by the walk's input. What it shows is what a
 * call with those keys, answers and hour would do; lookups are not sent
 * (the answers are typed), nothing is written and no call is placed.
 */
export async function walkFlow(document: FlowDocument, input: WalkInput): Promise<Walk> {
  const steps: WalkStep[] = [];
  const keys = [...input.keys];
  let current: WalkStep | undefined;
  let last: string | undefined;
  let end: WalkEnd | undefined;
  const hear = (media: string[], lang: string | undefined) => {
    if (media.length > 0) current?.played.push({ media, language: lang === 'en' ? 'en' : 'es' });
  };
  const digits = {
    track: () => undefined,
    playInterruptible: async (_channelId: string, media: string[], lang?: string) => {
      hear(media, lang);
      return 'done' as const;
    },
    collect: async (_channelId: string, prompt: string[], options: { maxDigits: number; terminator: '#' | null; lang?: string }) => {
      hear(prompt, options.lang);
      const typed = keys.shift();
      if (typed === undefined) {
        end = { kind: 'waitingForKeys', node: last! };
        return null;
      }
      // As the phone's collector: up to the terminator (not kept), at most maxDigits.
      const cut = options.terminator && typed.includes(options.terminator) ? typed.slice(0, typed.indexOf(options.terminator)) : typed;
      return cut.slice(0, options.maxDigits);
    },
  } as unknown as DigitCollector;
  const outbound = {
    request: async () => {
      const answer = input.lookups[last!];
      if (answer === undefined || answer === null) throw new Error('no answer was typed for this lookup in the walk');
      return { status: 200, body: Buffer.from(JSON.stringify(answer)) };
    },
  } as unknown as OutboundPolicy;
  const ari = {
    request: async (operation: string, params: { extension?: string }) => {
      if (operation === 'channels.continueInDialplan') end = { kind: 'transfer', node: last!, extension: params.extension ?? '' };
    },
  } as unknown as Ari;
  const traced: TraceEntry[] = [];
  const deps: EngineDeps = {
    ari, digits, outbound, logger: silentLogger, clock: () => input.at,
    promptMedia: (name) => `prompt:${name}`,
    entering: (name) => {
      last = name;
      current = { node: name, type: document.nodes[name]!.type, input: null, detail: {}, played: [] };
      steps.push(current);
    },
    trace: (entry) => {
      traced.push(entry);
      // A node traces once or more (a menu each attempt): the step shows the last, and keeps what was keyed.
      if (!current || current.node !== entry.node) return;
      if (entry.input !== null) current.input = entry.input;
      current.detail = { ...current.detail, ...entry.detail };
    },
    queue: async (_call, request: QueueRequest) => {
      end = { kind: 'queue', node: last!, queue: request.queue, priority: request.priority, skills: request.skills, language: request.language };
      return 'released';
    },
  };
  const call = { channelId: 'walk', callId: 'walk', caller: input.caller, did: input.did };
  await runFlow(deps, call, { id: 'walk', version: 0, document }, input.language);
  if (!end) {
    const node = last === undefined ? undefined : document.nodes[last];
    end = node?.type === 'hangup' ? { kind: 'hangup', node: last! } : steps.length >= 1000 ? { kind: 'stopped', node: last } : { kind: 'ended', node: last };
  }
  // What the call gathered, as a restart would rebuild it from the same steps.
  const { variables } = resumePoint(document, traced, input.language);
  return { steps, end, variables: { ...variables, caller: input.caller, did: input.did } };
}
