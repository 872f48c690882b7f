import { tablesOf } from '../core/capability.js';
import { LatePort } from '../core/late-port.js';
import type { IvrService } from '../ivr/service.js';
import type { SurveysService } from '../surveys/service.js';
import type { Module } from '../shared.js';
import { QueueEngine } from './engine.js';
import { queueRoutes } from './routes.js';
import { QueuesService } from './service.js';
import { QueuesStore, type QueuesTables } from './store.js';

/** What the queues need of the IVR (overflow into a flow): bound by the IVR's module once it exists. */
export type IvrFlowsPort = LatePort<Pick<IvrService, 'runFlowById' | 'flowExists'>>;
/** What the queues need of the surveys (a queue's survey, the caller's survey at the end of a call): bound by the surveys' module. */
export type SurveysPort = LatePort<Pick<SurveysService, 'exists' | 'afterCall'>>;

declare module '../core/capability.js' {
  interface Capabilities {
    queues: { store: QueuesStore; engine: QueueEngine; service: QueuesService; ivrFlows: IvrFlowsPort; surveys: SurveysPort };
  }
}

/** Queues, members, the calls waiting in them (QueueEngine) and their records. */
export const queuesModule: Module<'queues', 'agents' | 'calls'> = {
  name: 'queues',
  needs: ['agents', 'calls'],
  tables: tablesOf<QueuesTables>({
    queues: true, queue_members: true, queue_entries: true, queue_offers: true, queue_callbacks: true, queue_messages: true,
  }),
  emits: ['queue.entry', 'queue.connected', 'queue.call'],
  consumes: ['agent.state'],
  async build({ ari, ariHelpers, stasis, channels, media, db, lastKnown, bus, writes, logger, site, agents, calls, ami }) {
    const store = new QueuesStore(db, lastKnown, { facts: (callIds) => calls.service.facts(callIds) });
    const queuesLogger = logger.child({ component: 'queues' });
    // Queues overflow into IVR flows, and IVR flows end in queues: the queues
    // get the IVR through a port bound once the IVR exists (docs/architecture.md).
    const ivrFlows: IvrFlowsPort = new LatePort('ivr flows');
    const surveys: SurveysPort = new LatePort('surveys');
    const engine = new QueueEngine(ari, ariHelpers, stasis, channels, media, store, agents.service, bus, writes, queuesLogger, {
      runFlow: (call, flowId) => ivrFlows.get().runFlowById(call, flowId),
      noteCallEvent: (channelId, type, detail) => calls.service.noteEvent(channelId, type, detail, new Date()),
      noteEventOfCall: (callId, type, detail) => calls.service.noteEventOfCall(callId, type, detail, new Date()),
      legStarted: (leg) => void calls.service.legStarted(leg),
      legAnswered: (channelId) => calls.service.callAnswered(channelId, new Date()),
      afterCall: (end) => surveys.get().afterCall(end),
    }, site, ami);
    const service = new QueuesService(store, engine, agents.service, media, queuesLogger, {
      flowExists: (flowId) => ivrFlows.get().flowExists(flowId),
      callExists: (callId) => calls.service.exists(callId),
      surveyExists: (surveyId) => surveys.get().exists(surveyId),
      callerOf: async (callId) => {
        const [call] = await calls.service.facts([callId]);
        return call ? call.caller_number ?? '' : undefined;
      },
    });
    await lastKnown.warm([store]);
    return { store, engine, service, ivrFlows, surveys };
  },
  routes({ service }, { http }) {
    queueRoutes(http, service);
  },
  async reconcile({ engine }, view, { config }) {
    await engine.reconcile(view, config.defaultLanguage);
    return engine.callerChannels();
  },
  stop({ engine }) {
    engine.stop();
  },
};
