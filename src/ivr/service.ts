import { randomUUID } from 'node:crypto';
import type { Channel } from '../asterisk/ari-types.generated.js';
import type { Media } from '../asterisk/media.js';
import type { CallsService } from '../calls/service.js';
import { HttpError, badRequest, conflict, notFound } from '../core/errors.js';
import { LatePort } from '../core/late-port.js';
import type { SurveyOffer } from '../queues/survey-offer.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import { plural } from '../core/text.js';
import type { WriteQueue } from '../core/write-queue.js';
import { resumePoint, runFlow, type EngineDeps, type IvrCall, type ResumePoint } from './engine.js';
import { validateFlow, type FlowDocument, type Language } from './flow.js';
import { referenceProblems } from './references.js';
import { walkFlow, type Walk, type WalkInput } from './walk.js';
import type { FlowRow, IvrStore, RouteRecordingPolicy } from './store.js';

declare module '../core/events.js' {
  interface DomainEvents {
    /** A flow handed its call on, to a queue or an extension (internal: metrics time the IVR with it). */
    'ivr.left': { callId: string; flowId: string; exit: 'queue' | 'transfer'; at: string };
  }
}

export interface FlowView { id: string; name: string; currentVersion: number; createdAt: string; updatedAt: string }
export interface FlowVersionView { flowId: string; version: number; createdAt: string; document?: FlowDocument }
export interface RouteView { did: string; flowId: string; recordingPolicy: RouteRecordingPolicy; survey: SurveyOffer | null }
export interface TraceView { node: string; type: string; input: string | null; detail: Record<string, unknown>; flowVersion: number; at: string }

/** 400 with every problem of a flow listed; `subject` names the document (the body's field, or a stored version). */
export class InvalidFlowError extends HttpError {
  constructor(readonly problems: string[], subject = 'body/document') {
    super(400, 'invalid_flow', `${subject}: the flow has ${plural(problems.length, 'problem')}: ${problems.join('; ')}`, { problems });
  }
}

export interface FlowProblem { message: string; nodes: string[] }

/** The nodes a problem names: `nodes.<name>…`, and each node of a loop (`nodes a → b → a loop…`). */
export function problemNodes(message: string): FlowProblem {
  const nodes = new Set<string>();
  const loop = /^nodes (.+?) loop without/.exec(message);
  if (loop) for (const name of loop[1]!.split(' → ')) nodes.add(name);
  const named = /^nodes\.([A-Za-z0-9_-]+)/.exec(message);
  if (named) nodes.add(named[1]!);
  return { message, nodes: [...nodes] };
}

const flowView = (row: FlowRow): FlowView => ({
  id: row.id, name: row.name, currentVersion: row.current_version, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
});

/** What a caller to a DID with no route hears before the hang-up. */
const unroutedMedia = ['sound:ss-noservice'];

/**
 * IVR flows (versioned documents), DID routes, and the running of calls
 * through them. Nothing is held in memory between calls: a call reads its
 * route and flow version when it arrives and keeps that version.
 */
export class IvrService {
  /** Each live call's IVR steps not yet stored (in memory only: a restart's journal replays them). */
  private readonly pendingTraces = new Map<string, Promise<unknown>>();
  /** Whether a survey exists, for a route's survey (bound by the surveys' module, built after the IVR). */
  readonly surveys = new LatePort<{ exists: (surveyId: string) => Promise<boolean> }>('surveys for routes');

  constructor(
    private readonly store: IvrStore,
    private readonly writes: WriteQueue,
    private readonly calls: CallsService,
    private readonly media: Media,
    private readonly engine: Omit<EngineDeps, 'trace'>,
    private readonly logger: Logger,
    private readonly defaultLanguage: Language,
    private readonly promptExists: (name: string) => Promise<boolean>,
    /** A queue by id or name, asked of the queues capability. */
    private readonly queueExists: (idOrName: string) => Promise<boolean>,
    private readonly bus: EventBus,
  ) {}

  async listFlows(): Promise<FlowView[]> {
    return (await this.store.listFlows()).map(flowView);
  }

  /** The flows whose current version plays each uploaded prompt (`prompt:<name>`), by prompt name. */
  async promptUsage(): Promise<Map<string, { flowId: string; name: string }[]>> {
    const usage = new Map<string, { flowId: string; name: string }[]>();
    for (const flow of await this.store.listFlows()) {
      const version = await this.store.getVersion(flow.id, flow.current_version);
      const names = new Set([...JSON.stringify(version?.document ?? {}).matchAll(/"prompt:([a-z0-9][a-z0-9_-]{0,63})"/g)].map((m) => m[1]!));
      for (const name of names) usage.set(name, [...(usage.get(name) ?? []), { flowId: flow.id, name: flow.name }]);
    }
    return usage;
  }

