import { randomUUID } from 'node:crypto';
import type { Bridge, Channel } from '../asterisk/ari-types.generated.js';
import { HttpError, conflict, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { plural } from '../core/text.js';
import { promptsOf, validateSurvey, type SurveyDocument } from './document.js';
import type { CallEnd, PostCallSurvey } from '../queues/ports.js';
import { sampled, type SurveyOffer } from '../queues/survey-offer.js';
import type { SurveyRunner, SurveySession } from './runner.js';
import type { AnswerRow, ResponseRow, SurveyRow, SurveysStore } from './store.js';

export interface SurveyView { id: string; name: string; currentVersion: number; createdAt: string; updatedAt: string }
export interface SurveyVersionView { surveyId: string; version: number; createdAt: string; document?: SurveyDocument }
export interface ResponseView {
  id: string; surveyId: string; surveyVersion: number; callId: string; queueId: string | null; agentId: string | null; mode: string; language: string;
  offeredAt: string; completedAt: string | null; status: 'completed' | 'in_progress' | 'partial';
  answers: { position: number; question: string; scale: string; value: number; answeredAt: string }[];
  commentRecordingId: string | null;
}

/** 400 with every problem of a survey document listed. */
export class InvalidSurveyError extends HttpError {
  constructor(readonly problems: string[], subject = 'body/document') {
    super(400, 'invalid_survey', `${subject}: the survey has ${plural(problems.length, 'problem')}: ${problems.join('; ')}`, { problems });
  }
}

/** What the surveys need from other capabilities, given at construction (module.ts). */
export interface SurveyPorts {
  promptExists(name: string): Promise<boolean>;
  /** The DID route's survey (null: none; the queue's decides). */
  routeSurvey(did: string): Promise<SurveyOffer | null>;
  /** Whether the caller said yes at an IVR surveyOptIn node (the call's IVR steps). */
  optedIn(callId: string): Promise<boolean>;
  /** The queues and DID routes naming each survey, by survey id. */
  usage(): Promise<Map<string, string[]>>;
  /** Whether a call is still going on here (a restart's reconcile). */
  callLive(callId: string): boolean;
  hangup(channelId: string): Promise<void>;
  /** Whether a call has a record (404 for a call that does not). */
  callExists(callId: string): Promise<boolean>;
  /** The call's recording stops where its conversation ends (the survey is not recorded with it). */
  conversationOver(callId: string): Promise<void>;
}

const surveyView = (row: SurveyRow): SurveyView => ({
  id: row.id, name: row.name, currentVersion: row.current_version, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
});

/**
 * Post-call surveys (docs/surveys.md): the documents (versioned like IVR
 * flows), the decision at the end of a queue call, the responses, and
 * taking up surveys in progress after a restart.
 */
export class SurveysService {
  constructor(
    private readonly store: SurveysStore,
    private readonly runner: SurveyRunner,
    private readonly ports: SurveyPorts,
    private readonly logger: Logger,
  ) {}

  async list(): Promise<SurveyView[]> {
    return (await this.store.list()).map(surveyView);
  }

  async get(id: string): Promise<SurveyView & { document: SurveyDocument }> {
    const row = await this.require(id);
    const version = await this.store.getVersion(id, row.current_version);
    return { ...surveyView(row), document: version!.document };
  }

  async exists(id: string): Promise<boolean> {
    return /^[0-9a-f-]{36}$/i.test(id) && (await this.store.get(id)) !== undefined;
  }

  async create(name: string, document: unknown): Promise<SurveyView & { document: SurveyDocument }> {
    const valid = await this.valid(document);
    if (await this.store.findByName(name)) throw conflict(`a survey named ${name} exists`);
    const id = randomUUID();
    await this.store.create(id, name, valid);
    return this.get(id);
  }

  async save(id: string, change: { name?: string; document?: unknown }): Promise<SurveyView & { document: SurveyDocument }> {
    const row = await this.require(id);
    const valid = change.document === undefined ? undefined : await this.valid(change.document);
    if (change.name !== undefined && change.name !== row.name) {
      if (await this.store.findByName(change.name)) throw conflict(`a survey named ${change.name} exists`);
      await this.store.rename(id, change.name);
    }
    if (valid) await this.store.addVersion(id, valid);
    return this.get(id);
  }

  async versions(id: string): Promise<SurveyVersionView[]> {
    await this.require(id);
    return (await this.store.listVersions(id)).map((v) => ({ surveyId: v.survey_id, version: v.version, createdAt: v.created_at.toISOString() }));
  }

  async version(id: string, version: number): Promise<SurveyVersionView> {
    const row = await this.store.getVersion(id, version);
    if (!row) throw notFound(`version ${version} of survey ${id}`);
    return { surveyId: row.survey_id, version: row.version, createdAt: row.created_at.toISOString(), document: row.document };
  }

  /** The surveys whose current version plays each uploaded prompt, by prompt name. */
  async promptUsage(): Promise<Map<string, { surveyId: string; name: string }[]>> {
    const usage = new Map<string, { surveyId: string; name: string }[]>();
    for (const survey of await this.store.list()) {
      const version = await this.store.getVersion(survey.id, survey.current_version);
      const names = new Set(promptsOf(version?.document ?? { questions: [], thanks: [] }).map((p) => p.name));
      for (const name of names) usage.set(name, [...(usage.get(name) ?? []), { surveyId: survey.id, name: survey.name }]);
    }
    return usage;
  }

  /** Refused (409) while a queue or route offers it, or once it has responses (its reports read it). */
  async delete(id: string): Promise<void> {
    await this.require(id);
    const users = (await this.ports.usage()).get(id);
    if (users && users.length > 0) throw conflict(`the survey is offered by ${users.join(', ')}: remove it there first`);
    if (await this.store.hasResponses(id)) throw conflict('the survey has responses, which its reports read: it is kept');
    await this.store.delete(id);
  }

  /** The problems saving a document would meet (nothing is saved). */
  async check(document: unknown): Promise<{ problems: string[] }> {
    return { problems: await this.problems(document) };
  }

  // ---- responses ----

  async responsesOfCall(callId: string): Promise<ResponseView[]> {
    const rows = await this.store.responsesOfCall(callId);
    if (rows.length === 0 && !(await this.ports.callExists(callId))) throw notFound('call');
    return this.views(rows);
  }

  async responses(filter: Parameters<SurveysStore['listResponses']>[0]): Promise<ResponseView[]> {
    return this.views(await this.store.listResponses(filter));
  }

  async response(id: string): Promise<ResponseView> {
    const row = await this.store.response(id);
    if (!row) throw notFound('survey response');
    return (await this.views([row]))[0]!;
  }

  private async views(rows: ResponseRow[]): Promise<ResponseView[]> {
    const answers = new Map<string, AnswerRow[]>();
    for (const a of await this.store.answersOf(rows.map((r) => r.id))) answers.set(a.response_id, [...(answers.get(a.response_id) ?? []), a]);
    return rows.map((r) => ({
      id: r.id, surveyId: r.survey_id, surveyVersion: r.survey_version, callId: r.call_id, queueId: r.queue_id, agentId: r.agent_id, mode: r.mode, language: r.language,
      offeredAt: r.offered_at.toISOString(), completedAt: r.completed_at?.toISOString() ?? null,
      status: r.completed_at ? 'completed' : this.runner.isRunning(r.id) || this.ports.callLive(r.call_id) ? 'in_progress' : 'partial',
      answers: (answers.get(r.id) ?? []).map((a) => ({ position: a.position, question: a.question, scale: a.scale, value: a.value, answeredAt: a.answered_at.toISOString() })),
      commentRecordingId: r.comment_recording_id,
    }));
  }

  // ---- calls ----

  /**
   * A queue call's agent hung up first: the survey its route (else its
   * queue) offers, when this caller gets it (the sample, or their yes at the
   * IVR). Returns the survey that takes the caller, or undefined: none.
   */
  async afterCall(end: CallEnd): Promise<PostCallSurvey | undefined> {
    const offer = (end.did ? await this.ports.routeSurvey(end.did) : null) ?? end.queueSurvey;
    if (!offer || !sampled(offer)) return undefined;
    if (offer.mode === 'opt_in' && !(await this.ports.optedIn(end.callId))) return undefined;
    const survey = await this.store.get(offer.surveyId);
    const version = survey ? await this.store.getVersion(survey.id, survey.current_version) : undefined;
    if (!survey || !version) {
      this.logger.warn({ surveyId: offer.surveyId, queueId: end.queueId }, 'the survey a queue or route names does not exist; the caller is not surveyed');
      return undefined;
    }
    let session: SurveySession | undefined;
    return {
      begin: () => {
        session = this.runner.offer({
          surveyId: survey.id, version: version.version, document: version.document, callId: end.callId, channelId: end.channelId,
          entryId: end.entryId, queueId: end.queueId, agentId: end.agentId, language: end.language,
        }, offer.mode);
        this.logger.info({ callId: end.callId, responseId: session.responseId, surveyId: survey.id }, 'the caller is taken to the post-call survey');
      },
      play: async () => {
        await this.ports.conversationOver(end.callId).catch((err: unknown) => this.logger.warn({ err, callId: end.callId }, 'could not end the call recording before the survey'));
        return this.runner.run(session!);
      },
    };
  }

  /**
   * On every (re)connection to Asterisk: callers whose survey was going on
   * (an earlier run of centralita, or before the connection dropped) and
   * whose channel is still in our application, alone, go on after their
   * last answer. Returns the channels taken (nobody else routes them).
   */
  async reconcile(view: { channels: Channel[]; bridges: Bridge[] }): Promise<string[]> {
    const bridged = new Set(view.bridges.flatMap((b) => b.channels));
    const alone = view.channels.filter((c) => !bridged.has(c.id) && c.state === 'Up').map((c) => c.id);
    const open = await this.store.openOnChannels(alone).catch((err: unknown) => {
      this.logger.warn({ err }, 'could not read the surveys in progress; callers in a survey are routed again');
      return [];
    });
    const taken: string[] = [];
    for (const row of open) {
      taken.push(row.channel_id);
      // Claimed before anything is awaited: a second reconciliation meanwhile leaves it alone.
      if (!this.runner.claim(row.id)) continue;
      const version = await this.store.getVersion(row.survey_id, row.survey_version).catch(() => undefined);
      const answers = version ? await this.store.answersOf([row.id]).catch(() => undefined) : undefined;
      if (!version || !answers) {
        // Not to be routed again (the IVR would queue the caller once more): the call ends here.
        this.runner.release(row.id);
        this.logger.warn({ responseId: row.id, callId: row.call_id }, 'a survey in progress could not be read after the restart; the call ends');
        await this.ports.hangup(row.channel_id);
        continue;
      }
      const last = answers.reduce((max, a) => Math.max(max, a.position), 0);
      this.logger.info({ callId: row.call_id, responseId: row.id, from: last + 1 }, 'a survey in progress goes on after the restart');
      void this.runner.run({
        responseId: row.id, surveyId: row.survey_id, version: row.survey_version, document: version.document, callId: row.call_id, channelId: row.channel_id,
        entryId: row.entry_id, queueId: row.queue_id, agentId: row.agent_id, language: row.language,
        // Answers given were stored: go on after the last; a comment recorded is not asked again.
        from: last + 1,
        answers: answers.map((a) => ({ position: a.position, question: a.question, scale: a.scale, value: a.value })),
        commentRecordingId: row.comment_recording_id,
      }).then(
        // Cut again by the connection: the next reconciliation goes on; else the call ends with the survey.
        (outcome) => (outcome === 'interrupted' ? undefined : this.ports.hangup(row.channel_id)),
        (err: unknown) => this.logger.error({ err, responseId: row.id }, 'the survey failed'),
      );
    }
    return taken;
  }

  private async require(id: string): Promise<SurveyRow> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.store.get(id) : undefined;
    if (!row) throw notFound('survey');
    return row;
  }

  private async problems(document: unknown): Promise<string[]> {
    const problems = validateSurvey(document);
    if (problems.length > 0) return problems;
    const missing: string[] = [];
    for (const { field, name } of promptsOf(document as SurveyDocument)) {
      if (!(await this.ports.promptExists(name))) missing.push(`${field} plays prompt:${name}, but no prompt by that name was uploaded`);
    }
    return missing;
  }

  private async valid(document: unknown): Promise<SurveyDocument> {
    const problems = await this.problems(document);
    if (problems.length > 0) throw new InvalidSurveyError(problems);
    return document as SurveyDocument;
  }
}
