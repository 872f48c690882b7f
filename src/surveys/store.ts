import type { Generated, Kysely, Selectable } from 'kysely';
import type { LastKnownGood } from '../core/last-known-good.js';
import type { WriteOp } from '../core/write-queue.js';
import type { Language } from '../ivr/flow.js';
import type { Scale, SurveyDocument } from './document.js';

export interface SurveysTable { id: string; name: string; current_version: number; created_at: Generated<Date>; updated_at: Generated<Date> }
export interface SurveyVersionsTable { survey_id: string; version: number; document: SurveyDocument; created_at: Generated<Date> }
export interface SurveyResponsesTable {
  id: string; survey_id: string; survey_version: number; call_id: string; channel_id: string;
  entry_id: string | null; queue_id: string | null; agent_id: string | null; mode: 'always' | 'opt_in'; language: Language;
  offered_at: Date; completed_at: Date | null; comment_recording_id: string | null;
}
export interface SurveyAnswersTable {
  response_id: string; position: number; question: string; scale: Scale; measure: 'csat' | 'nps' | null; value: number; answered_at: Date;
}
export interface SurveysTables {
  surveys: SurveysTable; survey_versions: SurveyVersionsTable; survey_responses: SurveyResponsesTable; survey_answers: SurveyAnswersTable;
}
export type SurveyRow = Selectable<SurveysTable>;
export type SurveyVersionRow = Selectable<SurveyVersionsTable>;
export type ResponseRow = Selectable<SurveyResponsesTable>;
export type AnswerRow = Selectable<SurveyAnswersTable>;

const json = <T>(value: T): T => JSON.stringify(value) as unknown as T;

/** Surveys, their versions (append-only), the responses and their answers. */
export class SurveysStore {
  /** cache: the versions a call's survey reads are served while the database is down (LastKnownGood). */
  constructor(private readonly db: Kysely<SurveysTables>, private readonly cache?: LastKnownGood) {}

  list(): Promise<SurveyRow[]> {
    return this.db.selectFrom('surveys').selectAll().orderBy('name').execute();
  }

  get(id: string): Promise<SurveyRow | undefined> {
    const load = () => this.db.selectFrom('surveys').selectAll().where('id', '=', id).executeTakeFirst();
    return this.cache ? this.cache.readFresh(`survey:${id}`, load) : load();
  }

  findByName(name: string): Promise<SurveyRow | undefined> {
    return this.db.selectFrom('surveys').selectAll().where('name', '=', name).executeTakeFirst();
  }

  getVersion(id: string, version: number): Promise<SurveyVersionRow | undefined> {
    const load = () => this.db.selectFrom('survey_versions').selectAll().where('survey_id', '=', id).where('version', '=', version).executeTakeFirst();
    // A version never changes once written.
    return this.cache ? this.cache.readFresh(`survey-version:${id}:${version}`, load, true) : load();
  }

  listVersions(id: string): Promise<Omit<SurveyVersionRow, 'document'>[]> {
    return this.db.selectFrom('survey_versions').select(['survey_id', 'version', 'created_at']).where('survey_id', '=', id).orderBy('version').execute();
  }

  /** Every survey and its current version, into the cache (at start). */
  async warm(remember: (key: string, value: unknown) => void): Promise<void> {
    for (const row of await this.list()) {
      remember(`survey:${row.id}`, row);
      remember(`survey-version:${row.id}:${row.current_version}`, await this.getVersion(row.id, row.current_version));
    }
  }

