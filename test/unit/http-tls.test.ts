import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { ConfigError, loadConfig } from '../../src/core/config.js';
import { createHttpApp, reloadTls, type HttpApp } from '../../src/core/http.js';
import { createLogger } from '../../src/core/logger.js';

/** A self-signed certificate for 127.0.0.1, as PEM files in `dir` named `name`.crt/.key. */
function certificate(dir: string, name: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { certFile, keyFile };
}

/** GET over HTTPS trusting only `ca`; the answer and the certificate the server showed. */
function get(url: string, ca: Buffer): Promise<{ status: number; body: string; subject: string }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, subject: String((res.socket as TLSSocket).getPeerCertificate().subject.CN) }));
    }).on('error', reject);
  });
}

describe('HTTPS and WSS served directly, the certificate reloaded in place', () => {
  let dir: string;
  let app: HttpApp;
  let base: string;
  let first: { certFile: string; keyFile: string };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'centralita-tls-'));
    first = certificate(dir, 'first');
    app = await createHttpApp(createLogger('silent'), { tls: first });
    app.get('/hello', async () => ({ hello: 'tls' }));
    const wss = new WebSocketServer({ noServer: true });
    app.server.on('upgrade', (request, socket, head) => wss.handleUpgrade(request, socket, head, (ws) => ws.send('over wss')));
    base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http:', 'https:');
  });
  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers HTTPS with the configured certificate, and WebSockets over it', async () => {
    assert.match(base, /^https:/);
    const res = await get(`${base}/hello`, readFileSync(first.certFile));
    assert.deepEqual([res.status, JSON.parse(res.body), res.subject], [200, { hello: 'tls' }, 'first']);
    const ws = new WebSocket(`${base.replace('https:', 'wss:')}/socket`, { ca: readFileSync(first.certFile) });
    const message = await new Promise<string>((resolve, reject) => { ws.on('message', (m) => resolve(String(m))); ws.on('error', reject); });
    ws.close();
    assert.equal(message, 'over wss');
    await assert.rejects(get(`${base}/hello`, readFileSync(certificate(dir, 'stranger').certFile)), /self.signed|unable to verify|certificate/i, 'a client not trusting it refuses');
  });

  it('takes a renewed certificate for new connections, and keeps the old one when the new files are bad', async () => {
    const renewed = certificate(dir, 'renewed');
    writeFileSync(first.certFile, readFileSync(renewed.certFile));
    writeFileSync(first.keyFile, readFileSync(renewed.keyFile));
    reloadTls(app, first);
    assert.equal((await get(`${base}/hello`, readFileSync(renewed.certFile))).subject, 'renewed');
    writeFileSync(first.keyFile, 'not a key');
    assert.throws(() => reloadTls(app, first));
    assert.equal((await get(`${base}/hello`, readFileSync(renewed.certFile))).subject, 'renewed', 'the working pair stays');
  });

  it('is configured by CENTRALITA_TLS_CERT and _KEY; off the loopback it needs TLS or a reverse proxy', () => {
    const base = { CENTRALITA_ADMIN_TOKEN: 'x'.repeat(32), CENTRALITA_ARI_USER: 'u', CENTRALITA_ARI_PASSWORD: 'p', CENTRALITA_AMI_USER: 'u', CENTRALITA_AMI_PASSWORD: 'p' };
    const pair = certificate(dir, 'config');
    assert.deepEqual(loadConfig({ ...base, CENTRALITA_TLS_CERT: pair.certFile, CENTRALITA_TLS_KEY: pair.keyFile }).tls, pair);
    assert.throws(() => loadConfig({ ...base, CENTRALITA_TLS_CERT: pair.certFile }), (err: Error) => err instanceof ConfigError && err.key === 'CENTRALITA_TLS_KEY');
    assert.throws(() => loadConfig({ ...base, CENTRALITA_TLS_CERT: pair.keyFile, CENTRALITA_TLS_KEY: pair.keyFile }), /CENTRALITA_TLS_CERT: .* not a PEM file/);
    assert.throws(() => loadConfig({ ...base, CENTRALITA_TLS_CERT: join(dir, 'missing.crt'), CENTRALITA_TLS_KEY: pair.keyFile }), /CENTRALITA_TLS_CERT: cannot read .*ENOENT/);
    assert.throws(() => loadConfig({ ...base, CENTRALITA_HOST: '0.0.0.0' }), /CENTRALITA_HOST: 0\.0\.0\.0 is not a loopback address: serve HTTPS/);
    assert.equal(loadConfig({ ...base, CENTRALITA_HOST: '0.0.0.0', CENTRALITA_TLS_CERT: pair.certFile, CENTRALITA_TLS_KEY: pair.keyFile }).host, '0.0.0.0');
    assert.equal(loadConfig({ ...base, CENTRALITA_HOST: '0.0.0.0', CENTRALITA_TRUST_PROXY: '10.0.0.0/8' }).host, '0.0.0.0');
    assert.equal(loadConfig({ ...base, CENTRALITA_ARI_CA: pair.certFile }).ari.ca, readFileSync(pair.certFile, 'utf8'));
    assert.throws(() => loadConfig({ ...base, CENTRALITA_ARI_CA: pair.keyFile }), /CENTRALITA_ARI_CA: .* not a PEM file/);
  });
});
