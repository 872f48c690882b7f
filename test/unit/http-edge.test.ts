import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { createHttpApp, type HttpApp } from '../../src/core/http.js';
import { createLogger } from '../../src/core/logger.js';
import { DateTime, Document, documentProblem, int4, isDateTime, maxDocumentDepth, Text, Uuid } from '../../src/core/schemas.js';

/**
 * The edge every route stands on (src/core/http.ts, src/core/schemas.ts):
 * bounded text without control characters, int4 integers, date-times Date
 * and Postgres take, stored documents of bounded depth, and Fastify's own
 * refusals in the API's error shape. A test route, no database.
 */

const nest = (depth: number, inner = '1', open = '{"a":', close = '}'): string => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

describe('request fields at the edge', () => {
  let app: HttpApp;
  before(async () => {
    app = await createHttpApp(createLogger('silent'));
    app.post('/t/:id', {
      schema: {
        params: Type.Object({ id: Uuid() }),
        querystring: Type.Object({ n: Type.Optional(Type.Integer(int4)), at: Type.Optional(DateTime()) }, { additionalProperties: false }),
        body: Type.Object({
          name: Type.Optional(Text({ minLength: 1, maxLength: 10 })),
          n: Type.Optional(Type.Integer(int4)),
          at: Type.Optional(DateTime()),
          doc: Type.Optional(Document()),
        }, { additionalProperties: false }),
      },
    }, async () => ({ ok: true }));
    await app.ready();
  });
  after(async () => app?.close());

  const id = '00000000-0000-4000-8000-000000000000';
  const post = async (body: unknown, { query = '', path = `/t/${id}`, type = 'application/json' } = {}) => {
    const res = await app.inject({ method: 'POST', url: `${path}${query}`, headers: { 'content-type': type }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.statusCode, body: JSON.parse(res.body) as { ok?: true; error?: { code: string; message: string } } };
  };
  const refused = async (body: unknown, message: string | RegExp, options?: Parameters<typeof post>[1]) => {
    const res = await post(body, options);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error?.code, 'validation_failed');
    if (typeof message === 'string') assert.equal(res.body.error?.message, message);
    else assert.match(res.body.error?.message ?? '', message);
  };

  it('refuses every control character in text, and takes the rest of Unicode up to maxLength', async () => {
    for (let c = 0; c < 0x20; c++) await refused({ name: `a${String.fromCharCode(c)}b` }, 'body/name must not contain control characters');
    await refused({ name: 'a\u007f' }, 'body/name must not contain control characters');
    assert.deepEqual((await post({ name: 'ñandú 😀 €' })).body, { ok: true });
    assert.deepEqual((await post({ name: 'x'.repeat(10) })).body, { ok: true });
    await refused({ name: 'x'.repeat(11) }, 'body/name must NOT have more than 10 characters');
    await refused({ name: '' }, 'body/name must NOT have fewer than 1 characters');
  });

  it('takes int4 integers and refuses one past them, in bodies and query strings', async () => {
    for (const n of [int4.minimum, int4.maximum]) {
      assert.equal((await post({ n })).status, 200);
      assert.equal((await post({}, { query: `?n=${n}` })).status, 200);
    }
    await refused({ n: int4.maximum + 1 }, 'body/n must be <= 2147483647');
    await refused({ n: int4.minimum - 1 }, 'body/n must be >= -2147483648');
    await refused({}, 'querystring/n must be <= 2147483647', { query: '?n=100000000000000000000' });
    await refused('{"n":1e309}', 'body/n must be <= 2147483647');
  });

  it('takes date-times that Date and Postgres take, and no others', async () => {
    for (const at of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2026-03-10T08:00:00+01:00', '2026-03-10t08:00:00z', '2026-03-10 08:00:00Z',
      '2026-03-10T08:00:00.123456789Z', '2024-02-29T00:00:00Z']) {
      assert.equal(isDateTime(at), true, at);
      assert.equal((await post({ at })).status, 200, at);
    }
    for (const at of ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+00:01', '9999-12-31T23:59:59-00:01', '2026-01-01T23:59:60Z', '2026-02-29T00:00:00Z',
      '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:00:00+24:00', '2026-01-01', '2026-01-01T00:00:00',
      '+275760-09-13T00:00:00Z', '2026-01-01T00:00:00.1234567890Z', 'now']) {
      assert.equal(isDateTime(at), false, at);
      await refused({ at }, 'body/at must be a date-time such as 2026-03-10T08:00:00Z (RFC 3339, years 0001 to 9999)');
    }
    await refused({}, /^querystring\/at must be a date-time/, { query: '?at=2026-01-01T23:59:60Z' });
  });

  it('takes documents nested up to the limit, refuses deeper ones without overflowing the stack, and refuses control characters in them', async () => {
    assert.equal((await post(`{"doc":${nest(maxDocumentDepth)}}`)).status, 200);
    await refused(`{"doc":${nest(maxDocumentDepth + 1)}}`, /^body\/doc nests deeper than 32 levels \(at \/a\/a/);
    await refused(`{"doc":{"a":${nest(100_000, '1', '[', ']')}}}`, /^body\/doc nests deeper than 32 levels/);
    await refused(`{"doc":{"a":{"b":"x\\u0000"}}}`, 'body/doc must not contain control characters (at /a/b)');
    await refused(`{"doc":{"a\\u0001":1}}`, 'body/doc must not contain control characters (the key "a\\u0001" at /)');
    assert.equal(documentProblem(JSON.parse(nest(100_000))), 'nests deeper than 32 levels (at /a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a)');
  });

  it("answers Fastify's own refusals in the API's error shape", async () => {
    const shape = async (res: { statusCode: number; body: string }, status: number, code: string) => {
      assert.equal(res.statusCode, status, res.body);
      const body = JSON.parse(res.body) as { error: { code: string; message: string } };
      assert.deepEqual(Object.keys(body), ['error']);
      assert.deepEqual(Object.keys(body.error), ['code', 'message']);
      assert.equal(body.error.code, code);
      return body.error.message;
    };
    const json = { 'content-type': 'application/json' };
    assert.equal(await shape(await app.inject({ method: 'POST', url: `/t/${'a'.repeat(101)}`, headers: json, payload: '{}' }), 414, 'uri_too_long'),
      'a path parameter is longer than 100 characters');
    assert.equal(await shape(await app.inject({ method: 'POST', url: '/t/%zz', headers: json, payload: '{}' }), 400, 'bad_url'), 'the path is not valid %-encoding');
    assert.match(await shape(await app.inject({ method: 'POST', url: `/t/${id}`, headers: { 'content-type': 'application/xml' }, payload: '<x/>' }), 415, 'unsupported_media_type'),
      /Content-Type \(application\/xml\) is not taken here/);
    await shape(await app.inject({ method: 'POST', url: `/t/${id}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' }), 415, 'unsupported_media_type');
    await shape(await app.inject({ method: 'POST', url: `/t/${id}`, headers: json, payload: '{"name":' }), 400, 'invalid_json');
    await shape(await app.inject({ method: 'POST', url: `/t/${id}`, headers: json, payload: '' }), 400, 'invalid_json');
    await shape(await app.inject({ method: 'POST', url: `/t/${id}`, headers: json, payload: '{"__proto__":{"x":1}}' }), 400, 'invalid_json');
    await shape(await app.inject({ method: 'POST', url: `/t/${id}`, headers: json, payload: `{"name":"${'a'.repeat(1024 * 1024)}"}` }), 413, 'payload_too_large');
    await shape(await app.inject({ method: 'GET', url: '/nowhere' }), 404, 'not_found');
  });

  it('answers what Node refuses before Fastify (headers over 16 KiB, not HTTP) in the same shape', async () => {
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = new URL(address);
    const raw = (request: string) => new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(request));
      let text = '';
      socket.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('close', () => resolve(text)).on('error', reject);
      socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
    });
    const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as unknown;
    const long = await raw(`GET /t/${id}?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(long, /^HTTP\/1\.1 431 /);
    assert.deepEqual(bodyOf(long), { error: { code: 'headers_too_large', message: 'the request line and headers are larger than 16 KiB' } });
    const garbage = await raw('NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.deepEqual(bodyOf(garbage), { error: { code: 'bad_request', message: 'the request is not valid HTTP' } });
  });
});
