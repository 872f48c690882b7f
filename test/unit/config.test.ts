import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, isLoopbackHost, loadConfig, parseConfigFile, redactedConfig, sampleAdminToken } from '../../src/core/config.js';
import { projectRoot } from '../../src/core/paths.js';

const minimal = {
  CENTRALITA_ADMIN_TOKEN: 'a-long-enough-admin-token-0123456789',
  CENTRALITA_ARI_USER: 'u', CENTRALITA_ARI_PASSWORD: 'ari-secret',
  CENTRALITA_AMI_USER: 'u', CENTRALITA_AMI_PASSWORD: 'ami-secret',
};

describe('config', () => {
  it('defaults to loopback, port 3000 and the embedded database', () => {
    const config = loadConfig(minimal);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 3000);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.ari.url, 'http://127.0.0.1:8088/ari');
    assert.equal(config.ari.app, 'centralita');
    assert.equal(config.ami.port, 5038);
  });

  it('reads several media servers: name=ARI URL, AMI on the same host; refuses bad entries and a mix with CENTRALITA_ARI_URL', () => {
    assert.equal(loadConfig(minimal).mediaServers, undefined, 'one Asterisk by default');
    const config = loadConfig({ ...minimal, CENTRALITA_MEDIA_SERVERS: 'media-1=http://10.0.0.11:8088/ari, media-2=https://[::1]:8089/ari', CENTRALITA_MEDIA_SERVER_LOST_SECONDS: '15' });
    assert.deepEqual(config.mediaServers, [
      { name: 'media-1', ariUrl: 'http://10.0.0.11:8088/ari', amiHost: '10.0.0.11' },
      { name: 'media-2', ariUrl: 'https://[::1]:8089/ari', amiHost: '::1' },
    ]);
    assert.equal(config.mediaServerLostSeconds, 15);
    assert.equal(loadConfig({ ...minimal, CENTRALITA_MEDIA_SERVERS: 'a=http://h/ari' }).mediaServerLostSeconds, 10);
    const refused = (value: string, message: RegExp, extra: Record<string, string> = {}) => assert.throws(
      () => loadConfig({ ...minimal, ...extra, CENTRALITA_MEDIA_SERVERS: value }),
      (err: unknown) => err instanceof ConfigError && err.key === 'CENTRALITA_MEDIA_SERVERS' && message.test(err.message), value);
    refused('http://10.0.0.11:8088/ari', /expected name=ARI URL/);
    refused('Media 1=http://h/ari', /expected name=ARI URL/);
    refused('a=http://h/ari,a=http://i/ari', /listed twice/);
    refused('a=ftp://h/ari', /must start with http:\/\/ or https:\/\//);
    refused('a=http://h/ari', /not both/, { CENTRALITA_ARI_URL: 'http://h/ari' });
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_MEDIA_SERVERS: 'a=http://h/ari', CENTRALITA_MEDIA_SERVER_LOST_SECONDS: '1' }), /CENTRALITA_MEDIA_SERVER_LOST_SECONDS/);
  });

  it('names the key and the problem for a bad port', () => {
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_PORT: 'eighty' }),
      (err: unknown) => err instanceof ConfigError && err.key === 'CENTRALITA_PORT' && /1 to 65535, got 'eighty'/.test(err.message));
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_PORT: '70000' }), /CENTRALITA_PORT/);
  });

  it('names a missing required key', () => {
    const { CENTRALITA_ARI_PASSWORD: _, ...rest } = minimal;
    assert.throws(() => loadConfig(rest), (err: unknown) => err instanceof ConfigError && err.message === 'CENTRALITA_ARI_PASSWORD: is required but not set');
  });

  it('refuses a short admin token and a non-postgres DATABASE_URL without echoing it', () => {
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_ADMIN_TOKEN: 'short' }), /CENTRALITA_ADMIN_TOKEN: must be at least 32/);
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_ADMIN_TOKEN: 'x'.repeat(31) }), /CENTRALITA_ADMIN_TOKEN: must be at least 32/);
    assert.equal(loadConfig({ ...minimal, CENTRALITA_ADMIN_TOKEN: 'x'.repeat(32) }).adminToken.length, 32);
    assert.throws(() => loadConfig({ ...minimal, DATABASE_URL: 'mysql://root:hunter2@db/x' }),
      (err: unknown) => err instanceof ConfigError && err.key === 'DATABASE_URL' && !err.message.includes('hunter2'));
    assert.throws(() => loadConfig({ ...minimal, DATABASE_URL: 'not a url hunter2' }),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('hunter2'));
  });

  it('checks enumerated values', () => {
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_LOG_LEVEL: 'loud' }), /CENTRALITA_LOG_LEVEL: must be one of/);
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_DEFAULT_LANGUAGE: 'fr' }), /CENTRALITA_DEFAULT_LANGUAGE/);
  });

  it('reads the recordings disk threshold and whether agents hear their own recordings', () => {
    const defaults = loadConfig(minimal);
    assert.equal(defaults.recordingsMinFreeMb, 2048);
    assert.equal(defaults.agentsHearOwnRecordings, false);
    const set = loadConfig({ ...minimal, CENTRALITA_RECORDINGS_MIN_FREE_MB: '0', CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS: 'true' });
    assert.equal(set.recordingsMinFreeMb, 0);
    assert.equal(set.agentsHearOwnRecordings, true);
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_RECORDINGS_MIN_FREE_MB: '-1' }), /CENTRALITA_RECORDINGS_MIN_FREE_MB: must be a whole number/);
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS: 'yes' }), /CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS: must be one of true, false, got 'yes'/);
    assert.deepEqual(parseConfigFile('CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS=true\n', 'f'), { CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS: 'true' });
  });

  it('reads the lookup allow list (empty by default) and names a bad entry', () => {
    assert.deepEqual(loadConfig(minimal).lookupAllow, []);
    assert.deepEqual(loadConfig({ ...minimal, CENTRALITA_LOOKUP_ALLOW: 'crm.internal, 10.0.0.0/8,fd00::/8' }).lookupAllow, ['crm.internal', '10.0.0.0/8', 'fd00::/8']);
    assert.deepEqual(parseConfigFile('CENTRALITA_LOOKUP_ALLOW=127.0.0.1\n', 'f'), { CENTRALITA_LOOKUP_ALLOW: '127.0.0.1' });
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_LOOKUP_ALLOW: '10.0.0.0/8,10.0.0.0/40' }),
      (err: unknown) => err instanceof ConfigError && err.key === 'CENTRALITA_LOOKUP_ALLOW' && /'10\.0\.0\.0\/40' is not a network/.test(err.message));
    assert.deepEqual(loadConfig({ ...minimal, CENTRALITA_LOOKUP_ALLOW: 'crm.internal:8080,127.0.0.1:8080,[::1]:8080,[fd00::/8]:443' }).lookupAllow,
      ['crm.internal:8080', '127.0.0.1:8080', '[::1]:8080', '[fd00::/8]:443']);
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_LOOKUP_ALLOW: '127.0.0.1:80800' }),
      (err: unknown) => err instanceof ConfigError && err.key === 'CENTRALITA_LOOKUP_ALLOW' && /'127\.0\.0\.1:80800' has a port out of range/.test(err.message));
  });

  it('reads the trusted proxies (none by default) and names a bad entry', () => {
    assert.deepEqual(loadConfig(minimal).trustProxy, []);
    assert.deepEqual(loadConfig({ ...minimal, CENTRALITA_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,loopback' }).trustProxy, ['127.0.0.1', '10.0.0.0/8', 'loopback']);
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_TRUST_PROXY: 'proxy.example' }),
      (err: unknown) => err instanceof ConfigError && err.key === 'CENTRALITA_TRUST_PROXY');
  });

  it('reads a KEY=VALUE file and refuses unknown keys in it', () => {
    assert.deepEqual(parseConfigFile('# comment\nCENTRALITA_PORT=4000\nCENTRALITA_HOST="0.0.0.0"\n', 'f'), { CENTRALITA_PORT: '4000', CENTRALITA_HOST: '0.0.0.0' });
    assert.throws(() => parseConfigFile('CENTRALITA_PROT=4000', 'f'), /CENTRALITA_PROT: unknown key in f line 1/);
    assert.throws(() => parseConfigFile('just text', 'f'), /line 1: expected KEY=VALUE/);
  });

  it('redacts every secret', () => {
    const config = loadConfig({ ...minimal, DATABASE_URL: 'postgres://u:dbsecret@h/db' });
    const text = JSON.stringify(redactedConfig(config));
    for (const secret of ['a-long-enough-admin-token', 'ari-secret', 'ami-secret', 'dbsecret']) assert.ok(!text.includes(secret), secret);
  });

  it('accepts the sample admin token only in the lab, on loopback', () => {
    const sample = { ...minimal, CENTRALITA_ADMIN_TOKEN: sampleAdminToken };
    assert.throws(() => loadConfig(sample), (err: unknown) => err instanceof ConfigError && err.key === 'CENTRALITA_ADMIN_TOKEN' && /CENTRALITA_LAB=true/.test(err.message) && !err.message.includes(sampleAdminToken));
    assert.throws(() => loadConfig({ ...sample, CENTRALITA_LAB: 'true', CENTRALITA_HOST: '0.0.0.0' }), /sample configuration/);
    assert.throws(() => loadConfig({ ...sample, CENTRALITA_LAB: 'true', CENTRALITA_HOST: '192.168.1.10' }), /sample configuration/);
    assert.equal(loadConfig({ ...sample, CENTRALITA_LAB: 'true' }).lab, true);
    assert.equal(loadConfig({ ...sample, CENTRALITA_LAB: 'true', CENTRALITA_HOST: '::1' }).host, '::1');
    assert.equal(loadConfig(minimal).lab, false);
    // The sample file's token is the one refused: a copy of the file is no lab
    // by itself; scripts/demo.sh adds CENTRALITA_LAB=true to its environment.
    const sampleFile = `${projectRoot}/config/centralita.sample.env`;
    assert.throws(() => loadConfig({ CENTRALITA_CONFIG: sampleFile }), /sample configuration/, 'a plain copy of the sample is refused');
    const fromDemo = loadConfig({ CENTRALITA_CONFIG: sampleFile, CENTRALITA_LAB: 'true' });
    assert.deepEqual([fromDemo.adminToken, fromDemo.lab], [sampleAdminToken, true]);
    assert.throws(() => loadConfig({ CENTRALITA_CONFIG: sampleFile, CENTRALITA_LAB: 'true', CENTRALITA_HOST: '0.0.0.0' }), /sample configuration/);
    assert.match(readFileSync(`${projectRoot}/scripts/demo.sh`, 'utf8'), /^export CENTRALITA_LAB=\$\{CENTRALITA_LAB:-true\}$/m, 'the demo starts as a lab');
  });

  it('refuses the sample admin token behind a trusted reverse proxy, lab or not', () => {
    const sample = { ...minimal, CENTRALITA_ADMIN_TOKEN: sampleAdminToken, CENTRALITA_LAB: 'true' };
    for (const proxy of ['127.0.0.1', 'loopback', '10.0.0.0/8']) {
      assert.throws(() => loadConfig({ ...sample, CENTRALITA_TRUST_PROXY: proxy }),
        (err: unknown) => err instanceof ConfigError && err.key === 'CENTRALITA_ADMIN_TOKEN' && /CENTRALITA_TRUST_PROXY/.test(err.message), proxy);
    }
    assert.deepEqual(loadConfig({ ...minimal, CENTRALITA_TRUST_PROXY: '127.0.0.1' }).trustProxy, ['127.0.0.1'], 'a token of its own is fine behind a proxy');
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com']) assert.ok(!isLoopbackHost(host), host);
  });

  it('reads the failed-authentication budget', () => {
    assert.equal(loadConfig(minimal).authFailuresPerMinute, 10);
    assert.equal(loadConfig({ ...minimal, CENTRALITA_AUTH_FAILURES_PER_MINUTE: '50' }).authFailuresPerMinute, 50);
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_AUTH_FAILURES_PER_MINUTE: '0' }), /CENTRALITA_AUTH_FAILURES_PER_MINUTE/);
  });

  it('reads the metrics token: optional, 32 characters or more, not the admin token, never logged', () => {
    assert.equal(loadConfig(minimal).metricsToken, undefined);
    assert.equal(loadConfig({ ...minimal, CENTRALITA_METRICS_TOKEN: '' }).metricsToken, undefined);
    const token = 'a-metrics-token-for-prometheus-0123456789';
    const config = loadConfig({ ...minimal, CENTRALITA_METRICS_TOKEN: token });
    assert.equal(config.metricsToken, token);
    assert.ok(!JSON.stringify(redactedConfig(config)).includes(token), 'redacted');
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_METRICS_TOKEN: 'short-metrics-token' }),
      (err: unknown) => err instanceof ConfigError && err.key === 'CENTRALITA_METRICS_TOKEN' && /at least 32 characters/.test(err.message) && !err.message.includes('short-metrics-token'));
    assert.throws(() => loadConfig({ ...minimal, CENTRALITA_METRICS_TOKEN: minimal.CENTRALITA_ADMIN_TOKEN }),
      (err: unknown) => err instanceof ConfigError && err.key === 'CENTRALITA_METRICS_TOKEN' && /must differ from CENTRALITA_ADMIN_TOKEN/.test(err.message));
  });
});
