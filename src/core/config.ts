import { readFileSync } from 'node:fs';
import {
  allowList, boolean, ConfigError, directory, host, integer, isLoopbackHost, oneOf, optional, pemFile, port, proxies, required, timeZone, url,
  type Source,
} from './config-values.js';

export { ConfigError, isLoopbackHost } from './config-values.js';

/** centralita's whole configuration, validated once at start-up. */
export interface Config {
  host: string;
  port: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Postgres connection string; unset means the embedded PGlite database under dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  adminToken: string;
  /** CENTRALITA_LAB: a lab install (scripts/demo.sh, the tests); only then is the sample admin token accepted, and only on loopback with no trusted proxy. */
  lab: boolean;
  /** Failed bearer-token authentications per client address and minute before it is locked out for a minute. */
  authFailuresPerMinute: number;
  /** The pages' sign-in sessions: ended after this long unused. */
  sessionIdleMinutes: number;
  /** The pages' sign-in sessions: ended this long after sign-in, used or not. */
  sessionMaxHours: number;
  /** `ca`: PEM certificates ARI's TLS certificate must chain to (CENTRALITA_ARI_CA), besides the system's. */
  ari: { url: string; user: string; password: string; app: string; ca?: string };
  /** HTTPS and WSS served directly: PEM files, read again on SIGHUP (CENTRALITA_TLS_CERT, CENTRALITA_TLS_KEY). */
  tls?: { certFile: string; keyFile: string };
  ami: { host: string; port: number; user: string; password: string };
  /**
   * Several Asterisk media servers behind Kamailio (CENTRALITA_MEDIA_SERVERS,
   * docs/scale-out.md): each one's ARI URL, AMI on the same host at
   * `ami.port`, the same credentials. Absent: the one Asterisk of `ari` and `ami`.
   */
  mediaServers?: { name: string; ariUrl: string; amiHost: string }[];
  /** How long a media server may be unreachable before its calls are judged lost (CENTRALITA_MEDIA_SERVER_LOST_SECONDS). */
  mediaServerLostSeconds?: number;
  recordingsDir: string;
  /** /health reports the recordings disk low (and the service degraded) under this many free MB. */
  recordingsMinFreeMb: number;
  /** Agent tokens may list and play the recordings of their own calls. */
  agentsHearOwnRecordings: boolean;
  /** Asterisk on another host: finished recordings are fetched (and then removed) through ARI's stored recordings API. */
  recordingsViaAri: boolean;
  /** Uploaded prompts, 8 kHz mono WAV files; Asterisk's sounds/centralita-prompts must be this folder. */
  promptsDir: string;
  /** Language of the prompts callers hear when nothing more specific applies. */
  defaultLanguage: 'es' | 'en';
  /** Wrap-up after an agent's call outside the queues (a direct or outgoing call). */
  directCallWrapUpSeconds: number;
  /** Supervisors may monitor only agents of their own team. */
  monitorSameTeamOnly: boolean;
  /** A monitoring session follows the agent to their next call instead of ending with the call. */
  monitorFollowAgent: boolean;
  /** The centre's time zone: "today" on the wallboard, and reports' default. */
  timezone: string;
  /** Callers who abandon within this many seconds are short abandons, left out of the service level. */
  shortAbandonSeconds: number;
  /** Private hosts and networks IVR lookups may reach (public ones always may): host names, addresses, CIDRs. */
  lookupAllow: string[];
  /** Webhook deliveries (docs/webhooks.md): first retry's wait, when to give up, one request's limit. */
  webhooks: { retryBaseMs: number; giveUpHours: number; timeoutMs: number };
  /** Reverse proxies whose X-Forwarded-For names the client (addresses, CIDRs, or loopback/linklocal/uniquelocal). */
  trustProxy: string[];
  /** Calls, IVR traces, agent states and queue entries older than this many days are deleted by the daily job; unset keeps them for ever. */
  eventRetentionDays: number | undefined;
  /** How the Asterisk is laid out: desk phones' endpoint template and the transfer context (docs/install.md). */
  site: SiteOptions;
  /** A bearer token that may read /metrics only (Prometheus' scrape config); loopback needs none, admin tokens also may. */
  metricsToken: string | undefined;
  /**
   * Active/standby (CENTRALITA_HA=true; docs/ha.md): the leader lease's time
   * (CENTRALITA_HA_LEASE_MS) and where clients reach this instance
   * (CENTRALITA_HA_ADDRESS, named by a standby's 503). None: a single instance.
   */
  ha?: { address: string; leaseMs: number };
  /**
   * Outbound calls (docs/outbound.md): the dial string of an outside number,
   * `${number}` standing for it (CENTRALITA_OUTBOUND_ENDPOINT; none: no
   * outbound calls), and the caller ID they carry (CENTRALITA_OUTBOUND_CALLER_ID).
   */
  outbound: {
    endpoint: string | undefined; callerId: string;
    /** How long a campaign's call rings before it counts as not answered (CENTRALITA_CAMPAIGN_RING_SECONDS). */
    campaignRingSeconds: number;
  };
}

