import { tablesOf } from '../core/capability.js';
import type { Module } from '../shared.js';
import { promptMedia } from '../prompts/service.js';
import { CallbackDialer } from './callbacks.js';
import { CampaignCodes } from './campaign-codes.js';
import { CampaignDialer } from './campaign-dialer.js';
import { CampaignPacing } from './campaign-pacing.js';
import { campaignSessionRoutes } from './campaign-routes.js';
import { agentLegArg, customerLegArg, OutboundDialer } from './dialer.js';
import { CampaignSessions, sessionLegArg } from './sessions.js';
import { outboundRoutes } from './routes.js';
import { PreviewDialer } from './preview.js';
import { OutboundService } from './service.js';
import { OutboundStore, type OutboundTables } from './store.js';

declare module '../core/capability.js' {
  interface Capabilities {
    outbound: { store: OutboundStore; service: OutboundService; dialer: OutboundDialer; sessions: CampaignSessions; campaignDialer: CampaignDialer; callbacks: CallbackDialer; preview: PreviewDialer };
  }
}

/**
 * Outbound calls (docs/outbound.md): click-to-call from the API and the desk
 * page, `*` + number from the desk phone (through the dialplan's
 * `outboundPhone` port); the agent's phone first, then the customer on the
 * trunk (CENTRALITA_OUTBOUND_ENDPOINT).
 */
