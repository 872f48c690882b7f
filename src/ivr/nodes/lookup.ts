import { OutboundFailed, OutboundRefused } from '../../core/outbound.js';
import { variablePattern, type NodeBase, type NodeKind, type RunContext } from './kind.js';

export interface LookupNode extends NodeBase {
  type: 'lookup'; url: string; method?: 'GET' | 'POST'; timeoutMs?: number; send?: string[]; next: string; onError: string;
}

const lookupTimeoutCapMs = 3000;

/** Fields of a lookup answer that become variables: top-level strings, numbers and booleans. */
export function lookupVariables(answer: unknown): Record<string, string> {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) throw new Error('the answer is not a JSON object');
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(answer)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') variables[key] = String(value);
  }
  return variables;
}

type LookupResult = { ok: true; status: number; variables: Record<string, string> } | { ok: false; error: string; reason?: string };

/** Asks the node's URL (under the outbound policy) with the caller, the DID and the variables it sends. */
async function ask(node: LookupNode, ctx: RunContext): Promise<LookupResult> {
  const { call, deps } = ctx;
  const sent: Record<string, string> = { caller: call.caller, did: call.did };
  for (const key of node.send ?? []) sent[key] = ctx.state.variables.get(key) ?? '';
  const method = node.method ?? 'GET';
  const url = new URL(node.url);
  if (method === 'GET') for (const [k, v] of Object.entries(sent)) url.searchParams.set(k, v);
  try {
    const answer = await deps.outbound.request(url, {
      method,
      headers: { accept: 'application/json', ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      body: method === 'POST' ? JSON.stringify(sent) : undefined,
      timeoutMs: Math.min(node.timeoutMs ?? lookupTimeoutCapMs, lookupTimeoutCapMs),
    });
    if (answer.status < 200 || answer.status > 299) return { ok: false, error: `HTTP ${answer.status}` };
    let parsed: unknown;
    // An answer that is not JSON is the lookup's failure, traced as such: the flow takes onError.
    try { parsed = JSON.parse(answer.body.toString('utf8')); } catch { return { ok: false, error: 'the answer is not JSON' }; }
    return { ok: true, status: answer.status, variables: lookupVariables(parsed) };
  } catch (err) {
    if (err instanceof OutboundRefused) {
      // The policy stopped it: the trace says why, and so does the log (the URL without its query: the caller's data).
      deps.logger.warn({ callId: call.callId, flowId: ctx.flow.id, node: ctx.name, url: `${url.origin}${url.pathname}`, reason: err.message }, 'an IVR lookup was refused');
      return { ok: false, error: 'refused', reason: err.message };
    }
    // Any other failure (timeout, network, an answer that is not an object) is traced and the flow takes onError.
    if (err instanceof OutboundFailed && err.code === 'timeout') return { ok: false, error: 'timeout' };
    return { ok: false, error: (err as Error).message };
  }
}

/** Asks a web service; its answer's fields become variables (traced once done: a restart keeps them). */
export const lookup: NodeKind<LookupNode> = {
  type: 'lookup',
  validate(node, c) {
    let url: URL | undefined;
    try { url = new URL(String(node.url)); } catch { /* not a URL: reported below */ }
    c.check(url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:'), `${c.at}.url must be an http(s) URL`);
    if (node.method !== undefined) c.check(node.method === 'GET' || node.method === 'POST', `${c.at}.method must be GET or POST`);
    c.int('timeoutMs', 100, 3000);
    if (node.send !== undefined) {
      c.check(Array.isArray(node.send) && node.send.every((v) => typeof v === 'string' && variablePattern.test(v)), `${c.at}.send must be a list of variable names`);
    }
    c.target('next'); c.target('onError');
  },
  targets: (node) => [node.next, node.onError],
  urls: (node) => [node.url],
  async references(node, at, refs) {
    const why = refs.urlRefused(node.url);
    return why ? [`${at}.url is refused: ${why}`] : [];
  },
  async run(node, ctx) {
    const result = await ask(node, ctx);
    ctx.trace(null, result.ok ? { status: result.status, result: result.variables } : { error: result.error, ...(result.reason ? { reason: result.reason } : {}) });
    if (result.ok) for (const [k, v] of Object.entries(result.variables)) ctx.state.variables.set(k, v);
    return { next: result.ok ? node.next : node.onError };
  },
  resume(node, step, state) {
    const detail = step.detail;
    if (typeof detail.result === 'object' && detail.result !== null) Object.assign(state.variables, detail.result);
    state.node = 'error' in detail ? node.onError : node.next;
  },
};
