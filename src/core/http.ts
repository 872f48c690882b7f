import proxyAddr from '@fastify/proxy-addr';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { LogController, type FastifyError } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { redactUrl, type Logger } from './logger.js';
import { HttpError } from './errors.js';
import { isTransientDbError } from './write-queue.js';

export type HttpApp = Awaited<ReturnType<typeof createHttpApp>>;

interface ValidationIssue { instancePath: string; message?: string; params?: Record<string, unknown> }

/** "body/role must be equal to one of the allowed values (admin, supervisor, agent)" */
export function describeValidation(context: string, issues: ValidationIssue[]): string {
  return issues.map((issue) => {
    const at = `${context}${issue.instancePath}`;
    const params = issue.params ?? {};
    if (typeof params.missingProperty === 'string') return `${at}/${params.missingProperty} is required`;
    if (typeof params.additionalProperty === 'string') return `${at}/${params.additionalProperty} is not allowed`;
    if (Array.isArray(params.allowedValues)) return `${at} must be one of ${params.allowedValues.join(', ')}`;
    return `${at} ${issue.message ?? 'is invalid'}`;
  }).join('; ');
}

/** Postgres refusals that mean "conflicts with what is stored", raced past a service's own checks. */
const conflictCodes: Record<string, string> = {
  '23505': 'conflicts with an existing record',
  '23503': 'refers to, or is referred to by, another record',
};

function validator(coerceTypes: boolean | 'array'): Ajv {
  const ajv = new Ajv({ removeAdditional: false, allErrors: true, useDefaults: true, coerceTypes, strict: false });
  addFormats.default(ajv);
  return ajv;
}

/**
 * The Fastify instance every capability registers its routes on: JSON schema
 * validation with TypeBox, an OpenAPI document at /api/docs, and one error
 * shape, {"error": {"code", "message"}}, with no stack traces.
 */
declare module 'fastify' {
  interface FastifyInstance {
    /** The client's address: the TCP peer, or what a trusted reverse proxy says it is (X-Forwarded-For). */
    clientAddress(request: IncomingMessage): string;
  }
}

export interface HttpOptions {
  /** Reverse proxies whose X-Forwarded-For is believed (CENTRALITA_TRUST_PROXY); none by default. */
  trustProxy?: string[];
}

export async function createHttpApp(logger: Logger, options: HttpOptions = {}) {
  const trustProxy = options.trustProxy ?? [];
  const app = Fastify({
    loggerInstance: logger,
    // one line per request is noise at a call centre's request rate
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // request.ip: per-address limits and tickets see the client, not the proxy
    trustProxy: trustProxy.length > 0 ? trustProxy : false,
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Query strings and path parameters are text and are converted to the
  // schema's types; JSON bodies are taken as sent ("1234" is not a number).
  const bodies = validator(false);
  const texts = validator('array');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodies : texts).compile(schema));

  // The same rule for requests Fastify does not route (the events socket's upgrade).
  const trusted = proxyAddr.compile(trustProxy);
  app.decorate('clientAddress', (request: IncomingMessage) => proxyAddr(request, trusted));

  await app.register(swagger, {
    openapi: {
      info: { title: 'centralita', description: 'Contact-center control server API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if ('validation' in error && error.validation) {
      return reply.status(400).send({
        error: { code: 'validation_failed', message: describeValidation(error.validationContext ?? 'request', error.validation as ValidationIssue[]) },
      });
    }
    if (error instanceof HttpError) {
      return reply.status(error.statusCode).send({ error: { code: error.code, message: error.message, ...error.details } });
    }
    const pgCode = (error as { code?: unknown }).code;
    if (typeof pgCode === 'string' && conflictCodes[pgCode]) {
      const constraint = (error as { constraint?: string }).constraint;
      return reply.status(409).send({ error: { code: 'conflict', message: `the request ${conflictCodes[pgCode]}${constraint ? ` (${constraint})` : ''}` } });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.status(status).send({ error: { code: (error.code ?? 'bad_request').toLowerCase(), message: error.message } });
    }
    // Postgres unreachable (an outage): calls go on from the last-known-good
    // reads, but this request cannot be answered now; say so, not "internal".
    if (isTransientDbError(error)) {
      request.log.warn({ url: redactUrl(request.url), method: request.method, err: error.message }, 'request refused: the database is unreachable');
      return reply.status(503).header('retry-after', '5').send({ error: { code: 'database_unavailable', message: 'the database is unreachable now; try again shortly' } });
    }
    request.log.error({ err: error, url: redactUrl(request.url), method: request.method }, 'request failed');
    return reply.status(500).send({ error: { code: 'internal_error', message: 'internal error; see the service log' } });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });

  app.get('/api/docs', { schema: { hide: true } }, async () => app.swagger());

  return app;
}
