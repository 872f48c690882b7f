import type { FlowDocument } from './flow.js';
import { kindOf } from './nodes/registry.js';

/** What a flow may name outside itself, asked of the capabilities that own it. */
export interface FlowReferences {
  promptExists: (name: string) => Promise<boolean>;
  /** A queue by its id or its name (the queues capability answers, through its service). */
  queueExists: (idOrName: string) => Promise<boolean>;
  /** Why each lookup URL is refused by the outbound policy (or undefined), in order; all checked at once. */
  checkUrls: (urls: string[]) => Promise<(string | undefined)[]>;
}

/**
 * The problems of a flow (valid as a document) with what it names outside
 * itself: uploaded prompts (any node's media), and what its node type checks
 * (nodes/: queues, lookup addresses). Each names its node.
 */
export async function referenceProblems(document: FlowDocument, refs: FlowReferences): Promise<string[]> {
  const problems: string[] = [];
  // The lookup URLs are checked together: the outbound policy resolves each host once, in parallel, within one time budget.
  const urls = [...new Set(Object.values(document.nodes).flatMap((node) => kindOf(node.type)?.urls?.(node) ?? []))];
  const verdicts = new Map((await refs.checkUrls(urls)).map((why, i) => [urls[i]!, why]));
  for (const [name, node] of Object.entries(document.nodes)) {
    const media = Object.values(node).filter(Array.isArray).flat().filter((m): m is string => typeof m === 'string' && m.startsWith('prompt:'));
    for (const m of new Set(media)) {
      if (!(await refs.promptExists(m.slice('prompt:'.length)))) problems.push(`nodes.${name} plays ${m}, but no prompt by that name was uploaded`);
    }
    // What the node's type names outside the flow: a queue, a lookup address.
    const refsOf = kindOf(node.type)?.references;
    if (refsOf) problems.push(...await refsOf(node, `nodes.${name}`, { queueExists: refs.queueExists, urlRefused: (url) => verdicts.get(url) }));
  }
  return problems;
}
