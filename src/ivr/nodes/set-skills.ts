import type { NodeBase, NodeKind } from './kind.js';

export interface SetSkillsNode extends NodeBase { type: 'setSkills'; skills: Record<string, number>; next: string }

/** Adds skills (name → level) the call asks of its queue's agents. */
export const setSkills: NodeKind<SetSkillsNode> = {
  type: 'setSkills',
  validate(node, c) {
    const skills = node.skills;
    c.check(typeof skills === 'object' && skills !== null && !Array.isArray(skills)
      && Object.entries(skills).every(([k, v]) => /^[a-z][a-z0-9_-]{0,31}$/.test(k) && Number.isInteger(v) && v >= 1 && v <= 10),
    `${c.at}.skills must map skill names to levels 1-10`);
    c.target('next');
  },
  targets: (node) => [node.next],
  async run(node, ctx) {
    ctx.state.skills = { ...ctx.state.skills, ...node.skills };
    ctx.trace(null, { skills: ctx.state.skills });
    return { next: node.next };
  },
  resume(node, _step, state) {
    state.skills = { ...state.skills, ...node.skills };
    state.node = node.next;
  },
};
