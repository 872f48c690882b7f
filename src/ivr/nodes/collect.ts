import type { NodeBase, NodeKind } from './kind.js';

export interface CollectNode extends NodeBase {
  type: 'collect'; prompt: string[]; variable: string; minDigits?: number; maxDigits: number;
  terminator?: boolean; timeoutMs?: number; retries?: number; invalidPrompt?: string[]; next: string; onFail?: string;
}

/** Collects a number into a variable; after the retries, goes to onFail (or the flow ends). */
export const collect: NodeKind<CollectNode> = {
  type: 'collect',
  asksTheCaller: true,
  validate(node, c) {
    c.media('prompt', true); c.media('invalidPrompt', false); c.variable('variable');
    c.int('minDigits', 1, 40); c.int('maxDigits', 1, 40); c.int('timeoutMs', 1000, 60_000); c.int('retries', 0, 10);
    c.check(node.maxDigits !== undefined, `${c.at}.maxDigits is required`);
    if (Number.isInteger(node.minDigits) && Number.isInteger(node.maxDigits)) {
      c.check((node.minDigits as number) <= (node.maxDigits as number), `${c.at}.minDigits must not exceed maxDigits`);
    }
    if (node.terminator !== undefined) c.check(typeof node.terminator === 'boolean', `${c.at}.terminator must be true or false`);
    c.target('next'); c.target('onFail', false);
  },
  targets: (node) => [node.next, ...(node.onFail ? [node.onFail] : [])],
  async run(node, ctx) {
    const attempts = (node.retries ?? 2) + 1;
    const minDigits = node.minDigits ?? 1;
    let value: string | undefined;
    for (let attempt = 0; attempt < attempts && value === undefined; attempt += 1) {
      const typed = await ctx.collect(node.prompt, { maxDigits: node.maxDigits, timeoutMs: node.timeoutMs ?? 6000, terminator: node.terminator === false ? null : '#' });
      if (typed === null) return { done: undefined };
      if (typed.length >= minDigits) value = typed;
      else {
        ctx.trace(typed || null, { attempt: attempt + 1, outcome: typed ? 'too_short' : 'timeout' });
        if (node.invalidPrompt && (await ctx.play(node.invalidPrompt)) === 'gone') return { done: undefined };
      }
    }
    if (value === undefined) return { next: node.onFail };
    ctx.state.variables.set(node.variable, value);
    ctx.trace(value, { variable: node.variable });
    return { next: node.next };
  },
  // A number collected is kept and the call goes on; a failed attempt asks again.
  resume(node, step, state) {
    if (typeof step.detail.variable === 'string' && step.input !== null) {
      state.variables[step.detail.variable] = step.input;
      state.node = node.next;
    }
  },
};