  async getFlow(id: string): Promise<FlowView & { document: FlowDocument }> {
    const flow = await this.requireFlow(id);
    const version = await this.store.getVersion(id, flow.current_version);
    return { ...flowView(flow), document: version!.document };
  }

  async createFlow(name: string, document: unknown): Promise<FlowView & { document: FlowDocument }> {
    const valid = await this.valid(document);
    if (await this.store.findFlowByName(name)) throw conflict(`a flow named ${name} exists`);
    const id = randomUUID();
    await this.store.createFlow(id, name, valid);
    return this.getFlow(id);
  }

  async saveVersion(id: string, document: unknown): Promise<FlowView & { document: FlowDocument }> {
    await this.requireFlow(id);
    await this.store.addVersion(id, await this.valid(document));
    return this.getFlow(id);
  }

  async listVersions(id: string): Promise<FlowVersionView[]> {
    await this.requireFlow(id);
    return (await this.store.listVersions(id)).map((v) => ({ flowId: v.flow_id, version: v.version, createdAt: v.created_at.toISOString() }));
  }

  async getVersion(id: string, version: number): Promise<FlowVersionView> {
    const row = await this.store.getVersion(id, version);
    if (!row) throw notFound(`version ${version} of flow ${id}`);
    return { flowId: row.flow_id, version: row.version, createdAt: row.created_at.toISOString(), document: row.document };
  }

  /** Restoring an old version saves it again as the newest: history stays append-only. */
  async restoreVersion(id: string, version: number): Promise<FlowView & { document: FlowDocument }> {
    const old = await this.getVersion(id, version);
    return this.saveVersion(id, old.document);
  }

  async listRoutes(): Promise<RouteView[]> {
    return (await this.store.listRoutes()).map((r) => ({ did: r.did, flowId: r.flow_id, recordingPolicy: r.recording_policy, survey: r.survey }));
  }

  /** One DID's route (served from memory while the database is down), or undefined. */
  async route(did: string): Promise<RouteView | undefined> {
    const r = await this.store.getRoute(did);
    return r && { did: r.did, flowId: r.flow_id, recordingPolicy: r.recording_policy, survey: r.survey };
  }

  /** A route's recording policy, when set, decides for every call through it (else the queue's). */
  async putRoute(did: string, flowId: string, recordingPolicy: RouteRecordingPolicy = null, survey: SurveyOffer | null = null): Promise<RouteView> {
    await this.requireFlow(flowId);
    if (survey && !(await this.surveys.get().exists(survey.surveyId))) throw badRequest(`body/survey/surveyId: no survey ${survey.surveyId}`);
    const row = await this.store.putRoute(did, flowId, recordingPolicy, survey);
    return { did: row.did, flowId: row.flow_id, recordingPolicy: row.recording_policy, survey: row.survey };
  }

  async deleteRoute(did: string): Promise<void> {
    if (!(await this.store.deleteRoute(did))) throw notFound(`route for ${did}`);
  }

