import type { AmiClient, AmiConnectionState, AmiMessage } from './ami.js';

/** What capabilities use of AMI: one `AmiClient`, or a `MediaAmi` over several media servers. */
export type Ami = Pick<AmiClient, 'state' | 'start' | 'stop' | 'onEvent' | 'onConnected' | 'action' | 'listAction'>;

/**
 * Which of two device states wins when media servers disagree: busy first (a
 * call on one server is a call), then unreachable (a server that cannot reach
 * the phone cannot ring it, and any server may hold the next caller), idle last.
 */
const precedence = ['INUSE', 'BUSY', 'ONHOLD', 'RINGINUSE', 'RINGING', 'UNAVAILABLE', 'INVALID', 'NOT_INUSE', 'UNKNOWN'];
const rank = (state: string): number => {
  const at = precedence.indexOf(state);
  return at < 0 ? precedence.length : at;
};

/**
 * AMI of several media servers as one (docs/scale-out.md).
 *
 * - Device states: each server qualifies the desk phones through Kamailio
 *   and knows the calls it holds, so a phone's state is the busiest any up
 *   server reports (in use on one server is in use), and reachable only when
 *   every server that reports it reaches it (the next caller may land on
 *   any). A `DeviceStateChange` is passed on only when that aggregate
 *   changes; a server whose AMI link drops stops counting.
 * - Other events pass through from every server.
 * - An action naming a `channel` goes to each up server in turn until one
 *   has it; other actions go to the first up server.
 */
export class MediaAmi implements Ami {
  private readonly handlers = new Set<(event: AmiMessage) => void>();
  /** Device → state, per server. */
  private readonly states = new Map<string, Map<string, string>>();
  private readonly told = new Map<string, string>();

  constructor(private readonly servers: readonly { name: string; ami: AmiClient }[]) {
    for (const server of servers) {
      const own = new Map<string, string>();
      this.states.set(server.name, own);
      server.ami.onEvent((event) => {
        if (event.event === 'DeviceStateChange' && event.device && event.state) {
          own.set(event.device, event.state);
          this.tell(event.device, event);
          return;
        }
        this.emit(event);
      });
      server.ami.onDown(() => {
        const devices = [...own.keys()];
        own.clear();
        for (const device of devices) this.tell(device);
      });
    }
  }

  get state(): AmiConnectionState {
    if (this.servers.some((s) => s.ami.state === 'up')) return 'up';
    return this.servers[0]!.ami.state;
  }

  start(): void {
    for (const server of this.servers) server.ami.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.ami.stop()));
  }

  onEvent(handler: (event: AmiMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** After each server's (re)connection. */
  onConnected(handler: () => void | Promise<void>): () => void {
    const offs = this.servers.map((server) => server.ami.onConnected(handler));
    return () => { for (const off of offs) off(); };
  }

  async action(name: string, fields: Record<string, string | number> = {}): Promise<AmiMessage> {
    const up = this.servers.filter((s) => s.ami.state === 'up');
    if (up.length === 0) return this.servers[0]!.ami.action(name, fields);
    if (fields.channel === undefined) return up[0]!.ami.action(name, fields);
    let failure: unknown;
    for (const server of up) {
      try {
        return await server.ami.action(name, fields);
      } catch (err) {
        failure = err;
      }
    }
    throw failure;
  }

  /** Every up server's items (a list action on one device or channel finds it where it is). */
  async listAction(name: string, completeEvent: string, fields: Record<string, string | number> = {}): Promise<AmiMessage[]> {
    const up = this.servers.filter((s) => s.ami.state === 'up');
    const lists = await Promise.all(up.map((server) => server.ami.listAction(name, completeEvent, fields)));
    return lists.flat();
  }

  /** Passes on the device's aggregate state if it changed (`event` carries its other fields). */
  private tell(device: string, event?: AmiMessage): void {
    let best: string | undefined;
    for (const own of this.states.values()) {
      const state = own.get(device);
      if (state !== undefined && (best === undefined || rank(state) < rank(best))) best = state;
    }
    const state = best ?? 'UNAVAILABLE';
    // A list's items (ActionID set) always pass: whoever listed waits for them.
    if (this.told.get(device) === state && !event?.actionid) return;
    this.told.set(device, state);
    this.emit({ ...(event ?? { event: 'DeviceStateChange', device }), state });
  }

  private emit(event: AmiMessage): void {
    for (const handler of this.handlers) handler(event);
  }
}
