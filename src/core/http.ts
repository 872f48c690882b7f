import { readFileSync } from 'node:fs';
import proxyAddr from '@fastify/proxy-addr';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type SchemaValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyReply } from 'fastify';
import { redactUrl, type Logger } from './logger.js';
import { HttpError } from './errors.js';
import { documentProblem, isDateTime, plainTextPattern } from './schemas.js';
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
    if (params.pattern === plainTextPattern) return `${at} must not contain control characters`;
    if (params.format === 'date-time') return `${at} must be a date-time such as 2026-03-10T08:00:00Z (RFC 3339, years 0001 to 9999)`;
    return `${at} ${issue.message ?? 'is invalid'}`;
  }).join('; ');
}

/** Postgres refusals that mean "conflicts with what is stored", raced past a service's own checks. */
const conflictCodes: Record<string, string> = {
  '23505': 'conflicts with an existing record',
  '23503': 'refers to, or is referred to by, another record',
};

/** Fastify's own refusals (the body parser's, the router's), under codes a client can read. */
const fastifyCodes: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_BAD_URL: 'bad_url',
  FST_ERR_MAX_PARAM_LENGTH: 'uri_too_long',
};

/** Longest path parameter the router takes (Fastify's default); longer ones are 414. */
const maxParamLength = 100;

/** Errors Node's HTTP parser raises before a request exists; the shape of every other error. */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request_timeout', 'the request took too long to arrive']
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers_too_large', 'the request line and headers are larger than 16 KiB']
      : [400, 'bad_request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

function validator(coerceTypes: boolean | 'array'): Ajv {
  const ajv = new Ajv({ removeAdditional: false, allErrors: true, useDefaults: true, coerceTypes, strict: false });
  addFormats.default(ajv);
  // ajv-formats' date-time takes 23:59:60, which Date turns into NaN, and years Postgres and Date disagree on.
  ajv.addFormat('date-time', { type: 'string', validate: isDateTime });
  // Stored free-form documents (IVR flows): bounded depth, no control characters (schemas.ts, Document).
  const checkDocument: SchemaValidateFunction = (_schema: boolean, data: unknown): boolean => {
    const problem = documentProblem(data);
    checkDocument.errors = problem === null ? [] : [{ keyword: 'document', message: problem, params: {} }];
    return problem === null;
  };
  ajv.addKeyword({ keyword: 'document', type: 'object', schemaType: 'boolean', errors: true, validate: checkDocument });
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
  /** Serve HTTPS (and WSS) with this certificate chain and key, PEM files (CENTRALITA_TLS_CERT, CENTRALITA_TLS_KEY). */
  tls?: TlsFiles;
}
export interface TlsFiles { certFile: string; keyFile: string }

export const readTls = (tls: TlsFiles): { cert: Buffer; key: Buffer } => ({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) });

/**
 * Reads the certificate and key again (after a renewal): new connections get
 * them, open ones keep theirs. A file that cannot be read or does not parse
 * keeps the old pair and throws.
 */
export function reloadTls(app: HttpApp, tls: TlsFiles): void {
  (app.server as unknown as TlsServer).setSecureContext(readTls(tls));
}
type TlsServer = { setSecureContext(options: { cert: Buffer; key: Buffer }): void };

export async function createHttpApp(logger: Logger, options: HttpOptions = {}) {
  const trustProxy = options.trustProxy ?? [];
  const app = Fastify({
    // HTTPS when configured; the type stays that of an HTTP server, which is
    // what the routes see either way.
    ...(options.tls ? { https: readTls(options.tls) } as object : {}),
    loggerInstance: logger,
    // one line per request is noise at a call centre's request rate
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // request.ip: per-address limits and tickets see the client, not the proxy
    trustProxy: trustProxy.length > 0 ? trustProxy : false,
    routerOptions: { maxParamLength },
    clientErrorHandler,
    // The router's refusals (a path parameter too long, bad %-encoding) in the API's error shape.
    frameworkErrors: (error: FastifyError, _request: unknown, reply: FastifyReply) => {
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? `a path parameter is longer than ${maxParamLength} characters`
        : error.code === 'FST_ERR_BAD_URL' ? 'the path is not valid %-encoding' : error.message;
      void reply.status(error.statusCode ?? 400).send({ error: { code: fastifyCodes[error.code] ?? 'bad_request', message } });
    },
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Query strings and path parameters are text and are converted to the
  // schema's types; JSON bodies are taken as sent ("1234" is not a number).
  const bodies = validator(false);
  const texts = validator('array');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodies : texts).compile(schema));

  // The same rule for requests Fastify does not route (the events socket's upgrade).
  const trusted = proxyAddr.compile(trustProxy);
  // A socket the client already reset has no remote address: '' then, never
  // undefined (the per-address limits take it as one more address).
  app.decorate('clientAddress', (request: IncomingMessage) => proxyAddr(request, trusted) ?? '');

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
      const message = status === 415
        ? `the body's Content-Type (${(request.headers['content-type'] ?? 'none').slice(0, 100)}) is not taken here; send application/json`
        : error.message;
      return reply.status(status).send({ error: { code: fastifyCodes[error.code] ?? (error.code ?? 'bad_request').toLowerCase(), message } });
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