  async create(id: string, name: string, document: SurveyDocument): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('surveys').values({ id, name, current_version: 1 }).execute();
      await trx.insertInto('survey_versions').values({ survey_id: id, version: 1, document: json(document) }).execute();
    });
    this.cache?.invalidate(`survey:${id}`);
  }

  async addVersion(id: string, document: SurveyDocument): Promise<number> {
    const version = await this.db.transaction().execute(async (trx) => {
      const row = await trx.updateTable('surveys').set((eb) => ({ current_version: eb('current_version', '+', 1), updated_at: new Date() }))
        .where('id', '=', id).returning('current_version').executeTakeFirstOrThrow();
      await trx.insertInto('survey_versions').values({ survey_id: id, version: row.current_version, document: json(document) }).execute();
      return row.current_version;
    });
    this.cache?.invalidate(`survey:${id}`);
    return version;
  }

  async rename(id: string, name: string): Promise<void> {
    await this.db.updateTable('surveys').set({ name, updated_at: new Date() }).where('id', '=', id).execute();
    this.cache?.invalidate(`survey:${id}`);
  }

  /** Whether any response names the survey (a survey with responses is kept: its reports read it). */
  async hasResponses(id: string): Promise<boolean> {
    return (await this.db.selectFrom('survey_responses').select('id').where('survey_id', '=', id).limit(1).executeTakeFirst()) !== undefined;
  }

  async delete(id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('survey_versions').where('survey_id', '=', id).execute();
      await trx.deleteFrom('surveys').where('id', '=', id).execute();
    });
    this.cache?.invalidate(`survey:${id}`, `survey-version:${id}:`);
  }

  // ---- responses (written through the write queue, as they happen) ----

  insertResponse(row: SurveyResponsesTable): WriteOp {
    return { insert: 'survey_responses', values: { ...row }, onConflictDoNothing: ['id'] };
  }

  insertAnswer(row: SurveyAnswersTable): WriteOp {
    return { insert: 'survey_answers', values: { ...row }, onConflictDoNothing: ['response_id', 'position'] };
  }

  updateResponse(id: string, set: Partial<Pick<SurveyResponsesTable, 'completed_at' | 'comment_recording_id' | 'channel_id'>>): WriteOp {
    return { update: 'survey_responses', set: { ...set }, where: { id } };
  }

  responsesOfCall(callId: string): Promise<ResponseRow[]> {
    return this.db.selectFrom('survey_responses').selectAll().where('call_id', '=', callId).orderBy('offered_at').execute();
  }

  response(id: string): Promise<ResponseRow | undefined> {
    return this.db.selectFrom('survey_responses').selectAll().where('id', '=', id).executeTakeFirst();
  }

  answersOf(responseIds: string[]): Promise<AnswerRow[]> {
    if (responseIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('survey_answers').selectAll().where('response_id', 'in', responseIds).orderBy('response_id').orderBy('position').execute();
  }

  /** Responses not completed whose caller's channel is one of these (a restart takes them up). */
  openOnChannels(channelIds: string[]): Promise<ResponseRow[]> {
    if (channelIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('survey_responses').selectAll().where('completed_at', 'is', null).where('channel_id', 'in', channelIds).execute();
  }

  /** Deletes the responses (and answers) of these calls (the event retention): how many, and the latest offer's moment (the reports' watermark). */
  async deleteResponsesOf(callIds: string[]): Promise<{ responses: number; latest: Date | undefined }> {
    if (callIds.length === 0) return { responses: 0, latest: undefined };
    const ids = this.db.selectFrom('survey_responses').select('id').where('call_id', 'in', callIds);
    await this.db.deleteFrom('survey_answers').where('response_id', 'in', ids).execute();
    const rows = await this.db.deleteFrom('survey_responses').where('call_id', 'in', callIds).returning('offered_at').execute();
    return { responses: rows.length, latest: rows.reduce<Date | undefined>((max, row) => (max && max >= row.offered_at ? max : row.offered_at), undefined) };
  }

  /** Responses offered in [from, to), newest first, with optional filters. */
  listResponses(filter: { from: Date; to: Date; surveyId?: string; queueId?: string; agentId?: string; limit: number; offset: number }): Promise<ResponseRow[]> {
    let query = this.db.selectFrom('survey_responses').selectAll().where('offered_at', '>=', filter.from).where('offered_at', '<', filter.to);
    if (filter.surveyId) query = query.where('survey_id', '=', filter.surveyId);
    if (filter.queueId) query = query.where('queue_id', '=', filter.queueId);
    if (filter.agentId) query = query.where('agent_id', '=', filter.agentId);
    return query.orderBy('offered_at', 'desc').orderBy('id').limit(filter.limit).offset(filter.offset).execute();
  }
}
