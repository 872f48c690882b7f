import type { NodeBase, NodeKind } from './kind.js';

export interface SetPriorityNode extends NodeBase { type: 'setPriority'; priority: number; next: string }

/** Sets the priority the call takes into its queue. */
export const setPriority: NodeKind<SetPriorityNode> = {
  type: 'setPriority',
  validate(node, c) { c.int('priority', 0, 100); c.check(node.priority !== undefined, `${c.at}.priority is required`); c.target('next'); },
  targets: (node) => [node.next],
  async run(node, ctx) {
    ctx.state.priority = node.priority;
    ctx.trace(null, { priority: node.priority });
    return { next: node.next };
  },
  resume(node, step, state) {
    state.priority = typeof step.detail.priority === 'number' ? step.detail.priority : node.priority;
    state.node = node.next;
  },
};
