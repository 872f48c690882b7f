import type { EngineDeps, IvrCall, RunningFlow, TraceEntry } from '../engine.js';

/**
 * What one IVR node type is, in one place: how a document's node of that
 * type is checked, where it can lead, how a call runs through it and how a
 * call taken over after a restart goes on from its trace. Each type is one
 * module of this folder, listed once in registry.ts.
 */

export const languages = ['es', 'en'] as const;
export type Language = (typeof languages)[number];

/** What every node may carry. */
export interface NodeBase { language?: Language }

/** The checks a node's fields go through; each reports its problem naming `nodes.<name>.<field>`. */
export interface NodeChecks {
  /** `nodes.<name>`, to name fields in problems of the node's own. */
  at: string;
  check: (ok: boolean, problem: string) => void;
  isString: (v: unknown) => v is string;
  /** A list of playable media. */
  media: (field: string, required: boolean) => void;
  /** A field naming the next node. */
  target: (field: string, required?: boolean) => void;
  /** A whole number in a range, when given. */
  int: (field: string, min: number, max: number) => void;
  /** A variable name. */
  variable: (field: string) => void;
}

/** What a flow may name outside itself, for one node (see references.ts). */
export interface NodeReferences {
  queueExists: (idOrName: string) => Promise<boolean>;
  /** Why the outbound policy refuses a URL named by urls(), or undefined. */
  urlRefused: (url: string) => string | undefined;
}

/** A call's state as it runs: what the nodes it went through gathered. */
export interface CallState {
  variables: Map<string, string>;
  language: Language;
  priority: number;
  skills: Record<string, number>;
}

export type Collected = string | null;

/** What a node's run step has at hand. */
export interface RunContext {
  deps: Omit<EngineDeps, 'trace'>;
  call: IvrCall;
  flow: RunningFlow;
  /** The node's name in the flow. */
  name: string;
  state: CallState;
  /** Records the step (the call's trace): what the caller keyed, and what the node decided. */
  trace: (input: string | null, detail?: Record<string, unknown>) => void;
  /** Plays media in the call's language; 'gone' when the caller hung up. */
  play: (items: string[]) => Promise<unknown>;
  /** Plays a prompt and collects keys; null when the caller hung up, '' on timeout. */
  collect: (prompt: string[], options: { maxDigits: number; timeoutMs: number; terminator: '#' | null }) => Promise<Collected>;
}

/** Where a node's run leads: on to a node (none: the flow ends), or out of the flow ('released': the channel was handed on). */
export type StepOutcome = { next: string | undefined } | { done: void | 'released' };

/** Where a call taken over after a restart stands while its trace is replayed. */
export interface ResumeState {
  /** The node to run next; undefined when the flow had finished. */
  node: string | undefined;
  variables: Record<string, string>;
  priority: number;
  skills: Record<string, number>;
  language: Language;
}

export type TracedStep = Pick<TraceEntry, 'node' | 'input' | 'detail'>;

export interface NodeKind<N extends NodeBase & { type: string }> {
  type: N['type'];
  /** Checks a node of this type (its common fields, type and language, are checked by flow.ts). */
  validate: (node: Record<string, unknown>, checks: NodeChecks) => void;
  /** The nodes it can lead to. */
  targets: (node: N) => string[];
  /** Whether it waits for the caller's keys (a loop without one would spin: flow.ts refuses it). */
  asksTheCaller?: boolean;
  /** Lookup addresses it names, checked by the outbound policy all at once with the flow's others. */
  urls?: (node: N) => string[];
  /** Problems with what it names outside the flow (its prompts are checked for every type). */
  references?: (node: N, at: string, refs: NodeReferences) => Promise<string[]>;
  /** Runs a call through the node. */
  run: (node: N, ctx: RunContext) => Promise<StepOutcome>;
  /**
   * Replays one traced step of the node: `state.node` is already the node
   * itself (a node traced on entry runs again); a node traced once done
   * moves it on to the branch it took and keeps what it gathered.
   */
  resume: (node: N, step: TracedStep, state: ResumeState) => void;
}

/** Media a node may play: Asterisk sounds, uploaded prompts, and what ARI can say or sound. */
export const mediaPattern = /^(sound:[A-Za-z0-9_/.-]+|prompt:[a-z0-9][a-z0-9_-]{0,63}|digits:[0-9*#]{1,40}|number:-?[0-9]{1,12}|characters:[A-Za-z0-9]{1,40}|tone:[A-Za-z0-9/,+!.;=]{1,200})$/;
export const variablePattern = /^[A-Za-z_][A-Za-z0-9_.]{0,63}$/;
