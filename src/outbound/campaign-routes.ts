import { Type } from 'typebox';
import type { AgentsService } from '../agents/service.js';
import type { CampaignsService } from '../campaigns/service.js';
import { conflict, forbidden, notFound } from '../core/errors.js';
import type { HttpApp } from '../core/http.js';
import { ErrorBody, IdParams, Uuid } from '../core/schemas.js';
import type { QueuesService } from '../queues/service.js';
import type { CampaignDialer } from './campaign-dialer.js';
import type { PreviewDialer } from './preview.js';
import type { CampaignSessions } from './sessions.js';

const SessionView = Type.Object({ agentId: Type.String({ format: 'uuid' }), state: Type.String({ description: 'ringing (the phone rings to join), waiting or talking' }) });

/** Agents joining and leaving a campaign (docs/outbound.md, "Campaigns"), and the campaign's live lines. */
export async function campaignSessionRoutes(app: HttpApp, d: {
  sessions: CampaignSessions; campaignDialer: CampaignDialer; preview: PreviewDialer; agents: AgentsService; campaigns: CampaignsService; queues: QueuesService;
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
    if (d.preview.holding(agentId)) throw conflict('the agent is previewing a contact: they call or skip it first');
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

  // ---- preview campaigns (docs/outbound.md, "Preview") ----

  const ContactPreview = Type.Object({
    id: Type.String({ format: 'uuid' }), name: Type.Union([Type.String(), Type.Null()]), number: Type.String(), timezone: Type.String(),
    fields: Type.Record(Type.String(), Type.String(), { description: 'the list\'s custom columns (debt amount, due date…): the screen pop' }),
    attempts: Type.Integer(), callId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'its call, once placed' }),
  });
  const AgentBody = Type.Object({ agentId: Uuid() }, { additionalProperties: false });
  const previewOf = (agentId: string, campaignId: string) => {
    const held = d.preview.holding(agentId, campaignId);
    if (!held) return null;
    const c = held.contact;
    return { id: c.id, name: c.name, number: c.numberE164, timezone: c.timezone, fields: c.fields, attempts: c.attempts, callId: held.callId };
  };
  /** The agent may work the campaign by preview: themselves (an agent), running, preview, a member of its queue, checked in. */
  const previewing = async (principal: { role: string; agentId: string | null }, campaignId: string, agentId: string) => {
    if (principal.role === 'agent' && principal.agentId !== agentId) throw forbidden('an agent may preview contacts only for themselves');
    const campaign = await d.campaigns.campaign(campaignId);
    if (!campaign) throw notFound('campaign');
    await d.agents.getAgent(agentId); // 404 for an unknown agent
    if (campaign.mode !== 'preview') throw conflict(`the campaign dials by itself (${campaign.mode}): agents join it instead (POST …/sessions)`);
    if (campaign.state !== 'running') throw conflict(`the campaign is ${campaign.state}`);
    const queue = await d.queues.get(campaign.queueId);
    if (!queue.members.some((m) => m.agentId === agentId)) throw conflict(`the agent is not a member of the campaign's queue ${queue.name}`);
    const presence = d.agents.presence(agentId);
    if (!presence.extension) throw conflict('the agent is not checked in on a phone');
    if (d.sessions.of(agentId)) throw conflict('the agent is in a campaign session: they leave it first');
    return { campaign, extension: presence.extension };
  };

  app.get('/api/v1/campaigns/preview', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['campaigns'],
      summary: 'The running preview campaigns an agent may work (a member of their queue), with the contact they are previewing in each',
      querystring: Type.Object({ agentId: Uuid() }, { additionalProperties: false }),
      response: {
        200: Type.Array(Type.Object({ campaignId: Type.String({ format: 'uuid' }), name: Type.String(), contact: Type.Union([ContactPreview, Type.Null()]) })),
        403: ErrorBody, 404: ErrorBody,
      },
    },
  }, async (request) => {
    const { agentId } = request.query;
    const principal = request.principal!;
    if (principal.role === 'agent' && principal.agentId !== agentId) throw forbidden('an agent may list only their own preview campaigns');
    await d.agents.getAgent(agentId);
    const out = [];
    for (const c of await d.campaigns.list()) {
      if (c.mode !== 'preview' || c.state !== 'running') continue;
      const queue = await d.queues.get(c.queueId).catch(() => undefined);
      if (queue?.members.some((m) => m.agentId === agentId)) out.push({ campaignId: c.id, name: c.name, contact: previewOf(agentId, c.id) });
    }
    return out;
  });

  app.post('/api/v1/campaigns/:id/preview', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['campaigns'],
      summary: 'The agent\'s next contact to preview (the one they hold, else the next due): nothing is dialled yet',
      description: '`contact` null: nobody is due now (in the contacts\' hours, off the do-not-call lists). The contact is the agent\'s until they call or skip it.',
      params: IdParams, body: AgentBody,
      response: { 200: Type.Object({ contact: Type.Union([ContactPreview, Type.Null()]) }), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request) => {
    const { campaign } = await previewing(request.principal!, request.params.id, request.body.agentId);
    await d.preview.next(campaign, request.body.agentId);
    return { contact: previewOf(request.body.agentId, campaign.id) };
  });

  app.post('/api/v1/campaigns/:id/preview/call', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['campaigns'],
      summary: 'Calls the contact the agent previews: their phone rings first, then the contact is dialled with the campaign\'s caller ID',
      description: '404 when the agent previews no contact in this campaign; 409 while it is being called, when the number was listed meanwhile, or when the agent is not available.',
      params: IdParams, body: AgentBody,
      response: { 202: Type.Object({ callId: Type.String({ format: 'uuid' }) }), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request, reply) => {
    const { campaign, extension } = await previewing(request.principal!, request.params.id, request.body.agentId);
    if (!d.trunk) throw conflict('outbound calls are not set up (CENTRALITA_OUTBOUND_ENDPOINT)');
    if (d.agents.presence(request.body.agentId).status !== 'available') throw conflict('only an available agent can place the call');
    return reply.status(202).send(await d.preview.call(campaign.id, request.body.agentId, extension));
  });

  app.post('/api/v1/campaigns/:id/preview/skip', {
    config: { roles: ['admin', 'supervisor', 'agent'] },
    schema: {
      tags: ['campaigns'],
      summary: 'Skips the contact the agent previews: it comes round again in 15 minutes, behind the others due',
      params: IdParams, body: AgentBody,
      response: { 204: Type.Null(), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (request, reply) => {
    const { campaign } = await previewing(request.principal!, request.params.id, request.body.agentId);
    d.preview.skip(campaign.id, request.body.agentId);
    return reply.status(204).send(null);
  });
}
