import type { NodeBase, NodeKind } from './kind.js';

export interface HangupNode extends NodeBase { type: 'hangup'; media?: string[] }

/** Plays its media, if any, and ends the flow (the caller is then hung up). */
export const hangup: NodeKind<HangupNode> = {
  type: 'hangup',
  validate(_node, c) { c.media('media', false); },
  targets: () => [],
  async run(node, ctx) {
    ctx.trace(null);
    if (node.media) await ctx.play(node.media);
    return { done: undefined };
  },
  resume() {},
};
