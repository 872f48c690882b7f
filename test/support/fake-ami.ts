import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** One action the app sent, keys as sent (Action, ActionID…). */
export type AmiAction = Record<string, string>;

/**
 * A stand-in for Asterisk's AMI on 127.0.0.1, for what centralita reads from
 * it: the login, the event filter, pings, and desk phones' device states
 * (DeviceStateList at each login, DeviceStateChange events as they change).
 * Served on a real socket so the app's AMI client (asterisk-manager) runs
 * unchanged. Every other action answers an error, as for an unknown command.
 */
export class FakeAmi {
  readonly actions: AmiAction[] = [];
  /** Device name (PJSIP/1006) → state (NOT_INUSE, UNAVAILABLE, INUSE…). */
  readonly devices = new Map<string, string>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private port = 0;

  private constructor(private readonly user: string, private readonly password: string) {
    this.server = createServer((socket) => this.accept(socket));
  }

  static async start(user = 'centralita', password = 'fake-ami'): Promise<FakeAmi> {
    const fake = new FakeAmi(user, password);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  get address(): { host: string; port: number; user: string; password: string } {
    return { host: '127.0.0.1', port: this.port, user: this.user, password: this.password };
  }

  /** Changes a device's state and tells every logged-in session, as Asterisk does. */
  setDevice(device: string, state: string): void {
    this.devices.set(device, state);
    for (const socket of this.sockets) write(socket, { Event: 'DeviceStateChange', Device: device, State: state });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.setEncoding('utf8');
    socket.on('error', () => undefined); // the client going away mid-write is no failure of the fake
    socket.on('close', () => this.sockets.delete(socket));
    socket.write('Asterisk Call Manager/9.0.0\r\n');
    let buffer = '';
    let loggedIn = false;
    socket.on('data', (data: string) => {
      buffer += data;
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        const action: AmiAction = {};
        for (const line of block.split('\r\n')) {
          const colon = line.indexOf(':');
          if (colon > 0) action[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
        }
        const name = (action.Action ?? action.action ?? '').toLowerCase();
        const id = action.ActionID ?? action.actionid ?? action.actionID;
        this.actions.push(action);
        const reply = (fields: Record<string, string>) => write(socket, { ...fields, ...(id ? { ActionID: id } : {}) });
        if (name === 'login') {
          const ok = (action.Username ?? action.username) === this.user && (action.Secret ?? action.secret) === this.password;
          reply(ok ? { Response: 'Success', Message: 'Authentication accepted' } : { Response: 'Error', Message: 'Authentication failed' });
          if (ok) { loggedIn = true; this.sockets.add(socket); }
        } else if (!loggedIn) {
          reply({ Response: 'Error', Message: 'Permission denied' });
        } else if (name === 'ping') {
          reply({ Response: 'Success', Ping: 'Pong', Timestamp: String(Date.now() / 1000) });
        } else if (name === 'filter') {
          reply({ Response: 'Success', Message: 'Filter Added Successfully' });
        } else if (name === 'devicestatelist') {
          reply({ Response: 'Success', EventList: 'start', Message: 'Device State Changes will follow' });
          for (const [device, state] of this.devices) reply({ Event: 'DeviceStateChange', Device: device, State: state });
          reply({ Event: 'DeviceStateListComplete', EventList: 'Complete', ListItems: String(this.devices.size) });
        } else if (name === 'logoff') {
          reply({ Response: 'Goodbye', Message: 'Thanks for all the fish.' });
          socket.end();
        } else {
          reply({ Response: 'Error', Message: 'Invalid/unknown command' });
        }
      }
    });
  }
}

function write(socket: Socket, fields: Record<string, string>): void {
  if (socket.destroyed) return;
  socket.write(`${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
}
