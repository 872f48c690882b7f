import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Query parameters that carry credentials: a WebSocket's `?token=`, a playback link's `?ticket=`. */
const secretQuery = /([?&](?:ticket|token)=)[^&\s#"'`\\]*/gi;

/** A URL (or any text holding one) with the values of credential query parameters replaced. */
export function redactUrl(text: string): string {
  return text.includes('=') ? text.replace(secretQuery, '$1[redacted]') : text;
}

/**
 * One pino logger for the whole service. Redaction is a second line of
 * defence: secrets should never be handed to the logger in the first place.
 */
export function createLogger(level: Config['logLevel'], destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'centralita' },
    // Request URLs may carry credentials (?ticket=, ?token=), and Fastify
    // and error messages quote them: every line is redacted as it is written.
    hooks: { streamWrite: redactUrl },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'password', '*.password', 'secret', '*.secret',
        'token', '*.token', 'adminToken', '*.adminToken', 'databaseUrl', '*.databaseUrl',
        // database errors (PGlite) carry the statement and its parameters, e.g. a PIN hash
        'err.params', 'err.parameters', 'err.query',
      ],
      censor: '[redacted]',
    },
  }, destination);
}
