import type { EventBus } from '../core/events.js';

/**
 * The events a webhook may subscribe to (docs/integrations.md has an example
 * body of each), and how each comes from the bus. A later capability adds
 * its own here.
 */
export const webhookEventTypes = [
  'call.started', 'call.answered', 'call.ended',
  'queue.entered', 'queue.answered', 'queue.abandoned', 'queue.left',
  'agent.state', 'disposition.set', 'recording.completed', 'survey.completed', 'monitor.started', 'monitor.ended',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

export type Publish = (type: WebhookEventType, at: string, data: Record<string, unknown>) => void;

/** Every bus event a webhook may want, passed to `publish` as it happens. The listeners' removal. */
export function listenForWebhookEvents(bus: EventBus, publish: Publish): () => void {
  const offs = [
    bus.on('call.started', (call) => publish('call.started', call.startedAt, { ...call })),
    bus.on('call.answered', (call) => publish('call.answered', call.answeredAt ?? new Date().toISOString(), { ...call })),
    bus.on('call.ended', (call) => publish('call.ended', call.endedAt ?? new Date().toISOString(), { ...call })),
    bus.on('queue.entry', (entry) => {
      const { at, ...data } = entry;
      if (entry.event === 'entered') publish('queue.entered', at, data);
      else if (entry.event === 'answered') publish('queue.answered', at, data);
      // Each entry's end once: abandoned on its own (the figure CRMs follow), any other outcome as queue.left.
      else if (entry.event === 'left') publish(entry.outcome === 'abandoned' ? 'queue.abandoned' : 'queue.left', at, data);
    }),
    bus.on('agent.state', (change) => publish('agent.state', change.since ?? new Date().toISOString(), { ...change })),
    bus.on('queue.call', (step) => {
      if (step.event !== 'disposition') return;
      const { at, holdSince: _holdSince, event: _event, ...data } = step;
      publish('disposition.set', at, data);
    }),
    bus.on('recording.completed', (done) => {
      const { at, ...data } = done;
      publish('recording.completed', at, data);
    }),
    bus.on('survey.completed', (done) => {
      const { at, ...data } = done;
      publish('survey.completed', at, data);
    }),
    bus.on('monitor.session', (session) => {
      if (session.event !== 'started' && session.event !== 'ended') return;
      const { event, ...data } = session;
      publish(event === 'started' ? 'monitor.started' : 'monitor.ended', new Date().toISOString(), data);
    }),
  ];
  return () => { for (const off of offs) off(); };
}
