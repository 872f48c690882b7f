import type { FlowDocument } from './flow.js';

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
 * itself: uploaded prompts, queues, lookup addresses. Each names its node.
 */
export async function referenceProblems(document: FlowDocument, refs: FlowReferences): Promise<string[]> {
  const problems: string[] = [];
  // The lookup URLs are checked together: the outbound policy resolves each host once, in parallel, within one time budget.
  const urls = [...new Set(Object.values(document.nodes).flatMap((node) => (node.type === 'lookup' ? [node.url] : [])))];
  const verdicts = new Map((await refs.checkUrls(urls)).map((why, i) => [urls[i]!, why]));
  for (const [name, node] of Object.entries(document.nodes)) {
    const media = Object.values(node).filter(Array.isArray).flat().filter((m): m is string => typeof m === 'string' && m.startsWith('prompt:'));
    for (const m of new Set(media)) {
      if (!(await refs.promptExists(m.slice('prompt:'.length)))) problems.push(`nodes.${name} plays ${m}, but no prompt by that name was uploaded`);
    }
    if (node.type === 'queue' && !(await refs.queueExists(node.queue))) {
      problems.push(`nodes.${name}.queue names no queue (by id or name): ${JSON.stringify(node.queue)}`);
    }
    if (node.type === 'lookup') {
      const why = verdicts.get(node.url);
      if (why) problems.push(`nodes.${name}.url is refused: ${why}`);
    }
  }
  return problems;
}
