import type { NodeKind } from './kind.js';
import { collect } from './collect.js';
import { condition } from './condition.js';
import { hangup } from './hangup.js';
import { lookup } from './lookup.js';
import { menu } from './menu.js';
import { play } from './play.js';
import { queue } from './queue.js';
import { say } from './say.js';
import { schedule } from './schedule.js';
import { setPriority } from './set-priority.js';
import { setSkills } from './set-skills.js';
import { surveyOptIn } from './survey-opt-in.js';
import { transfer } from './transfer.js';

/**
 * Every IVR node type, in the order validation errors list them. A new
 * node type is one module in this folder (a NodeKind) and one line here:
 * the document types, validation, the engine and resuming all read this.
 */
export const nodeKinds = [play, menu, collect, say, lookup, condition, schedule, setPriority, setSkills, surveyOptIn, queue, transfer, hangup] as const;

type NodeOf<K> = K extends NodeKind<infer N> ? N : never;
/** A node of a flow document: one of the registered types. */
export type FlowNode = NodeOf<(typeof nodeKinds)[number]>;
export type NodeType = FlowNode['type'];

export const nodeTypes: readonly NodeType[] = nodeKinds.map((k) => k.type);

const byType = new Map<string, NodeKind<FlowNode>>(nodeKinds.map((k) => [k.type, k as unknown as NodeKind<FlowNode>]));

/** The type of a node; undefined for a type that is not registered (validation reports it). */
export function kindOf(type: unknown): NodeKind<FlowNode> | undefined {
  return typeof type === 'string' ? byType.get(type) : undefined;
}