export const outboundModule: Module<'outbound', 'calls' | 'agents' | 'queues' | 'recording' | 'dialplan' | 'campaigns'> = {
  name: 'outbound',
  needs: ['calls', 'agents', 'queues', 'recording', 'dialplan', 'campaigns'],
  tables: tablesOf<OutboundTables>({ outbound_calls: true }),
  emits: [],
  consumes: ['agent.state'],
  async build({ config, ari, ariHelpers, channels, stasis, media, site, writes, db, bus, logger, clock, calls, agents, queues, recording, dialplan, campaigns }) {
    const outboundLogger = logger.child({ component: 'outbound' });
    const store = new OutboundStore(db);
    const template = config.outbound.endpoint;
    const endpoint = (number: string): string => (template ?? '').replace('${number}', number);
    // The calls capability's row of an outbound call, on the channel it lives on.
    const callStarted = ({ channelId, callerId, number, at }: { channelId: string; callerId: string; number: string; at: Date }): string => calls.service.callArrived({
      channelId, direction: 'outbound', callerNumber: callerId, callerName: '', did: null, language: null, at, calledNumber: number,
    }).id;
    const wrapUpOf = async (queueId: string | null): Promise<number> => (queueId ? (await queues.store.get(queueId))?.wrap_up_seconds ?? 0 : config.directCallWrapUpSeconds);
    stasis.claim(agentLegArg, { role: 'agent' });
    stasis.claim(customerLegArg, { role: 'caller' });
    const dialer = new OutboundDialer({
      ari, helpers: ariHelpers, registry: channels, media, site, writes, store, logger: outboundLogger,
      endpoint,
    }, {
      callStarted,
      becameOutbound: (channelId, number) => calls.service.becameOutbound(channelId, number),
      callAnswered: (channelId, at) => calls.service.callAnswered(channelId, at),
      callGone: (channelId, at) => calls.service.callEnded(channelId, { at, cause: null, causeText: null }),
      agentCommand: (agentId, command, source) => agents.service.command(agentId, command, source),
      record: (callId, queueId, agentId) => recording.service.recordOutbound(callId, queueId, agentId),
      wrapUpSeconds: wrapUpOf,
    });
    const sessions = new CampaignSessions({ ari, helpers: ariHelpers, site, logger: outboundLogger }, {
      available: (agentId) => agents.service.presence(agentId).status === 'available',
      // Called only once a call is going on, long after campaignDialer below exists.
      lost: (session) => campaignDialer.sessionLost(session),
      holdPhone: (extension, until) => void agents.service.duringFeatureCall(extension, () => until),
    });
    stasis.claim(sessionLegArg, { role: 'agent' });
    const codes = new CampaignCodes({
      writes, clock,
      attemptEnd: (campaign, contact, attemptId, result, now) => campaigns.service.attemptEnd(campaign, contact, attemptId, result, now),
      agentPhase: (agentId) => agents.service.presence(agentId),
    });
    const campaignDialer = new CampaignDialer({
      ari, helpers: ariHelpers, media, registry: channels, router: stasis, writes, store, logger: outboundLogger.child({ part: 'campaigns' }), clock, promptMedia,
      endpoint,
      ringSeconds: config.outbound.campaignRingSeconds,
    }, sessions, {
      campaign: (id) => campaigns.service.campaign(id),
      claim: (campaignId, n, now) => campaigns.service.claimNextContacts(campaignId, n, now),
      isCallable: (campaignId, number) => campaigns.dnc.isCallable(campaignId, number),
      attemptStarted: (row) => campaigns.store.attemptStarted(row),
      attemptAnswered: (attemptId, at, agentId) => campaigns.store.attemptAnswered(attemptId, at, agentId),
      attemptCall: (attemptId, callId) => campaigns.store.attemptCall(attemptId, callId),
      released: (contact) => campaigns.store.contactReleased(contact.id, contact.claimedFrom),
      queue: (queueId) => queues.store.get(queueId),
      callStarted,
      callAnswered: (channelId, at) => calls.service.callAnswered(channelId, at),
      agentCommand: (agentId, command) => agents.service.command(agentId, command, 'system'),
      record: (callId, queueId, agentId) => recording.service.recordOutbound(callId, queueId, agentId),
      wrapUpSeconds: wrapUpOf,
      agentPhase: (agentId) => agents.service.presence(agentId),
    }, new CampaignPacing((dayStart, since30) => campaigns.store.abandonHistory(dayStart, since30), config.timezone, outboundLogger.child({ part: 'pacing' })), codes);
    const callbacks = new CallbackDialer({ dialer, writes, logger: outboundLogger.child({ part: 'callbacks' }), clock, callerId: config.outbound.callerId }, {
      due: (now, limit) => queues.store.dueCallbacks(now, limit),
      queue: (queueId) => queues.store.get(queueId),
      members: async (queueId) => (await queues.store.members(queueId)).map((m) => m.agent_id),
      freeAgent: (agentId) => {
        const presence = agents.service.presence(agentId);
        return presence.status === 'available' && presence.extension && !sessions.of(agentId) ? { extension: presence.extension } : undefined;
      },
      changed: (id, set) => queues.store.callbackChanged(id, set),
    });
    const preview = new PreviewDialer({ dialer, writes, logger: outboundLogger.child({ part: 'preview' }), clock }, {
      claim: (campaignId, n, now) => campaigns.service.claimNextContacts(campaignId, n, now),
      isCallable: (campaignId, number) => campaigns.dnc.isCallable(campaignId, number),
      attemptStarted: (row) => campaigns.store.attemptStarted(row),
      attemptAnswered: (attemptId, at, agentId) => campaigns.store.attemptAnswered(attemptId, at, agentId),
      released: (contact) => campaigns.store.contactReleased(contact.id, contact.claimedFrom),
      skipped: (contact, until) => campaigns.store.contactSkipped(contact.id, contact.claimedFrom, until),
      queue: (queueId) => queues.store.get(queueId),
    }, codes);
    // An agent who checks out gives back the contact they were previewing.
    bus.on('agent.state', (change) => { if (change.status === 'logged_out') preview.release(change.agentId); });
    queues.engine.busyOutside.push(() => [...dialer.busyAgents(), ...sessions.busyAgents()]);
    queues.engine.outsideCalls.push(codes);
    const service = new OutboundService(store, dialer, {
      agent: async (agentId) => {
        await agents.service.getAgent(agentId); // 404 for an unknown agent
        const presence = agents.service.presence(agentId);
        return { extension: presence.extension, status: presence.status };
      },
      agentOnExtension: (extension) => agents.service.agentOnExtension(extension),
      mayDial: (agentId, number) => agents.service.mayDial(agentId, number),
      queueExists: async (queueId) => (await queues.store.get(queueId)) !== undefined,
      busyOutbound: (agentId) => dialer.busyAgents().includes(agentId) || sessions.of(agentId) !== undefined,
      doNotCall: (number) => campaigns.dnc.listedAsDialled(number),
    }, config.outbound, outboundLogger);
    await dialer.loadLeftOpen();
    dialplan.outboundPhone.bind((channel, extension, number) => service.fromPhone(channel, extension, number, media));
    return { store, service, dialer, sessions, campaignDialer, callbacks, preview };
  },
  routes({ service, sessions, campaignDialer, preview }, { http, config, agents, campaigns, queues }) {
    void outboundRoutes(http, { outbound: service });
    void campaignSessionRoutes(http, { sessions, campaignDialer, preview, agents: agents.service, campaigns: campaigns.service, queues: queues.service, trunk: config.outbound.endpoint !== undefined });
  },
  start({ campaignDialer, callbacks }, { config, queues, campaigns, logger, clock }) {
    // Without a trunk nothing is dialled: campaign contacts and callbacks would only use up their attempts.
    if (!config.outbound.endpoint) return undefined;
    // What an earlier process was dialling is due again (none of this process's is in flight yet).
    void queues.store.releaseCallbacksInProgress().catch((err: unknown) => logger.error({ err }, 'could not release the callbacks left in progress'));
    void campaigns.store.releaseStaleClaims(clock()).catch((err: unknown) => logger.error({ err }, 'could not release the campaign contacts left in progress'));
    const timer = setInterval(() => void campaignDialer.tick(), 500);
    const callbackTimer = setInterval(() => void callbacks.tick(), 2000);
    const sweepTimer = setInterval(() => void campaignDialer.sweep(), 15_000);
    return async () => {
      clearInterval(timer);
      clearInterval(sweepTimer);
      clearInterval(callbackTimer);
    };
  },
  async reconcile({ dialer, campaignDialer }, view) {
    const alive = new Set(view.channels.map((c) => c.id));
    return [...await dialer.reconcile(view), ...await campaignDialer.reconcile(alive)];
  },
};