export interface SiteOptions {
  /** The dial string of a desk phone, `${extension}` standing for its extension (CENTRALITA_PHONE_ENDPOINT). */
  phoneEndpoint: string;
  /** The dialplan context that dials an extension for a transfer (CENTRALITA_TRANSFER_CONTEXT). */
  transferContext: string;
  /** The contexts the carrier's calls enter, which must reach Stasis(<app>,did,…) (CENTRALITA_INBOUND_CONTEXTS; doctor checks it). */
  inboundContexts: string[];
  /** The contexts desk phones' calls enter, which must reach Stasis(<app>,feature,…) (CENTRALITA_PHONE_CONTEXTS; doctor checks it). */
  phoneContexts: string[];
}

/** As deploy/asterisk/extensions-centralita.conf and the Docker site sample lay the dialplan out. */
export const defaultSiteOptions: SiteOptions = {
  phoneEndpoint: 'PJSIP/${extension}', transferContext: 'centralita-transfer', inboundContexts: ['from-trunk'], phoneContexts: ['from-internal'],
};

const placeholder = '${extension}';

/** Why a phone endpoint template cannot work, or undefined when it can. */
export function endpointTemplateProblem(template: string): string | undefined {
  if (template.split(placeholder).length !== 2) return `must hold ${placeholder} exactly once (e.g. PJSIP/\${extension})`;
  if (!/^[A-Za-z][A-Za-z0-9_]*\/[^\s,]+$/.test(template)) return 'must be TECHNOLOGY/resource with no spaces or commas (e.g. PJSIP/${extension} or PJSIP/agent-${extension})';
  if (template.indexOf('/') > template.indexOf(placeholder)) return `the technology (before /) cannot hold ${placeholder}`;
  return undefined;
}

/** Keys whose values are never logged nor echoed in errors. */
export const secretKeys = ['CENTRALITA_ADMIN_TOKEN', 'CENTRALITA_METRICS_TOKEN', 'CENTRALITA_ARI_PASSWORD', 'CENTRALITA_AMI_PASSWORD', 'DATABASE_URL'] as const;

