import { defaultSiteOptions } from '../../core/config.js';
import type { NodeBase, NodeKind } from './kind.js';

export interface TransferNode extends NodeBase { type: 'transfer'; extension: string }

/** Sends the call on in the dialplan to an extension (traced on entry: a restart transfers it again). */
export const transfer: NodeKind<TransferNode> = {
  type: 'transfer',
  validate(node, c) {
    c.check(typeof node.extension === 'string' && /^[0-9]{2,10}$/.test(node.extension), `${c.at}.extension must be an extension number`);
  },
  targets: () => [],
  async run(node, ctx) {
    ctx.trace(null, { extension: node.extension });
    await ctx.deps.ari.request('channels.continueInDialplan', {
      channelId: ctx.call.channelId, context: ctx.deps.transferContext ?? defaultSiteOptions.transferContext, extension: node.extension, priority: 1,
    });
    return { done: 'released' };
  },
  resume() {},
};
