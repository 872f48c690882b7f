import type { NodeBase, NodeKind } from './kind.js';

export interface QueueNode extends NodeBase { type: 'queue'; queue: string }

/** Hands the call to a queue with what the flow gathered (traced on entry: a restart queues it again). */
export const queue: NodeKind<QueueNode> = {
  type: 'queue',
  validate(node, c) { c.check(c.isString(node.queue), `${c.at}.queue must name a queue`); },
  targets: () => [],
  async references(node, at, refs) {
    return (await refs.queueExists(node.queue)) ? [] : [`${at}.queue names no queue (by id or name): ${JSON.stringify(node.queue)}`];
  },
  async run(node, ctx) {
    const { priority, skills, language, variables } = ctx.state;
    ctx.trace(null, { queue: node.queue, priority, skills });
    return { done: await ctx.deps.queue(ctx.call, { queue: node.queue, priority, skills, language, variables: Object.fromEntries(variables) }) };
  },
  resume() {},
};