/** Every setting centralita reads (an unknown CENTRALITA_ key is refused); deploy/centralita.env.template lists them all but CENTRALITA_CONFIG. */
export const knownKeys: ReadonlySet<string> = new Set([
  'CENTRALITA_CONFIG', 'CENTRALITA_HOST', 'CENTRALITA_PORT', 'CENTRALITA_LOG_LEVEL', 'DATABASE_URL', 'CENTRALITA_DATA_DIR',
  'CENTRALITA_ADMIN_TOKEN', 'CENTRALITA_ARI_URL', 'CENTRALITA_ARI_USER', 'CENTRALITA_ARI_PASSWORD', 'CENTRALITA_ARI_APP',
  'CENTRALITA_AMI_HOST', 'CENTRALITA_AMI_PORT', 'CENTRALITA_AMI_USER', 'CENTRALITA_AMI_PASSWORD',
  'CENTRALITA_MEDIA_SERVERS', 'CENTRALITA_MEDIA_SERVER_LOST_SECONDS',
  'CENTRALITA_RECORDINGS_DIR', 'CENTRALITA_PROMPTS_DIR', 'CENTRALITA_DEFAULT_LANGUAGE', 'CENTRALITA_DIRECT_CALL_WRAPUP_SECONDS',
  'CENTRALITA_RECORDINGS_MIN_FREE_MB', 'CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS', 'CENTRALITA_RECORDINGS_VIA_ARI',
  'CENTRALITA_MONITOR_SAME_TEAM_ONLY', 'CENTRALITA_MONITOR_FOLLOW_AGENT', 'CENTRALITA_TIMEZONE', 'CENTRALITA_SHORT_ABANDON_SECONDS',
  'CENTRALITA_LAB', 'CENTRALITA_AUTH_FAILURES_PER_MINUTE', 'CENTRALITA_SESSION_IDLE_MINUTES', 'CENTRALITA_SESSION_MAX_HOURS', 'CENTRALITA_LOOKUP_ALLOW', 'CENTRALITA_TRUST_PROXY',
  'CENTRALITA_EVENT_RETENTION_DAYS', 'CENTRALITA_WEBHOOK_RETRY_BASE_MS', 'CENTRALITA_WEBHOOK_GIVE_UP_HOURS', 'CENTRALITA_WEBHOOK_TIMEOUT_MS',
  'CENTRALITA_PHONE_ENDPOINT', 'CENTRALITA_TRANSFER_CONTEXT', 'CENTRALITA_INBOUND_CONTEXTS', 'CENTRALITA_PHONE_CONTEXTS', 'CENTRALITA_TLS_CERT', 'CENTRALITA_TLS_KEY', 'CENTRALITA_ARI_CA',
  'CENTRALITA_METRICS_TOKEN', 'CENTRALITA_HA', 'CENTRALITA_HA_ADDRESS', 'CENTRALITA_HA_LEASE_MS',
  'CENTRALITA_OUTBOUND_ENDPOINT', 'CENTRALITA_OUTBOUND_CALLER_ID', 'CENTRALITA_CAMPAIGN_RING_SECONDS',
]);

/** The admin token of config/centralita.sample.env: published, so accepted only in the lab (CENTRALITA_LAB=true on loopback, no trusted proxy). */
export const sampleAdminToken = 'change-me-lab-admin-token-not-for-production';

/**
 * Reads KEY=VALUE lines (the same keys as the environment; # starts a comment).
 * Unknown CENTRALITA_ keys are refused so a typo does not silently fall back
 * to a default.
 */
export function parseConfigFile(text: string, fileName: string): Source {
  const values: Source = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConfigError('CENTRALITA_CONFIG', `${fileName} line ${index + 1}: expected KEY=VALUE`);
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    if (!knownKeys.has(key)) throw new ConfigError(key, `unknown key in ${fileName} line ${index + 1}`);
    values[key] = value;
  });
  return values;
}

function tlsFiles(src: Source): { certFile: string; keyFile: string } | undefined {
  const cert = src.CENTRALITA_TLS_CERT;
  const key = src.CENTRALITA_TLS_KEY;
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new ConfigError(cert ? 'CENTRALITA_TLS_KEY' : 'CENTRALITA_TLS_CERT', 'HTTPS needs both CENTRALITA_TLS_CERT and CENTRALITA_TLS_KEY');
  pemFile(src, 'CENTRALITA_TLS_CERT', /-----BEGIN CERTIFICATE-----/);
  pemFile(src, 'CENTRALITA_TLS_KEY', /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  return { certFile: directory(src, 'CENTRALITA_TLS_CERT', ''), keyFile: directory(src, 'CENTRALITA_TLS_KEY', '') };
}

function phoneEndpoint(src: Source, key: string, fallback: string): string {
  const text = optional(src, key, fallback);
  const problem = endpointTemplateProblem(text);
  if (problem) throw new ConfigError(key, problem);
  return text;
}

/**
 * CENTRALITA_MEDIA_SERVERS: `name=ARI URL` entries separated by commas
 * (media-1=http://10.0.0.11:8088/ari,media-2=http://10.0.0.12:8088/ari);
 * each server's AMI is on its ARI host.
 */
function mediaServers(src: Source, key: string): Config['mediaServers'] {
  const text = src[key]?.trim();
  if (!text) return undefined;
  if (src.CENTRALITA_ARI_URL || src.CENTRALITA_AMI_HOST) throw new ConfigError(key, 'set either CENTRALITA_MEDIA_SERVERS or CENTRALITA_ARI_URL/CENTRALITA_AMI_HOST, not both');
  const servers: NonNullable<Config['mediaServers']> = [];
  for (const entry of text.split(',').map((e) => e.trim())) {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, Math.max(eq, 0));
    if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(name)) throw new ConfigError(key, `'${entry}': expected name=ARI URL, the name in lower-case letters, digits and dashes (e.g. media-1=http://10.0.0.11:8088/ari)`);
    if (servers.some((s) => s.name === name)) throw new ConfigError(key, `media server ${name} is listed twice`);
    const ariUrl = url({ [key]: entry.slice(eq + 1) }, key, undefined, ['http:', 'https:']);
    if (!ariUrl) throw new ConfigError(key, `${name}: no ARI URL`);
    servers.push({ name, ariUrl, amiHost: new URL(ariUrl).hostname.replace(/^\[|\]$/g, '') });
  }
  return servers;
}

