import { tablesOf } from '../core/capability.js';
import { promptMedia } from '../prompts/service.js';
import type { Module } from '../shared.js';
import { surveyRoutes } from './routes.js';
import { SurveyRunner } from './runner.js';
import { SurveysService } from './service.js';
import { SurveysStore, type SurveysTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    surveys: { store: SurveysStore; service: SurveysService };
  }
}

/**
 * Post-call surveys (docs/surveys.md): the documents, the survey a queue's
 * caller is taken to when the agent hangs up first, the answers as keyed,
 * the comments (recordings of their own kind) and surveys taken up again
 * after a restart.
 */
export const surveysModule: Module<'surveys', 'calls' | 'prompts' | 'queues' | 'ivr' | 'recording'> = {
  name: 'surveys',
  needs: ['calls', 'prompts', 'queues', 'ivr', 'recording'],
  tables: tablesOf<SurveysTables>({ surveys: true, survey_versions: true, survey_responses: true, survey_answers: true }),
  emits: ['survey.completed'],
  consumes: [],
  async build({ ari, db, lastKnown, writes, bus, logger, digits, media, ariHelpers, calls, prompts, queues, ivr, recording }) {
    const surveysLogger = logger.child({ component: 'surveys' });
    const store = new SurveysStore(db, lastKnown);
    const runner = new SurveyRunner({
      digits, media, store, writes, bus, logger: surveysLogger, promptMedia,
      recordComment: (comment) => recording.service.recordComment(comment, media),
      connected: () => ari.state === 'up',
    });
    const service = new SurveysService(store, runner, {
      promptExists: (name) => prompts.service.exists(name),
      routeSurvey: async (did) => (await ivr.service.route(did))?.survey ?? null,
      // A yes at the IVR is in the call's steps (those still in the write queue waited for).
      optedIn: async (callId) => (await ivr.service.traces(callId)).some((t) => t.type === 'surveyOptIn' && t.detail.optedIn === true),
      usage: async () => {
        const usage = new Map<string, string[]>();
        const add = (surveyId: string | undefined, what: string) => {
          if (surveyId) usage.set(surveyId, [...(usage.get(surveyId) ?? []), what]);
        };
        for (const q of await queues.store.list()) add(q.survey?.surveyId, `queue ${q.name}`);
        for (const r of await ivr.store.listRoutes()) add(r.survey?.surveyId, `route ${r.did}`);
        return usage;
      },
      callLive: (callId) => calls.service.liveCall(callId) !== undefined,
      callExists: (callId) => calls.service.exists(callId),
      hangup: (channelId) => ariHelpers.hangup(channelId),
      conversationOver: (callId) => recording.service.conversationOver(callId),
    }, surveysLogger);
    queues.surveys.bind(service);
    // Which surveys play each prompt (the prompts refuse to delete one in use).
    prompts.usage.add(() => service.promptUsage());
    ivr.service.surveys.bind(service);
    await lastKnown.warm([store]);
    return { store, service };
  },
  routes({ service }, { http }) {
    surveyRoutes(http, service);
  },
  async reconcile({ service }, view) {
    return service.reconcile(view);
  },
};
