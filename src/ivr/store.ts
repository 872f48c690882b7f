import type { Generated, Kysely, Selectable } from 'kysely';
import type { LastKnownGood } from '../core/last-known-good.js';
import type { WriteOp } from '../core/write-queue.js';
import type { SurveyOffer } from '../queues/survey-offer.js';
import type { FlowDocument } from './flow.js';

export interface IvrFlowsTable { id: string; name: string; current_version: number; created_at: Generated<Date>; updated_at: Generated<Date> }
export interface IvrFlowVersionsTable { flow_id: string; version: number; document: FlowDocument; created_at: Generated<Date> }
export type RouteRecordingPolicy = 'always' | 'never' | 'on_demand' | null;
export interface IvrRoutesTable {
  did: string; flow_id: string; recording_policy: Generated<RouteRecordingPolicy>;
  /** The post-call survey of every call through the route (migration 029): when set it decides, else the queue's. */
  survey: Generated<SurveyOffer | null>;
  created_at: Generated<Date>;
}
export interface IvrTracesTable {
  id: Generated<number>; call_id: string; flow_id: string; flow_version: number; node: string; node_type: string;
  input: string | null; detail: Record<string, unknown>; at: Date;
}

export interface IvrTables { ivr_flows: IvrFlowsTable; ivr_flow_versions: IvrFlowVersionsTable; ivr_routes: IvrRoutesTable; ivr_traces: IvrTracesTable }
export type FlowRow = Selectable<IvrFlowsTable>;
export type FlowVersionRow = Selectable<IvrFlowVersionsTable>;
export type RouteRow = Selectable<IvrRoutesTable>;
export type TraceRow = Selectable<IvrTracesTable>;

const json = <T>(value: T): T => JSON.stringify(value) as unknown as T;

export class IvrStore {
  /** cache: the reads calls depend on fall back to their last known value while the database is down. */
  constructor(private readonly db: Kysely<IvrTables>, private readonly cache?: LastKnownGood) {}

  private read<T>(key: string, load: () => Promise<T>): Promise<T> {
    return this.cache ? this.cache.read(key, load) : load();
  }

  /** A read every call makes: served from memory while known current (see LastKnownGood). */
  private readFresh<T>(key: string, load: () => Promise<T>, forever = false): Promise<T> {
    return this.cache ? this.cache.readFresh(key, load, forever) : load();
  }

  /** Every route, flow and flow's current version, into the cache (at start). */
  async warm(remember: (key: string, value: unknown) => void): Promise<void> {
    for (const row of await this.listRoutes()) remember(`ivr-route:${row.did}`, row);
    const current = await this.db.selectFrom('ivr_flow_versions').innerJoin('ivr_flows', (join) => join
      .onRef('ivr_flows.id', '=', 'ivr_flow_versions.flow_id').onRef('ivr_flows.current_version', '=', 'ivr_flow_versions.version'))
      .selectAll('ivr_flow_versions').execute();
    for (const row of await this.listFlows()) remember(`ivr-flow:${row.id}`, row);
    for (const row of current) remember(`ivr-flow-version:${row.flow_id}:${row.version}`, row);
  }

  listFlows(): Promise<FlowRow[]> {
    return this.db.selectFrom('ivr_flows').selectAll().orderBy('name').execute();
  }

  getFlow(id: string): Promise<FlowRow | undefined> {
    return this.readFresh(`ivr-flow:${id}`, () => this.db.selectFrom('ivr_flows').selectAll().where('id', '=', id).executeTakeFirst());
  }

  findFlowByName(name: string): Promise<FlowRow | undefined> {
    return this.db.selectFrom('ivr_flows').selectAll().where('name', '=', name).executeTakeFirst();
  }