const numberPlaceholder = '${number}';

/** The trunk's dial string for an outside number: TECH/resource holding ${number} once (e.g. PJSIP/${number}@my-trunk). */
function outboundEndpoint(src: Source, key: string): string | undefined {
  const text = src[key]?.trim();
  if (!text) return undefined;
  if (text.split(numberPlaceholder).length !== 2) throw new ConfigError(key, `must hold ${numberPlaceholder} exactly once (e.g. PJSIP/\${number}@my-trunk)`);
  if (!/^[A-Za-z][A-Za-z0-9_]*\/[^\s,]+$/.test(text) || text.indexOf('/') > text.indexOf(numberPlaceholder)) {
    throw new ConfigError(key, 'must be TECHNOLOGY/resource with no spaces or commas, the number after the / (e.g. PJSIP/${number}@my-trunk)');
  }
  return text;
}

/** A caller ID: digits, optionally after a +; empty lets the trunk set its own. */
function callerId(src: Source, key: string): string {
  const text = src[key]?.trim() ?? '';
  if (text !== '' && !/^\+?[0-9]{2,20}$/.test(text)) throw new ConfigError(key, 'must be a number: digits, optionally after a +');
  return text;
}

function dialplanName(src: Source, key: string, fallback: string): string {
  const text = optional(src, key, fallback);
  if (!/^[A-Za-z0-9_-]{1,79}$/.test(text)) throw new ConfigError(key, 'must be a dialplan context name: letters, digits, - and _ (at most 79)');
  return text;
}

/** Comma-separated dialplan context names, at least one. */
function dialplanNames(src: Source, key: string, fallback: string[]): string[] {
  const names = optional(src, key, fallback.join(',')).split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw new ConfigError(key, 'must name at least one dialplan context');
  for (const name of names) dialplanName({ [key]: name }, key, name);
  return [...new Set(names)];
}

/**
 * Builds the config from the environment, over an optional file named by
 * CENTRALITA_CONFIG (environment wins). Throws ConfigError naming the first
 * bad key; secrets are never echoed back.
 */
