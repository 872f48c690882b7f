/**
 * An error a client can act on: it becomes {"error": {"code", "message"}}
 * with its status. Anything else thrown is a 500 with no details.
 */
export class HttpError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly details?: { problems?: string[] }) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (what: string): HttpError => new HttpError(404, 'not_found', `${what} not found`);
export const conflict = (message: string): HttpError => new HttpError(409, 'conflict', message);
export const badRequest = (message: string): HttpError => new HttpError(400, 'bad_request', message);
export const forbidden = (message: string): HttpError => new HttpError(403, 'forbidden', message);
