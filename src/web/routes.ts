import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { Type } from 'typebox';
import type { AgentsService } from '../agents/service.js';
import type { CallsService } from '../calls/service.js';
import { forbidden, notFound } from '../core/errors.js';
import type { HttpApp } from '../core/http.js';
import { projectRoot } from '../core/paths.js';
import { IdParams } from '../core/schemas.js';
import type { IvrService } from '../ivr/service.js';
import type { QueueEngine } from '../queues/engine.js';
import type { QueuesService } from '../queues/service.js';
import { fillScreenPop, screenPopOrigin } from '../queues/screen-pop.js';

const webDir = join(projectRoot, 'web');
/** Files from node_modules the pages use; nothing is fetched from the internet at run time. */
const vendor: Record<string, string> = {
  'chart.umd.min.js': join(projectRoot, 'node_modules/chart.js/dist/chart.umd.min.js'),
};
const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml',
};

/**
 * What a page may load: its own files only. No inline script or style (the
 * pages have none: an injected `<script>` or `style=` would not run), images
 * also as data: URLs, recordings played from this origin, the API and the
 * events WebSocket on this host; never framed (clickjacking), no <base>, forms
 * posted only here.
 */
function contentSecurityPolicy(host: string | undefined, frames: readonly string[]): string {
  // CSP 3 counts ws:/wss: on this host as 'self'; browsers before it need them named.
  const sockets = host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "media-src 'self' blob:",
    `connect-src 'self'${sockets}`, "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
    // The agent desk embeds the queues' CRM screen pops: their origins only.
    ...(frames.length > 0 ? [`frame-src 'self' ${frames.join(' ')}`] : []),
  ].join('; ');
}

/** The headers of every /ui/ answer, a redirect or a 404 included; `frames`: origins the page may embed (the desk's screen pops). */
export function pageHeaders(host: string | undefined, frames: readonly string[] = []): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(host, frames),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // Page URLs carry report filters; nothing is sent to other sites.
    'referrer-policy': 'no-referrer',
  };
}

/** The origins of the queues' screen pops (the desk page may frame them). */
async function screenPopOrigins(queues: QueuesService): Promise<string[]> {
  const origins = (await queues.list()).flatMap((q) => (q.screenPopUrl ? [screenPopOrigin(q.screenPopUrl)] : []));
  return [...new Set(origins.filter((o): o is string => o !== undefined))];
}

export interface WebDeps { agents: AgentsService; calls: CallsService; ivr: IvrService; engine: QueueEngine; queues: QueuesService }

/**
 * The browser pages (web/, served at /ui/) and the two routes only they need:
 * who the token is, and the call an agent is being offered or is on.
 */
