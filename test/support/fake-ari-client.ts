import { EventEmitter } from 'node:events';
import type { AriClient, AriConnectionState } from '../../src/asterisk/ari.js';
import type { AriPort } from '../../src/asterisk/ari-helpers.js';
import type { Logger } from '../../src/core/logger.js';

/** A fake ARI client: records requests, answers them from `answer`, and emits events on demand. */
export function fakeAri(answer: (operation: string, params: Record<string, unknown>) => unknown = () => undefined) {
  const events = new EventEmitter();
  const requests: string[] = [];
  const connected = new Set<() => void>();
  const port = {
    app: 'centralita',
    onConnected: (handler: () => void) => { connected.add(handler); return () => connected.delete(handler); },
    state: 'up' as AriConnectionState,
    on: (type: string, handler: (event: unknown) => void) => { events.on(type, handler); return () => events.off(type, handler); },
    request: async (operation: string, params: Record<string, unknown>) => {
      requests.push(`${operation} ${String(params.channelId ?? params.bridgeId ?? params.eventSource ?? '')}`.trim());
      return answer(operation, params);
    },
  };
  /** As the client does on every (re)connection of its events socket. */
  const connect = (): void => { for (const handler of connected) handler(); };
  return { ari: port as unknown as AriPort & Pick<AriClient, 'onConnected'> & { state: AriConnectionState }, events, requests, connect };
}

export function recordingLogger() {
  const lines: { level: string; message: string }[] = [];
  const log = (level: string) => (_fields: unknown, message: string) => { lines.push({ level, message }); };
  return { logger: { warn: log('warn'), debug: log('debug'), info: log('info'), error: log('error'), isLevelEnabled: () => false } as unknown as Logger, lines };
}

