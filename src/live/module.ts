import type { Module } from '../shared.js';
import { installLiveFeed } from './feed.js';

declare module '../core/capability.js' {
  interface Capabilities {
    /** The feed is installed with the routes (after the auth guard); closed first at stop. */
    live: { feed: { close(): void } | undefined };
  }
}

/** The events socket (/api/v1/events): the bus's events to the pages, by role. */
export const liveModule: Module<'live', 'auth'> = {
  name: 'live',
  needs: ['auth'],
  tables: [],
  emits: [],
  consumes: ['agent.state', 'queue.entry', 'monitor.session', 'stats.live', 'token.revoked', 'agent.access.removed'],
  build() {
    return { feed: undefined };
  },
  routes(live, { http, bus, auth }) {
    live.feed = installLiveFeed(http, bus, auth.service, auth.users);
  },
  // Its sockets would keep the HTTP app from closing.
  closing(live) {
    live.feed?.close();
  },
};