export function webRoutes(app: HttpApp, deps: WebDeps): void {
  const { agents, calls, ivr, engine, queues } = deps;

  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url === '/' || request.url.startsWith('/ui/')) {
      // An outage leaves the desk without its embedded screen pop (a new tab still works), not without the page.
      const frames = request.url.startsWith('/ui/desk.html') ? await screenPopOrigins(queues).catch(() => []) : [];
      reply.headers(pageHeaders(request.headers.host, frames));
    }
    return payload;
  });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/ui/'));
  app.get('/ui/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/ui/index.html'));
  app.get('/ui/*', { schema: { hide: true } }, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const file = name.startsWith('vendor/') ? vendor[name.slice('vendor/'.length)] : normalize(join(webDir, name));
    if (!file || (!name.startsWith('vendor/') && !file.startsWith(webDir + sep))) throw notFound('page');
    // absent or unreadable: 404, as for any unknown page
    const body = await readFile(file).catch(() => undefined);
    if (!body) throw notFound('page');
    return reply.type(types[extname(file)] ?? 'application/octet-stream').header('cache-control', 'no-cache').send(body);
  });

  app.get('/api/v1/me', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['auth'], summary: 'Who this token (or sign-in) is: role, and the agent (or supervisor) it is bound to',
      description: 'For a person signed in to the pages: `user` (their name) and `csrfToken`, the value of the X-CSRF-Token header every change must carry; both null for an API token.',
      response: { 200: Type.Object({
        role: Type.String(), agentId: Type.Union([Type.String(), Type.Null()]), name: Type.Union([Type.String(), Type.Null()]), isSupervisor: Type.Boolean(),
        user: Type.Union([Type.Object({ id: Type.String(), username: Type.String() }), Type.Null()]), csrfToken: Type.Union([Type.String(), Type.Null()]),
        sessionId: Type.Union([Type.String(), Type.Null()]),
      }) },
    },
  }, async (request) => {
    const principal = request.principal!;
    // an agent deleted since the token was made: the page shows no name
    const agent = principal.agentId ? await agents.getAgent(principal.agentId).catch(() => undefined) : undefined;
    const session = principal.session;
    return {
      role: principal.role, agentId: principal.agentId, name: agent?.name ?? null, isSupervisor: agent?.isSupervisor ?? false,
      user: session ? { id: session.userId, username: session.username } : null, csrfToken: session?.csrfToken ?? null,
      sessionId: session ? principal.tokenId : null,
    };
  });

  app.get('/api/v1/agents/:id/call', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['agents'], summary: 'The call the agent is being offered, is on, or is wrapping up: caller, queue, IVR choices and variables, the caller\'s previous calls',
      description: '`call` is null when the agent has no call. Agents only their own.',
      params: IdParams,
    },
  }, async (request) => {
    const principal = request.principal!;
    if (principal.role === 'agent' && principal.agentId !== request.params.id) throw forbidden('an agent token may read only its own agent');
    const state = await agents.state(request.params.id);
    if (!state.callId || !['ringing', 'on_call', 'wrap_up'].includes(state.status)) return { status: state.status, call: null, handling: null };
    // The queue call's controls: hold, and the wrap-up codes (also in wrap-up, when the call itself has ended).
    const handled = engine.handling(request.params.id);
    const handling = handled && handled.callId === state.callId ? {
      entryId: handled.entryId, callId: handled.callId, queueId: handled.queue.id, queue: handled.queue.name, dispositions: handled.queue.dispositions,
      dispositionRequired: handled.queue.disposition_required, code: handled.code, awaitingCode: handled.awaiting,
      holdSince: handled.holdSince?.toISOString() ?? null, consult: handled.consult,
      // A campaign call: whom it is with and the list's fields (the desk's screen pop).
      contact: handled.contact ?? null,
    } : null;
    const live = calls.liveCalls().find((c) => c.id === state.callId);
    // a call whose row cannot be read (deleted by retention, an outage): shown as no call
    const call = live ?? (await calls.get(state.callId).catch(() => undefined));
    if (!call) return { status: state.status, call: null, handling };
    const queueId = engine.queueOfCall(call.id);
    // a queue deleted meanwhile, or an outage: the call is shown without its queue
    const queue = queueId ? await queues.get(queueId).catch(() => undefined) : undefined;
    const steps = await ivr.traces(call.id);
    const variables: Record<string, unknown> = {};
    for (const step of steps) {
      const d = step.detail;
      if (typeof d.variable === 'string') variables[d.variable] = d.value ?? step.input;
      if (d.result && typeof d.result === 'object') Object.assign(variables, d.result as Record<string, unknown>);
    }
    const agent = queue?.screenPopUrl ? await agents.getAgent(request.params.id).catch(() => undefined) : undefined;
    const screenPop = queue?.screenPopUrl ? fillScreenPop(queue.screenPopUrl, {
      callerNumber: call.callerNumber, callerName: call.callerName, callId: call.id, did: call.did, queue: queue.name, queueId: queue.id,
      agentId: request.params.id, agentNumber: agent?.number ?? null, variables,
    }) : null;
    const previous = call.callerNumber
      ? (await calls.list({ callerNumber: call.callerNumber, limit: 6, offset: 0 })).filter((c) => c.id !== call.id).slice(0, 5)
      : [];
    return {
      status: state.status,
      handling,
      call: {
        id: call.id, callerNumber: call.callerNumber, callerName: call.callerName, did: call.did, startedAt: call.startedAt,
        queue: queue ? { id: queue.id, name: queue.name } : null,
        screenPop,
        choices: steps.filter((s) => s.input !== null).map((s) => ({ node: s.node, input: s.input, at: s.at })),
        variables,
        previousCalls: previous.map((c) => ({ id: c.id, startedAt: c.startedAt, endedAt: c.endedAt, did: c.did })),
      },
    };
  });

  app.get('/api/v1/agents/:id/recent-calls', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['agents'], summary: "The agent's latest queue calls (up to 20): caller, queue, times, hold, wrap-up code and note",
      description: 'Agents only their own.',
      params: IdParams,
    },
  }, async (request) => {
    const principal = request.principal!;
    if (principal.role === 'agent' && principal.agentId !== request.params.id) throw forbidden('an agent token may read only its own agent');
    await agents.state(request.params.id); // 404 for an unknown agent
    return queues.recentCalls(request.params.id, 20, async (callIds) => new Map((await calls.facts(callIds)).map((c) => [c.id, c.caller_number])));
  });

  app.get('/api/v1/directory', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['agents'], summary: "Where an agent can transfer or consult: queues with a short number, and colleagues' phones with their state",
      description: 'For the desk page\'s transfer and consult boxes. Colleagues without a desk phone are left out.',
      response: { 200: Type.Object({
        queues: Type.Array(Type.Object({ name: Type.String(), extension: Type.String() })),
        colleagues: Type.Array(Type.Object({ name: Type.String(), extension: Type.String(), status: Type.String(), reason: Type.Union([Type.String(), Type.Null()]) })),
      }) },
    },
  }, async (request) => {
    const [list, people] = await Promise.all([queues.list(), agents.listAgents(false)]);
    return {
      queues: list.filter((q) => q.extension).map((q) => ({ name: q.name, extension: q.extension! })),
      colleagues: people.filter((a) => a.extension && a.id !== request.principal!.agentId).map((a) => {
        const state = agents.stateOf(a.id);
        return { name: a.name, extension: a.extension!, status: state.status, reason: state.reason };
      }),
    };
  });
}
