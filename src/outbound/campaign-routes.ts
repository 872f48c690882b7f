import { Type } from 'typebox';
import type { AgentsService } from '../agents/service.js';
import type { CampaignsService } from '../campaigns/service.js';
import { conflict, forbidden, notFound } from '../core/errors.js';
import type { HttpApp } from '../core/http.js';
import { ErrorBody, IdParams, Uuid } from '../core/schemas.js';
import type { QueuesService } from '../queues/service.js';
import type { CampaignDialer } from './campaign-dialer.js';
import type { CampaignSessions } from './sessions.js';

const SessionView = Type.Object({ agentId: Type.String({ format: 'uuid' }), state: Type.String({ description: 'ringing (the phone rings to join), waiting or talking' }) });

/** Agents joining and leaving a campaign (docs/outbound.md, "Campaigns"), and the campaign's live lines. */
export async function campaignSessionRoutes(app: HttpApp, d: {
  sessions: CampaignSessions; campaignDialer: CampaignDialer; agents: AgentsService; campaigns: CampaignsService; queues: QueuesService;
  /** Whether a trunk is set up (CENTRALITA_OUTBOUND_ENDPOINT): without one no campaign dials. */
  trunk: boolean;
}): Promise<void> {
  app.post('/api/v1/campaigns/:id/sessions', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['campaigns'],
      summary: 'An agent joins a campaign: their phone rings once and stays connected for the campaign\'s calls',
      description: 'The agent must be checked in, available and a member of the campaign\'s queue; agents may join only themselves. '
        + 'While in the session the queues offer them no calls; each person the dialer reaches is put straight through.',
      params: IdParams,
      body: Type.Object({ agentId: Uuid() }, { additionalProperties: false }),
      response: { 202: SessionView, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request, reply) => {
    const { agentId } = request.body;
    const principal = request.principal!;
    if (principal.role === 'agent' && principal.agentId !== agentId) throw forbidden('an agent may join a campaign only themselves');
    const campaign = await d.campaigns.campaign(request.params.id);
    if (!campaign) throw notFound('campaign');
    await d.agents.getAgent(agentId); // 404 for an unknown agent
    if (campaign.state === 'finished') throw conflict('the campaign is finished');
    if (!d.trunk) throw conflict('outbound calls are not set up (CENTRALITA_OUTBOUND_ENDPOINT)');
    const queue = await d.queues.get(campaign.queueId);
    if (!queue.members.some((m) => m.agentId === agentId)) throw conflict(`the agent is not a member of the campaign's queue ${queue.name}`);
    const presence = d.agents.presence(agentId);
    if (!presence.extension) throw conflict('the agent is not checked in on a phone');
    if (presence.status !== 'available') throw conflict(`the agent is ${presence.status}; only an available agent can join a campaign`);
    const session = await d.sessions.join(campaign.id, agentId, presence.extension);
    return reply.status(202).send({ agentId, state: session.state });
  });

  app.delete('/api/v1/campaigns/:id/sessions/:agentId', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['campaigns'],
      summary: 'An agent leaves a campaign (their phone is hung up; a call in progress ends)',
      params: Type.Object({ id: Uuid(), agentId: Uuid() }),
      response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody },
    },
  }, async (request, reply) => {
    const principal = request.principal!;
    if (principal.role === 'agent' && principal.agentId !== request.params.agentId) throw forbidden('an agent may take only themselves out of a campaign');
    const session = d.sessions.of(request.params.agentId);
    if (!session || session.campaignId !== request.params.id) throw notFound('campaign session');
    await d.sessions.leave(request.params.agentId);
    return reply.status(204).send(null);
  });

  const PacingView = Type.Union([Type.Null(), Type.Object({
    state: Type.String({ description: 'learning, normal, slowed or stopped' }), reason: Type.String({ description: 'Why, in a sentence the wallboard shows' }),
    ratio: Type.Number(), dayAbandonRate: Type.Number(), rolling30AbandonRate: Type.Number(), answerRate: Type.Number(),
  })]);
  const LiveView = { sessions: Type.Array(SessionView), dialling: Type.Integer(), talking: Type.Integer(), agentsWaiting: Type.Integer(), pacing: PacingView };
  const liveOf = (campaignId: string) => ({
    sessions: d.sessions.all().filter((s) => s.campaignId === campaignId).map((s) => ({ agentId: s.agentId, state: s.state })),
    ...d.campaignDialer.linesOf(campaignId),
    agentsWaiting: d.sessions.ready(campaignId).length,
    pacing: d.campaignDialer.pacing.view(campaignId) ?? null,
  });

  app.get('/api/v1/campaigns/live', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['campaigns'],
      summary: 'Every campaign running or with agents in sessions, now: the wallboard\'s campaign cards',
      response: {
        200: Type.Array(Type.Object({ campaignId: Type.String({ format: 'uuid' }), name: Type.String(), mode: Type.String(), state: Type.String(), ...LiveView })),
      },
    },
  }, async () => {
    const withSessions = new Set(d.sessions.campaignIds());
    return (await d.campaigns.list())
      .filter((c) => c.state === 'running' || withSessions.has(c.id))
      .map((c) => ({ campaignId: c.id, name: c.name, mode: c.mode, state: c.state, ...liveOf(c.id) }));
  });

  app.get('/api/v1/campaigns/:id/live', {
    config: { roles: ['admin', 'supervisor'] },
    schema: {
      tags: ['campaigns'],
      summary: 'A campaign now: its agents\' sessions and its lines',
      params: IdParams,
      response: { 200: Type.Object(LiveView), 404: ErrorBody },
    },
  }, async (request) => {
    const campaign = await d.campaigns.campaign(request.params.id);
    if (!campaign) throw notFound('campaign');
    return liveOf(campaign.id);
  });
}
