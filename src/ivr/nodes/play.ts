import type { NodeBase, NodeKind } from './kind.js';

export interface PlayNode extends NodeBase { type: 'play'; media: string[]; next?: string }

/** Plays media, then goes on (traced on entry: a restart plays it again). */
export const play: NodeKind<PlayNode> = {
  type: 'play',
  validate: (_node, c) => { c.media('media', true); c.target('next', false); },
  targets: (node) => (node.next ? [node.next] : []),
  async run(node, ctx) {
    ctx.trace(null, { language: ctx.state.language });
    if ((await ctx.play(node.media)) === 'gone') return { done: undefined };
    return { next: node.next };
  },
  resume(_node, step, state) {
    const language = step.detail.language;
    if (language === 'es' || language === 'en') state.language = language;
  },
};
