import type { NodeBase, NodeKind } from './kind.js';

export interface SurveyOptInNode extends NodeBase {
  type: 'surveyOptIn'; prompt: string[]; key?: string; samplePercent?: number; timeoutMs?: number; confirm?: string[]; next: string;
}

/**
 * Asks the caller whether they will rate the call afterwards ("press 1"):
 * a yes is traced, and the queue's or route's opt_in survey reads it when
 * the agent hangs up first (docs/surveys.md). Only samplePercent of the
 * callers are asked; the others go straight on. Traced once done.
 */
export const surveyOptIn: NodeKind<SurveyOptInNode> = {
  type: 'surveyOptIn',
  asksTheCaller: true,
  validate(node, c) {
    c.media('prompt', true); c.media('confirm', false); c.target('next');
    c.int('samplePercent', 0, 100); c.int('timeoutMs', 1000, 30_000);
    if (node.key !== undefined) c.check(typeof node.key === 'string' && /^[0-9*#]$/.test(node.key), `${c.at}.key must be one phone key (0-9, *, #)`);
  },
  targets: (node) => [node.next],
  async run(node, ctx) {
    if (Math.random() * 100 >= (node.samplePercent ?? 100)) {
      ctx.trace(null, { optedIn: false, asked: false });
      return { next: node.next };
    }
    const key = await ctx.collect(node.prompt, { maxDigits: 1, timeoutMs: node.timeoutMs ?? 5000, terminator: null });
    if (key === null) return { done: undefined };
    const optedIn = key === (node.key ?? '1');
    ctx.trace(key === '' ? null : key, { optedIn, asked: true });
    if (optedIn && node.confirm && (await ctx.play(node.confirm)) === 'gone') return { done: undefined };
    return { next: node.next };
  },
  resume(node, step, state) {
    if (typeof step.detail.optedIn === 'boolean') state.node = node.next;
  },
};