  /** A call's steps through its flow; 404 for a call that does not exist (a call that met no flow has none). */
  /**
   * A call's IVR steps. Steps still in the write queue are waited for (up
   * to 2 s: during a database outage the stored ones are shown), so an agent
   * offered the call sees everything the caller keyed.
   */
  async traces(callId: string): Promise<TraceView[]> {
    const pending = this.pendingTraces.get(callId);
    if (pending) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([pending, new Promise((resolve) => { timer = setTimeout(resolve, 2000); })]);
      clearTimeout(timer);
    }
    const steps = await this.store.traces(callId);
    if (steps.length === 0 && !(await this.calls.exists(callId))) throw notFound('call');
    return steps.map((t) => ({
      node: t.node, type: t.node_type, input: t.input, detail: t.detail, flowVersion: t.flow_version, at: t.at.toISOString(),
    }));
  }

  async flowExists(id: string): Promise<boolean> {
    return /^[0-9a-f-]{36}$/i.test(id) && (await this.store.getFlow(id)) !== undefined;
  }

  /** The route for DID calls: the DID's flow, or a polite message when it has none. */
  async answerDid(channel: Channel, did: string): Promise<void | 'released'> {
    const callId = this.calls.callIdOf(channel.id);
    const route = await this.store.getRoute(did);
    if (!callId || !route || !(await this.flowExists(route.flow_id))) {
      this.logger.warn({ did, channelId: channel.id }, 'call to a DID with no IVR route');
      this.calls.noteEvent(channel.id, 'unrouted', { did }, new Date());
      await this.media.playToEnd(channel.id, unroutedMedia);
      return;
    }
    const language = this.languageOf(channel);
    return this.runFlowById({ channelId: channel.id, callId, caller: channel.caller.number, did }, route.flow_id, language);
  }

  /**
   * A DID call an earlier process had in its IVR (found in Stasis after a
   * restart): it goes on where its trace says it was, on the version it
   * started on, with what it had keyed; a call with no trace starts its route.
   */
  async resumeDid(channel: Channel, did: string): Promise<void | 'released'> {
    const callId = this.calls.callIdOf(channel.id);
    const trace = callId ? await this.store.traces(callId) : [];
    const last = trace.at(-1);
    const version = last ? await this.store.getVersion(last.flow_id, last.flow_version) : undefined;
    if (!callId || !last || !version) return this.answerDid(channel, did);
    // The steps of the flow it was in last (a queue's overflow flow may follow a DID's).
    let first = trace.length - 1;
    while (first > 0 && trace[first - 1]!.flow_id === last.flow_id && trace[first - 1]!.flow_version === last.flow_version) first -= 1;
    const language = this.languageOf(channel);
    const from = resumePoint(version.document, trace.slice(first), language);
    this.logger.info({ callId, flowId: last.flow_id, version: last.flow_version, node: from.node ?? null }, 'an IVR call goes on where it was before the restart');
    if (from.node === undefined) return;
    return this.runFlowById({ channelId: channel.id, callId, caller: channel.caller.number, did }, last.flow_id, language, { version: last.flow_version, from });
  }

  /** Runs a call through the current version of a flow (also used by queue overflows), or on from a point of a given version. */
  async runFlowById(call: IvrCall, flowId: string, language: Language = this.defaultLanguage, resume?: { version: number; from: ResumePoint }): Promise<void | 'released'> {
    const flow = await this.store.getFlow(flowId);
    const version = flow ? await this.store.getVersion(flow.id, resume?.version ?? flow.current_version) : undefined;
    if (!flow || !version) {
      this.logger.error({ flowId, callId: call.callId }, 'no such IVR flow');
      await this.media.playToEnd(call.channelId, unroutedMedia);
      return;
    }
    const callId = call.callId;
    return runFlow({
      ...this.engine,
      trace: (entry) => {
        const at = new Date();
        const written = this.writes.enqueue(`ivr trace ${callId} ${entry.node}`, this.store.insertTrace({
          call_id: callId, flow_id: flow.id, flow_version: version.version, node: entry.node, node_type: entry.type,
          input: entry.input, detail: entry.detail, at,
        }));
        if (entry.type === 'queue' || entry.type === 'transfer') this.bus.emit('ivr.left', { callId, flowId: flow.id, exit: entry.type, at: at.toISOString() });
        // Readers of this call's steps (the agent's desk, offered the call a
        // moment later) wait for them to be stored: see traces().
        const all = Promise.all([this.pendingTraces.get(callId), written]);
        this.pendingTraces.set(callId, all);
        void all.then(() => { if (this.pendingTraces.get(callId) === all) this.pendingTraces.delete(callId); });
      },
    }, call, { id: flow.id, version: version.version, document: version.document }, language, resume?.from);
  }

  /** The caller's channel language when it is one the flows speak, else the default. */
  private languageOf(channel: Channel): Language {
    return channel.language === 'en' || channel.language === 'es' ? channel.language : this.defaultLanguage;
  }

  /** The document, if it is a valid flow whose prompts, queues and lookup addresses all pass. */
  private async valid(document: unknown): Promise<FlowDocument> {
    const problems = await this.problems(document);
    if (problems.length > 0) throw new InvalidFlowError(problems);
    return document as FlowDocument;
  }

  /** Every problem saving the document would meet: its own, then (when it has none) what it names outside itself. */
  private async problems(document: unknown): Promise<string[]> {
    const problems = validateFlow(document);
    if (problems.length > 0) return problems;
    return referenceProblems(document as FlowDocument, {
      promptExists: this.promptExists, queueExists: this.queueExists, checkUrls: (urls) => this.engine.outbound.checkUrls(urls),
    });
  }

  /** POST /ivr-flows/check: the problems saving would meet, each with the nodes it concerns (the editor marks them). */
  async check(document: unknown): Promise<{ problems: FlowProblem[] }> {
    return { problems: (await this.problems(document)).map(problemNodes) };
  }

  /** POST /ivr-flows/walk: a simulated call through an unsaved document (walk.ts); a document with problems is refused. */
  async walk(document: unknown, input: Omit<WalkInput, 'language'> & { language?: Language }): Promise<Walk> {
    const problems = validateFlow(document);
    if (problems.length > 0) throw new InvalidFlowError(problems);
    const flow = document as FlowDocument;
    return walkFlow(flow, { ...input, language: input.language ?? this.defaultLanguage });
  }

  private async requireFlow(id: string): Promise<FlowRow> {
    const flow = await this.store.getFlow(id);
    if (!flow) throw notFound('flow');
    return flow;
  }
}
