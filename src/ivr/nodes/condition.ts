import { ruleHolds } from '../rules.js';
import { variablePattern, type NodeBase, type NodeKind } from './kind.js';

export interface ConditionRule {
  variable?: string; op?: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'exists' | 'in';
  value?: string | number | string[]; callerIn?: string[]; next: string;
}
export interface ConditionNode extends NodeBase { type: 'condition'; rules: ConditionRule[]; else: string }

/** Goes to the first rule that holds, else to `else` (traced once done: a restart follows the recorded branch). */
export const condition: NodeKind<ConditionNode> = {
  type: 'condition',
  validate(node, c) {
    const rules = node.rules;
    if (!Array.isArray(rules) || rules.length === 0) c.check(false, `${c.at}.rules must be a non-empty list`);
    else rules.forEach((rule: Record<string, unknown>, i) => {
      const where = `${c.at}.rules[${i}]`;
      c.check(c.isString(rule?.next), `${where}.next must name the next node`);
      if (rule?.callerIn !== undefined) {
        c.check(Array.isArray(rule.callerIn) && rule.callerIn.every((n) => typeof n === 'string'), `${where}.callerIn must be a list of numbers`);
      } else {
        c.check(c.isString(rule?.variable) && variablePattern.test(rule.variable as string), `${where}.variable must be a variable name (or give callerIn)`);
        c.check(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'exists', 'in'].includes(rule?.op as string), `${where}.op must be eq, ne, gt, gte, lt, lte, exists or in`);
        if (rule?.op === 'in') c.check(Array.isArray(rule.value), `${where}.value must be a list for op in`);
        else if (rule?.op !== 'exists') c.check(typeof rule?.value === 'string' || typeof rule?.value === 'number', `${where}.value must be a string or a number`);
      }
    });
    c.target('else');
  },
  targets: (node) => [...(node.rules ?? []).map((r) => r.next), node.else],
  async run(node, ctx) {
    const rule = node.rules.find((r) => ruleHolds(r, ctx.state.variables, ctx.call.caller));
    const next = rule ? rule.next : node.else;
    ctx.trace(null, { matched: rule ? node.rules.indexOf(rule) : null, next });
    return { next };
  },
  resume(_node, step, state) {
    state.node = typeof step.detail.next === 'string' ? step.detail.next : undefined;
  },
};
