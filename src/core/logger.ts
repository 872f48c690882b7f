import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/**
 * One pino logger for the whole service. Redaction is a second line of
 * defence: secrets should never be handed to the logger in the first place.
 */
export function createLogger(level: Config['logLevel']): Logger {
  return pino({
    level,
    base: { service: 'centralita' },
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
  });
}