  getVersion(flowId: string, version: number): Promise<FlowVersionRow | undefined> {
    // A version never changes once written.
    return this.readFresh(`ivr-flow-version:${flowId}:${version}`, () => this.db.selectFrom('ivr_flow_versions').selectAll().where('flow_id', '=', flowId).where('version', '=', version).executeTakeFirst(), true);
  }

  listVersions(flowId: string): Promise<Omit<FlowVersionRow, 'document'>[]> {
    return this.db.selectFrom('ivr_flow_versions').select(['flow_id', 'version', 'created_at']).where('flow_id', '=', flowId).orderBy('version').execute();
  }

  async createFlow(id: string, name: string, document: FlowDocument): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('ivr_flows').values({ id, name, current_version: 1 }).execute();
      await trx.insertInto('ivr_flow_versions').values({ flow_id: id, version: 1, document: json(document) }).execute();
    });
    this.cache?.invalidate(`ivr-flow:${id}`, `ivr-flow-version:${id}:`);
  }

  /** Appends a version and makes it current; returns its number. */
  async addVersion(flowId: string, document: FlowDocument): Promise<number> {
    const version = await this.db.transaction().execute(async (trx) => {
      const flow = await trx.updateTable('ivr_flows').set((eb) => ({ current_version: eb('current_version', '+', 1), updated_at: new Date() }))
        .where('id', '=', flowId).returning('current_version').executeTakeFirstOrThrow();
      await trx.insertInto('ivr_flow_versions').values({ flow_id: flowId, version: flow.current_version, document: json(document) }).execute();
      return flow.current_version;
    });
    this.cache?.invalidate(`ivr-flow:${flowId}`, `ivr-flow-version:${flowId}:`);
    return version;
  }

  listRoutes(): Promise<RouteRow[]> {
    return this.db.selectFrom('ivr_routes').selectAll().orderBy('did').execute();
  }

  getRoute(did: string): Promise<RouteRow | undefined> {
    return this.readFresh(`ivr-route:${did}`, () => this.db.selectFrom('ivr_routes').selectAll().where('did', '=', did).executeTakeFirst());
  }

  async putRoute(did: string, flowId: string, recordingPolicy: RouteRecordingPolicy, survey: SurveyOffer | null): Promise<RouteRow> {
    const values = { flow_id: flowId, recording_policy: recordingPolicy, survey: survey === null ? null : json(survey) };
    const row = await this.db.insertInto('ivr_routes').values({ did, ...values })
      .onConflict((oc) => oc.column('did').doUpdateSet(values)).returningAll().executeTakeFirstOrThrow();
    this.forgetRoute(did);
    return row;
  }

  async deleteRoute(did: string): Promise<boolean> {
    const result = await this.db.deleteFrom('ivr_routes').where('did', '=', did).executeTakeFirst();
    this.forgetRoute(did);
    return result.numDeletedRows > 0n;
  }

  /** The route (with its recording policy, which the recordings read through getRoute) changed. */
  private forgetRoute(did: string): void {
    this.cache?.invalidate(`ivr-route:${did}`);
  }

  /** The write of one step of a call through its flow, for the write queue. */
  insertTrace(row: Omit<IvrTracesTable, 'id'>): WriteOp {
    return { insert: 'ivr_traces', values: { ...row, detail: json(row.detail) } };
  }

  traces(callId: string): Promise<TraceRow[]> {
    return this.db.selectFrom('ivr_traces').selectAll().where('call_id', '=', callId).orderBy('id').execute();
  }

  /** Deletes the IVR steps of these calls: how many, and the latest one's moment (for the retention's watermark). */
  async deleteTracesOf(callIds: string[]): Promise<{ traces: number; latest: Date | undefined }> {
    if (callIds.length === 0) return { traces: 0, latest: undefined };
    const rows = await this.db.deleteFrom('ivr_traces').where('call_id', 'in', callIds).returning('at').execute();
    return { traces: rows.length, latest: rows.reduce<Date | undefined>((max, row) => (max && max >= row.at ? max : row.at), undefined) };
  }
}
