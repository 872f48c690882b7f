import WebSocket from 'ws';

export interface FeedMessage { type: string; data: Record<string, unknown> }

/** A client of /api/v1/events that keeps every message, for assertions. */
export class FeedClient {
  readonly messages: FeedMessage[] = [];
  closedWith: number | undefined;
  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.messages.push(JSON.parse(data.toString()) as FeedMessage));
    socket.on('close', (code) => { this.closedWith = code; });
  }

  /** With `inQuery`, the token goes in `?token=` as a browser sends it. */
  static connect(baseUrl: string, token: string | null, { inQuery = false } = {}): Promise<FeedClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/api/v1/events${token && inQuery ? `?token=${encodeURIComponent(token)}` : ''}`;
    const socket = new WebSocket(url, token && !inQuery ? { headers: { authorization: `Bearer ${token}` } } : {});
    return new Promise((resolve, reject) => {
      const client = new FeedClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  /** With headers a browser sends by itself: the sign-in cookie, and the page's Origin. */
  static connectWith(baseUrl: string, headers: { cookie: string; origin?: string }): Promise<FeedClient> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/v1/events`, { headers: { cookie: headers.cookie, ...(headers.origin ? { origin: headers.origin } : {}) } });
    return new Promise((resolve, reject) => {
      const client = new FeedClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  agentStates(agentId: string): string[] {
    return this.messages
      .filter((m) => m.type === 'agent.state' && m.data.agentId === agentId)
      .map((m) => (m.data.status === 'paused' ? `paused(${String(m.data.reason)})` : String(m.data.status)));
  }

  close(): void { this.socket.terminate(); }
}
