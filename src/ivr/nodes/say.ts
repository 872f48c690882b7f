import type { NodeBase, NodeKind } from './kind.js';

export interface SayNode extends NodeBase { type: 'say'; variable: string; as: 'digits' | 'number' | 'characters'; next?: string }

/** The media that says a variable's value; undefined when there is nothing sayable. */
export function sayMedia(value: string, as: 'digits' | 'number' | 'characters'): string | undefined {
  if (as === 'number') {
    const n = Number(value);
    if (value.trim() !== '' && Number.isFinite(n)) return `number:${Math.trunc(n)}`;
    return sayMedia(value, 'digits');
  }
  if (as === 'digits') {
    const digits = value.replace(/[^0-9*#]/g, '');
    return digits ? `digits:${digits}` : undefined;
  }
  const characters = value.replace(/[^A-Za-z0-9]/g, '');
  return characters ? `characters:${characters}` : undefined;
}

/** Says a variable's value (traced on entry: a restart says it again). */
export const say: NodeKind<SayNode> = {
  type: 'say',
  validate(node, c) {
    c.variable('variable');
    c.check(['digits', 'number', 'characters'].includes(node.as as string), `${c.at}.as must be digits, number or characters`);
    c.target('next', false);
  },
  targets: (node) => (node.next ? [node.next] : []),
  async run(node, ctx) {
    const value = ctx.state.variables.get(node.variable) ?? '';
    const said = sayMedia(value, node.as);
    ctx.trace(null, { variable: node.variable, value, as: node.as });
    if (said && (await ctx.play([said])) === 'gone') return { done: undefined };
    return { next: node.next };
  },
  resume() {},
};
