// The parts of asterisk-manager 0.2 that centralita uses (it ships no types).
declare module 'asterisk-manager' {
  import type { EventEmitter } from 'node:events';

  export type AmiMessage = Record<string, string | undefined>;

  interface Manager extends EventEmitter {
    options: { port: number; host: string; username: string; password: string; events: boolean };
    connect(port: number, host: string, callback?: (err: Error | null) => void): void;
    login(callback?: (err?: AmiMessage) => void): void;
    action(action: Record<string, string | number | undefined>, callback?: (err: AmiMessage | undefined, res: AmiMessage) => void): string;
    disconnect(callback?: () => void): void;
    isConnected(): boolean;
  }

  interface ManagerConstructor {
    new (port: number | undefined, host: string, username: string, password: string, events: boolean): Manager;
  }

  const Manager: ManagerConstructor;
  export default Manager;
}