export function loadConfig(env: Source = process.env): Config {
  const fileName = env.CENTRALITA_CONFIG;
  let fromFile: Source = {};
  if (fileName) {
    let text: string;
    try {
      text = readFileSync(fileName, 'utf8');
    } catch (err) {
      throw new ConfigError('CENTRALITA_CONFIG', `cannot read ${fileName}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    fromFile = parseConfigFile(text, fileName);
  }
  const src: Source = { ...fromFile };
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') src[key] = value;

  const adminToken = required(src, 'CENTRALITA_ADMIN_TOKEN');
  if (adminToken.length < 32) throw new ConfigError('CENTRALITA_ADMIN_TOKEN', 'must be at least 32 characters long (e.g. openssl rand -hex 24)');
  const metricsToken = src.CENTRALITA_METRICS_TOKEN || undefined;
  if (metricsToken !== undefined && metricsToken.length < 32) throw new ConfigError('CENTRALITA_METRICS_TOKEN', 'must be at least 32 characters long (e.g. openssl rand -hex 24)');
  if (metricsToken !== undefined && metricsToken === adminToken) throw new ConfigError('CENTRALITA_METRICS_TOKEN', 'must differ from CENTRALITA_ADMIN_TOKEN (it is handed to the monitoring system, which must not get admin rights)');
  const listen = host(src, 'CENTRALITA_HOST', '127.0.0.1');
  const lab = boolean(src, 'CENTRALITA_LAB', false);
  const trustProxy = proxies(src, 'CENTRALITA_TRUST_PROXY');
  // Behind a reverse proxy a loopback listener serves the world: a trusted
  // proxy means this is no lab, whatever CENTRALITA_LAB says.
  const tls = tlsFiles(src);
  if (adminToken === sampleAdminToken && !(lab && isLoopbackHost(listen) && trustProxy.length === 0)) {
    throw new ConfigError('CENTRALITA_ADMIN_TOKEN', 'is the sample configuration\'s published value, accepted only in the lab (CENTRALITA_LAB=true, CENTRALITA_HOST on loopback and no CENTRALITA_TRUST_PROXY); set a secret of your own');
  }
  // Off the loopback, tokens and recordings cross a network: encrypted here,
  // or by a reverse proxy in front (which then must be the only way in).
  if (!isLoopbackHost(listen) && !tls && trustProxy.length === 0) {
    throw new ConfigError('CENTRALITA_HOST', `${listen} is not a loopback address: serve HTTPS (CENTRALITA_TLS_CERT and CENTRALITA_TLS_KEY) or sit behind a reverse proxy (CENTRALITA_TRUST_PROXY; README, "Behind a reverse proxy")`);
  }

  const databaseUrl = url(src, 'DATABASE_URL', undefined, ['postgres:', 'postgresql:'], true);
  let ha: Config['ha'];
  if (boolean(src, 'CENTRALITA_HA', false)) {
    if (!databaseUrl) throw new ConfigError('CENTRALITA_HA', 'needs DATABASE_URL: the instances share the leader lease in Postgres');
    const ownPort = port(src, 'CENTRALITA_PORT', 3000);
    const address = url(src, 'CENTRALITA_HA_ADDRESS', `${tls ? 'https' : 'http'}://${listen.includes(':') ? `[${listen}]` : listen}:${ownPort}`, ['http:', 'https:']) as string;
    ha = { address, leaseMs: integer(src, 'CENTRALITA_HA_LEASE_MS', 2000, 500, 30_000) };
  }

  return {
    host: listen,
    port: port(src, 'CENTRALITA_PORT', 3000),
    logLevel: oneOf(src, 'CENTRALITA_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    databaseUrl,
    dataDir: directory(src, 'CENTRALITA_DATA_DIR', 'data'),
    adminToken,
    lab,
    authFailuresPerMinute: integer(src, 'CENTRALITA_AUTH_FAILURES_PER_MINUTE', 10, 1, 100_000),
    sessionIdleMinutes: integer(src, 'CENTRALITA_SESSION_IDLE_MINUTES', 30, 1, 24 * 60),
    sessionMaxHours: integer(src, 'CENTRALITA_SESSION_MAX_HOURS', 12, 1, 24 * 30),
    ari: {
      url: url(src, 'CENTRALITA_ARI_URL', 'http://127.0.0.1:8088/ari', ['http:', 'https:']) as string,
      user: required(src, 'CENTRALITA_ARI_USER'),
      password: required(src, 'CENTRALITA_ARI_PASSWORD'),
      app: optional(src, 'CENTRALITA_ARI_APP', 'centralita'),
      ...(src.CENTRALITA_ARI_CA ? { ca: pemFile(src, 'CENTRALITA_ARI_CA', /-----BEGIN CERTIFICATE-----/) } : {}),
    },
    ...(tls ? { tls } : {}),
    ami: {
      host: host(src, 'CENTRALITA_AMI_HOST', '127.0.0.1'),
      port: port(src, 'CENTRALITA_AMI_PORT', 5038),
      user: required(src, 'CENTRALITA_AMI_USER'),
      password: required(src, 'CENTRALITA_AMI_PASSWORD'),
    },
    ...(src.CENTRALITA_MEDIA_SERVERS?.trim() ? {
      mediaServers: mediaServers(src, 'CENTRALITA_MEDIA_SERVERS'),
      mediaServerLostSeconds: integer(src, 'CENTRALITA_MEDIA_SERVER_LOST_SECONDS', 10, 2, 600),
    } : {}),
    recordingsDir: directory(src, 'CENTRALITA_RECORDINGS_DIR', 'recordings'),
    recordingsMinFreeMb: integer(src, 'CENTRALITA_RECORDINGS_MIN_FREE_MB', 2048, 0, 1_000_000_000),
    agentsHearOwnRecordings: boolean(src, 'CENTRALITA_AGENTS_HEAR_OWN_RECORDINGS', false),
    recordingsViaAri: boolean(src, 'CENTRALITA_RECORDINGS_VIA_ARI', false),
    promptsDir: directory(src, 'CENTRALITA_PROMPTS_DIR', 'prompts'),
    defaultLanguage: oneOf(src, 'CENTRALITA_DEFAULT_LANGUAGE', ['es', 'en'] as const, 'es'),
    directCallWrapUpSeconds: integer(src, 'CENTRALITA_DIRECT_CALL_WRAPUP_SECONDS', 0, 0, 3600),
    monitorSameTeamOnly: boolean(src, 'CENTRALITA_MONITOR_SAME_TEAM_ONLY', false),
    monitorFollowAgent: boolean(src, 'CENTRALITA_MONITOR_FOLLOW_AGENT', false),
    timezone: timeZone(src, 'CENTRALITA_TIMEZONE', Intl.DateTimeFormat().resolvedOptions().timeZone),
    shortAbandonSeconds: integer(src, 'CENTRALITA_SHORT_ABANDON_SECONDS', 5, 0, 600),
    lookupAllow: allowList(src, 'CENTRALITA_LOOKUP_ALLOW'),
    webhooks: {
      retryBaseMs: integer(src, 'CENTRALITA_WEBHOOK_RETRY_BASE_MS', 2000, 10, 3_600_000),
      giveUpHours: integer(src, 'CENTRALITA_WEBHOOK_GIVE_UP_HOURS', 24, 1, 720),
      timeoutMs: integer(src, 'CENTRALITA_WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    },
    trustProxy,
    eventRetentionDays: src.CENTRALITA_EVENT_RETENTION_DAYS ? integer(src, 'CENTRALITA_EVENT_RETENTION_DAYS', 0, 1, 36_500) : undefined,
    site: {
      phoneEndpoint: phoneEndpoint(src, 'CENTRALITA_PHONE_ENDPOINT', defaultSiteOptions.phoneEndpoint),
      transferContext: dialplanName(src, 'CENTRALITA_TRANSFER_CONTEXT', defaultSiteOptions.transferContext),
      inboundContexts: dialplanNames(src, 'CENTRALITA_INBOUND_CONTEXTS', defaultSiteOptions.inboundContexts),
      phoneContexts: dialplanNames(src, 'CENTRALITA_PHONE_CONTEXTS', defaultSiteOptions.phoneContexts),
    },
    metricsToken,
    ...(ha ? { ha } : {}),
    outbound: {
      endpoint: outboundEndpoint(src, 'CENTRALITA_OUTBOUND_ENDPOINT'),
      callerId: callerId(src, 'CENTRALITA_OUTBOUND_CALLER_ID'),
      campaignRingSeconds: integer(src, 'CENTRALITA_CAMPAIGN_RING_SECONDS', 25, 5, 120),
    },
  };
}

/**
 * The config of a command-line tool (migrate, backup, restore, ...): only the
 * database and folder keys matter there, so the keys the service needs to
 * reach Asterisk get placeholders instead of failing when they are not set.
 */
export function loadToolConfig(env: Source = process.env): Config {
  return loadConfig({
    CENTRALITA_ADMIN_TOKEN: 'tool-only-placeholder-not-a-real-admin-token', CENTRALITA_ARI_USER: '-', CENTRALITA_ARI_PASSWORD: '-',
    CENTRALITA_AMI_USER: '-', CENTRALITA_AMI_PASSWORD: '-', ...env,
  });
}

/** The config as it may be logged: secrets replaced. */
export function redactedConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    adminToken: '[redacted]',
    metricsToken: config.metricsToken ? '[redacted]' : undefined,
    databaseUrl: config.databaseUrl ? '[redacted]' : undefined,
    ari: { ...config.ari, password: '[redacted]', ...(config.ari.ca ? { ca: '[PEM certificates]' } : {}) },
    ami: { ...config.ami, password: '[redacted]' },
  };
}
