import type { NodeBase, NodeKind } from './kind.js';

export interface MenuNode extends NodeBase {
  type: 'menu'; prompt: string[]; options: Record<string, string>;
  timeoutMs?: number; retries?: number; invalidPrompt?: string[]; timeoutPrompt?: string[]; default?: string;
}

/** Asks for one key and goes to its option; after the retries, to the default (or the flow ends). */
export const menu: NodeKind<MenuNode> = {
  type: 'menu',
  asksTheCaller: true,
  validate(node, c) {
    c.media('prompt', true); c.media('invalidPrompt', false); c.media('timeoutPrompt', false);
    c.int('timeoutMs', 1000, 60_000); c.int('retries', 0, 10); c.target('default', false);
    const options = node.options;
    if (typeof options !== 'object' || options === null || Array.isArray(options) || Object.keys(options).length === 0) {
      c.check(false, `${c.at}.options must map keys (0-9, *, #) to nodes`);
    } else {
      for (const [key, next] of Object.entries(options)) {
        c.check(/^[0-9*#]$/.test(key), `${c.at}.options: ${JSON.stringify(key)} is not a phone key`);
        c.check(c.isString(next), `${c.at}.options.${key} must name the next node`);
      }
    }
  },
  targets: (node) => [...Object.values(node.options ?? {}), ...(node.default ? [node.default] : [])],
  async run(node, ctx) {
    const attempts = (node.retries ?? 2) + 1;
    let chosen: string | undefined;
    for (let attempt = 0; attempt < attempts && chosen === undefined; attempt += 1) {
      const key = await ctx.collect(node.prompt, { maxDigits: 1, timeoutMs: node.timeoutMs ?? 5000, terminator: null });
      if (key === null) return { done: undefined };
      if (key !== '' && node.options[key]) {
        ctx.trace(key, { attempt: attempt + 1 });
        chosen = node.options[key];
      } else {
        ctx.trace(key === '' ? null : key, { attempt: attempt + 1, outcome: key === '' ? 'timeout' : 'invalid' });
        const sorry = key === '' ? node.timeoutPrompt : node.invalidPrompt;
        if (sorry && (await ctx.play(sorry)) === 'gone') return { done: undefined };
      }
    }
    const next = chosen ?? node.default;
    if (chosen === undefined) ctx.trace(null, { outcome: 'default', next: next ?? null });
    return { next };
  },
  // A key chosen goes on to its option, the default to where it led; a failed attempt asks again.
  resume(node, step, state) {
    if (step.detail.outcome === 'default') state.node = typeof step.detail.next === 'string' ? step.detail.next : undefined;
    else if (step.detail.outcome === undefined && step.input !== null) state.node = node.options[step.input];
  },
};
