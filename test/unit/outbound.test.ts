import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AllowList, OutboundFailed, OutboundPolicy, OutboundRefused, embeddedIpv4, nonPublic, type Resolver } from '../../src/core/outbound.js';

/** No name resolves unless a test gives its own resolver: these tests ask no DNS server. */
const noNames: Resolver = async (host) => { throw Object.assign(new Error(`${host} not found`), { code: 'ENOTFOUND' }); };
const policy = (allow: string[] = [], resolve: Resolver = noNames): OutboundPolicy =>
  new OutboundPolicy(new AllowList(allow), { setting: 'CENTRALITA_LOOKUP_ALLOW', resolve, checkResolveMs: 500 });

describe('outbound policy: which addresses are private', () => {
  it('refuses loopback, link-local, RFC 1918, unique-local, CGNAT, metadata and the unspecified ranges, and names why', () => {
    for (const [address, why] of [
      ['127.0.0.1', /loopback/], ['127.255.0.9', /loopback/], ['::1', /loopback/],
      ['169.254.169.254', /cloud metadata/], ['169.254.1.1', /link-local/], ['fe80::1', /link-local/], ['febf::1', /link-local/],
      ['10.0.0.1', /RFC 1918/], ['172.16.0.1', /RFC 1918/], ['172.31.255.255', /RFC 1918/], ['192.168.1.1', /RFC 1918/],
      ['fc00::1', /unique-local/], ['fd12:3456::1', /unique-local/], ['fd00:ec2::254', /cloud metadata/],
      ['100.64.0.1', /CGNAT/], ['100.100.100.200', /cloud metadata/], ['0.0.0.0', /this network/], ['0.1.2.3', /this network/], ['::', /unspecified/],
      ['224.0.0.1', /multicast/], ['ff02::1', /multicast/], ['255.255.255.255', /reserved/],
    ] as const) assert.match(nonPublic(address) ?? 'public', why, address);
  });

  it('lets public addresses through, next to the private ranges', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '169.253.0.1', '11.0.0.1',
      '2606:4700::1111', '2001:4860:4860::8888', 'fbff::1', 'fe00::1', '::ffff:8.8.8.8']) assert.equal(nonPublic(address), undefined, address);
  });

  it('sees the IPv4 address inside mapped, NAT64, 6to4 and IPv4-compatible IPv6 addresses', () => {
    assert.match(nonPublic('::ffff:127.0.0.1') ?? '', /loopback/);
    assert.match(nonPublic('::ffff:7f00:1') ?? '', /loopback/);
    assert.match(nonPublic('::ffff:169.254.169.254') ?? '', /cloud metadata/);
    assert.match(nonPublic('::ffff:a9fe:a9fe') ?? '', /cloud metadata/);
    assert.match(nonPublic('::ffff:10.1.2.3') ?? '', /RFC 1918/);
    assert.equal(embeddedIpv4('64:ff9b::a9fe:a9fe'), '169.254.169.254');
    assert.match(nonPublic('64:ff9b::a9fe:a9fe') ?? '', /cloud metadata address \(169\.254\.169\.254, inside an IPv6 address\)/);
    assert.equal(embeddedIpv4('2002:c0a8:0101::1'), '192.168.1.1');
    assert.match(nonPublic('2002:c0a8:0101::1') ?? '', /RFC 1918/);
    assert.match(nonPublic('::127.0.0.1') ?? '', /loopback/);
    assert.equal(nonPublic('64:ff9b::808:808'), undefined);
  });

  it('refuses IPv4-translated, local-use NAT64 and Teredo addresses, judging the IPv4 inside where its place is fixed', async () => {
    assert.equal(embeddedIpv4('::ffff:0:7f00:1'), '127.0.0.1');
    assert.match(nonPublic('::ffff:0:7f00:1') ?? '', /^a loopback address \(127\.0\.0\.1, inside an IPv6 address\)$/);
    assert.match(nonPublic('::ffff:0:169.254.169.254') ?? '', /cloud metadata/);
    assert.match(nonPublic('::ffff:0:a00:1') ?? '', /RFC 1918/);
    assert.equal(nonPublic('::ffff:0:808:808'), undefined);
    assert.match(nonPublic('64:ff9b:1::7f00:1') ?? '', /local-use NAT64/);
    assert.match(nonPublic('64:ff9b:1:ffff::808:808') ?? '', /local-use NAT64/);
    assert.match(nonPublic('2001:0:4136:e378:8000:63bf:3fff:fdd2') ?? '', /Teredo/);
    assert.match(nonPublic('2001::1') ?? '', /Teredo/);
    for (const address of ['2001:200::1', '2001:1:0:0::1', '64:ff9b:2::1']) assert.equal(nonPublic(address), undefined, address);
    assert.match(await policy().checkUrl('http://[::ffff:0:7f00:1]:8088/ari') ?? '', /^::ffff:0:7f00:1 is a loopback address \(127\.0\.0\.1, inside/);
    assert.match(await policy().checkUrl('http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/') ?? '', /Teredo/);
    // An allowed IPv4 address allows its translated form too.
    assert.equal(policy(['127.0.0.1']).refusalOf('::ffff:0:7f00:1', 80), undefined);
  });
});

describe('outbound policy: the allow list', () => {
  it('allows single addresses and CIDRs, IPv4 and IPv6, and mapped forms of allowed IPv4 addresses', () => {
    const p = policy(['127.0.0.1', '10.0.0.0/8', 'fd00::/8', '[::1]']);
    for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '10.200.1.1', '::ffff:10.9.9.9', 'fd12::1', '::1', '8.8.8.8']) {
      assert.equal(p.refusalOf(address, 80), undefined, address);
    }
    for (const address of ['127.0.0.2', '192.168.1.1', 'fc00::1', '169.254.169.254', '::ffff:127.0.0.2']) {
      assert.match(p.refusalOf(address, 80) ?? '', /refused unless CENTRALITA_LOOKUP_ALLOW allows it/, address);
    }
  });

  it('allows host names (and *.domain) whatever they resolve to, and nothing else by name', () => {
    const list = new AllowList(['lookup.internal', '*.corp.example', 'Billing.Example.']);
    assert.ok(list.allowsHost('lookup.internal', 80));
    assert.ok(list.allowsHost('LOOKUP.internal.', 80));
    assert.ok(list.allowsHost('a.b.corp.example', 80));
    assert.ok(!list.allowsHost('corp.example', 80));
    assert.ok(!list.allowsHost('evilcorp.example', 80));
    assert.ok(list.allowsHost('billing.example', 80));
    assert.ok(!list.allowsHost('lookup.internal.evil.test', 80));
    assert.ok(!list.allowsAddress('127.0.0.1', 'any'));
  });

  it('refuses entries that are neither hosts, addresses nor networks', () => {
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/8/1', 'http://x', 'a b', '10.0.0.0/x', 'host/8']) {
      assert.throws(() => new AllowList([bad]), /is (neither|not)/, bad);
    }
    for (const bad of ['127.0.0.1:0', '127.0.0.1:65536', 'lookup.internal:123456', '127.0.0.1:x', 'lookup.internal:', '[::1]:', '[::1]8080',
      '[lookup.internal]:80', '10.0.0.0/8:443:1', '[fd00::/8]/8:443']) {
      assert.throws(() => new AllowList([bad]), /is (neither|not)|has brackets|port out of range/, bad);
    }
    assert.deepEqual(AllowList.parse(' 127.0.0.1 , ,::1/128,').entries, ['127.0.0.1', '::1/128']);
  });

  it('refuses the cloud metadata addresses behind an allowed name or inside an allowed network, unless listed as themselves', async () => {
    const names: Record<string, string[]> = {
      'aws.test': ['169.254.169.254'], 'aws6.test': ['fd00:ec2::254'], 'ali.test': ['100.100.100.200'], 'mapped.test': ['::ffff:169.254.169.254'],
      'nat64.test': ['64:ff9b::a9fe:a9fe'], 'both.test': ['127.0.0.1', '169.254.169.254'], 'loop.test': ['127.0.0.1'],
    };
    const resolve: Resolver = async (host) => (names[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const p = policy([...Object.keys(names), '169.254.0.0/16', 'fd00::/8', '100.64.0.0/10'], resolve);
    assert.equal(await p.checkUrl('http://loop.test/'), undefined);
    assert.equal(await p.checkUrl('http://169.254.1.1/'), undefined);
    assert.equal(await p.checkUrl('http://100.64.0.1/'), undefined);
    assert.equal(await p.checkUrl('http://aws.test/latest/meta-data/'),
      'aws.test resolves to 169.254.169.254, the cloud metadata address, refused unless CENTRALITA_LOOKUP_ALLOW names that address itself (a network or a host name does not allow it)');
    for (const url of ['http://aws6.test/', 'http://ali.test/', 'http://mapped.test/', 'http://nat64.test/', 'http://both.test/',
      'http://169.254.169.254/', 'http://[fd00:ec2::254]/', 'http://100.100.100.200/', 'http://[::ffff:a9fe:a9fe]/']) {
      assert.match(await p.checkUrl(url) ?? 'allowed', /cloud metadata address.*names that address itself/, url);
    }
    // Without any entry near it, the usual refusal.
    assert.match(await policy([], resolve).checkUrl('http://aws.test/') ?? '', /metadata address, refused unless CENTRALITA_LOOKUP_ALLOW allows it$/);
    // Listed as themselves, they are allowed (on the port given, when one is).
    const listed = policy(['169.254.169.254:80', '[fd00:ec2::254]', '100.100.100.200/32'], resolve);
    for (const url of ['http://aws.test/', 'http://169.254.169.254/', 'http://nat64.test/', 'http://aws6.test:8080/', 'http://ali.test/']) {
      assert.equal(await listed.checkUrl(url), undefined, url);
    }
    assert.match(await listed.checkUrl('http://aws.test:8080/') ?? '', /refused on port 8080 unless CENTRALITA_LOOKUP_ALLOW allows it on that port/);
  });

  it('limits an entry to the port it names: host:port, address:port, network:port, [IPv6]:port, [IPv6/prefix]:port', async () => {
    const p = policy(['127.0.0.1:8080', '10.0.0.0/8:443', '[::1]:8080', '[fd00::/8]:443', '[fc00::]/8:8443', 'lookup.test:8080', '*.corp.test:443'],
      async () => [{ address: '127.0.0.2', family: 4 }]);
    for (const url of ['http://127.0.0.1:8080/', 'https://10.1.2.3/', 'http://10.1.2.3:443/', 'http://[::1]:8080/', 'https://[fd12::1]/',
      'http://[fc00::1]:8443/', 'http://lookup.test:8080/', 'https://a.corp.test/']) {
      assert.equal(await p.checkUrl(url), undefined, url);
    }
    // Asterisk's ARI and centralita's own API on the same loopback address stay refused, and say that the port is what is missing.
    assert.equal(await p.checkUrl('http://127.0.0.1:8088/ari'), '127.0.0.1 is a loopback address, refused on port 8088 unless CENTRALITA_LOOKUP_ALLOW allows it on that port');
    assert.equal(await p.checkUrl('http://lookup.test:3000/'), 'lookup.test resolves to 127.0.0.2, a loopback address, refused on port 3000 unless CENTRALITA_LOOKUP_ALLOW allows it on that port');
    for (const url of ['http://127.0.0.1/', 'https://127.0.0.1/', 'http://10.1.2.3/', 'http://[::1]:8088/', 'http://[fd12::1]/', 'https://[fc00::1]/',
      'http://a.corp.test/', 'http://127.0.0.2:8080/']) {
      assert.match(await p.checkUrl(url) ?? 'allowed', /refused/, url);
    }
    // The URL's default port is the scheme's.
    assert.equal(await policy(['127.0.0.1:80']).checkUrl('http://127.0.0.1/'), undefined);
    assert.match(await policy(['127.0.0.1:80']).checkUrl('https://127.0.0.1/') ?? '', /refused on port 443/);
    assert.equal(await policy(['127.0.0.1:443']).checkUrl('https://127.0.0.1/'), undefined);
    // A bare IPv6 entry never ends in a port: ::1:8080 is an address, and allows nothing on ::1.
    assert.match(await policy(['::1:8080']).checkUrl('http://[::1]:8080/') ?? '', /^::1 is a loopback address, refused unless/);
    assert.equal(await policy(['::1:8080']).checkUrl('http://[::1:8080]/'), undefined);
    // The same address on two ports is two entries.
    const two = policy(['127.0.0.1:8080', '127.0.0.1:9090']);
    assert.equal(await two.checkUrl('http://127.0.0.1:9090/'), undefined);
    assert.match(await two.checkUrl('http://127.0.0.1:8088/') ?? '', /refused on port 8088/);
  });
});

describe('outbound policy: checking a URL at save', () => {
  it('refuses private literal addresses, in any spelling the URL parser accepts', async () => {
    const p = policy();
    for (const url of ['http://127.0.0.1:8088/ari', 'http://2130706433/', 'http://0x7f.1/', 'http://[::1]:3000/', 'http://[::ffff:127.0.0.1]/',
      'http://169.254.169.254/latest/meta-data/', 'https://10.0.0.5/', 'http://0.0.0.0:3000/']) {
      assert.match(await p.checkUrl(url) ?? 'allowed', /refused unless CENTRALITA_LOOKUP_ALLOW/, url);
    }
    assert.equal(await p.checkUrl('ftp://8.8.8.8/'), 'must be an http(s) URL');
    assert.equal(await p.checkUrl('http://8.8.8.8/x'), undefined);
  });

  it('resolves a name and refuses it when any of its addresses is private', async () => {
    const names: Record<string, string[]> = { 'public.test': ['93.184.216.34'], 'mixed.test': ['93.184.216.34', '10.0.0.7'], 'inside.test': ['::1'] };
    const resolve: Resolver = async (host) => (names[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const p = policy([], resolve);
    assert.equal(await p.checkUrl('http://public.test/'), undefined);
    assert.match(await p.checkUrl('http://mixed.test/') ?? '', /^mixed\.test resolves to 10\.0\.0\.7, a private address/);
    assert.match(await p.checkUrl('http://inside.test/') ?? '', /^inside\.test resolves to ::1, a loopback address/);
    // A name that does not resolve now is left to the call-time check.
    assert.equal(await p.checkUrl('http://nowhere.test/'), undefined);
    assert.equal(await policy(['inside.test'], resolve).checkUrl('http://inside.test/'), undefined);
  });

  it('leaves a name whose resolution hangs to the call-time check, within its time', async () => {
    const p = policy([], () => new Promise(() => undefined));
    const started = Date.now();
    assert.equal(await p.checkUrl('http://slow.test/'), undefined);
    assert.ok(Date.now() - started < 2000);
  });

  /** A resolver that answers after ms (10.0.0.x for hosts named p…, public otherwise), counting calls and lookups at once. */
  const counting = (ms: number) => {
    const seen = { calls: [] as string[], inFlight: 0, most: 0 };
    const resolve: Resolver = (host) => {
      seen.calls.push(host);
      seen.inFlight += 1;
      seen.most = Math.max(seen.most, seen.inFlight);
      return new Promise((done) => setTimeout(() => {
        seen.inFlight -= 1;
        done([{ address: host.startsWith('p') ? `10.0.0.${seen.calls.indexOf(host) % 250}` : '93.184.216.34', family: 4 }]);
      }, ms).unref());
    };
    return { seen, resolve };
  };
  const many = (allow: string[], resolve: Resolver, limits: { checkResolveMs?: number; checkBudgetMs?: number } = {}): OutboundPolicy =>
    new OutboundPolicy(new AllowList(allow), { setting: 'CENTRALITA_LOOKUP_ALLOW', resolve, ...limits });

  it('checks many URLs at once: each distinct host resolved once, three at a time, the answers in order', async () => {
    const { seen, resolve } = counting(10);
    const hosts = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? `p${i}.test` : `q${i}.test`));
    const urls = [...hosts.map((h) => `http://${h}/a`), ...hosts.map((h) => `https://${h.toUpperCase()}/b`), 'http://127.0.0.1/', 'ftp://x.test/', 'nope'];
    const answers = await many([], resolve).checkUrls(urls);
    assert.deepEqual([...seen.calls].sort(), [...hosts].sort());
    assert.equal(seen.most, 3);
    assert.equal(answers.length, urls.length);
    hosts.forEach((h, i) => {
      for (const answer of [answers[i], answers[i + hosts.length]]) {
        if (h.startsWith('p')) assert.match(answer ?? 'allowed', new RegExp(`^${h.replace('.', '\\.')} resolves to 10\\.0\\.0\\.\\d+, a private address`), h);
        else assert.equal(answer, undefined, h);
      }
    });
    assert.match(answers[40] ?? '', /^127\.0\.0\.1 is a loopback address/);
    assert.deepEqual(answers.slice(41), ['must be an http(s) URL', 'is not a URL']);
  });

  it('leaves the hosts not resolved within the time budget to the call-time check', async () => {
    const { seen, resolve } = counting(50);
    const hosts = Array.from({ length: 100 }, (_, i) => `p${i}.test`);
    const started = Date.now();
    const answers = await many([], resolve, { checkBudgetMs: 300 }).checkUrls(hosts.map((h) => `http://${h}/`));
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
    assert.ok(seen.calls.length >= 3 && seen.calls.length < 100, `${seen.calls.length} resolved`);
    // Those resolved in time are judged; the others pass, for the call-time check.
    assert.ok(answers.filter((a) => a !== undefined).length >= 3);
    assert.deepEqual(answers.slice(seen.calls.length), new Array(100 - seen.calls.length).fill(undefined));
  });

  it('starts no more lookups once three hang: a hung lookup holds a thread of the pool', async () => {
    const calls: string[] = [];
    const hang: Resolver = (host) => { calls.push(host); return new Promise(() => undefined); };
    const started = Date.now();
    const answers = await many([], hang, { checkResolveMs: 100, checkBudgetMs: 5000 }).checkUrls(Array.from({ length: 1000 }, (_, i) => `http://h${i}.test/`));
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
    assert.equal(calls.length, 3);
    assert.ok(answers.every((a) => a === undefined));
  });
});

describe('outbound policy: requests', () => {
  let server: Server;
  let port: number;
  let hits: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/redirect') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
        return res.end();
      }
      if (url.pathname === '/big') {
        // Streamed without a length: the reader must count.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(16 * 1024, 0x20);
        let sent = 0;
        const more = (): void => {
          while (sent < 10) { sent += 1; if (!res.write(chunk)) return void res.once('drain', more); }
          res.end();
        };
        return more();
      }
      if (url.pathname === '/declared-big') {
        res.writeHead(200, { 'content-length': String(1024 * 1024) });
        return res.write('{');
      }
      if (url.pathname === '/slow') return void setTimeout(() => res.end('{}'), 1500).unref();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, path: url.pathname }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const get = (p: OutboundPolicy, url: string, timeoutMs = 2000) => p.request(new URL(url), { method: 'GET', timeoutMs });

  it('refuses a lookup server on 127.0.0.1 by default, before connecting, and reaches it only when the setting allows it', async () => {
    hits = [];
    await assert.rejects(get(policy(), `http://127.0.0.1:${port}/a`), (err: unknown) => err instanceof OutboundRefused && /127\.0\.0\.1 is a loopback address/.test(err.message));
    assert.deepEqual(hits, []);
    const answer = await get(policy(['127.0.0.1']), `http://127.0.0.1:${port}/a`);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body.toString()), { ok: true, path: '/a' });
    assert.equal((await get(policy(['127.0.0.0/8']), `http://127.0.0.1:${port}/b`)).status, 200);
    await assert.rejects(get(policy(['::1', '10.0.0.0/8']), `http://127.0.0.1:${port}/c`), OutboundRefused);
    assert.deepEqual(hits, ['/a', '/b']);
  });

  it('reaches an address allowed on its port only on that port, at call time too, by address or by name', async () => {
    hits = [];
    const other = port === 65535 ? port - 1 : port + 1;
    assert.equal((await get(policy([`127.0.0.1:${port}`]), `http://127.0.0.1:${port}/a`)).status, 200);
    await assert.rejects(get(policy([`127.0.0.1:${other}`]), `http://127.0.0.1:${port}/b`),
      (err: unknown) => err instanceof OutboundRefused && err.message.includes(`refused on port ${port} unless`));
    const named = (allow: string): OutboundPolicy => policy([allow], async () => [{ address: '127.0.0.1', family: 4 }]);
    assert.equal((await get(named(`lookup.test:${port}`), `http://lookup.test:${port}/c`)).status, 200);
    await assert.rejects(get(named(`lookup.test:${other}`), `http://lookup.test:${port}/d`),
      (err: unknown) => err instanceof OutboundRefused && err.message.startsWith(`lookup.test resolves to 127.0.0.1, a loopback address, refused on port ${port}`));
    assert.deepEqual(hits, ['/a', '/c']);
  });

  it('checks the address a name resolves to at call time, and connects to that checked address', async () => {
    hits = [];
    let answers = [['93.184.216.34']];
    const resolve: Resolver = async () => (answers.shift() ?? ['127.0.0.1']).map((address) => ({ address, family: 4 as const }));
    // DNS rebinding: public when saved, loopback when called.
    const p = policy([], resolve);
    assert.equal(await p.checkUrl(`http://rebind.test:${port}/`), undefined);
    await assert.rejects(get(p, `http://rebind.test:${port}/x`), (err: unknown) => err instanceof OutboundRefused && /rebind\.test resolves to 127\.0\.0\.1, a loopback address/.test(err.message));
    // Any refused address among several refuses the request.
    answers = [['93.184.216.34', '127.0.0.1']];
    await assert.rejects(get(p, `http://rebind.test:${port}/y`), OutboundRefused);
    assert.deepEqual(hits, []);
    // An allowed name is reached at the address it resolved to (the resolver's, not the system's).
    const allowed = policy(['lookup.test'], async () => [{ address: '127.0.0.1', family: 4 }]);
    assert.equal((await get(allowed, `http://lookup.test:${port}/z`)).status, 200);
    // So is an allowed network behind a name.
    const byNetwork = policy(['127.0.0.0/8'], async () => [{ address: '127.0.0.1', family: 4 }]);
    assert.equal((await get(byNetwork, `http://other.test:${port}/w`)).status, 200);
    assert.deepEqual(hits, ['/z', '/w']);
  });

  it('refuses at call time an allowed name that resolves to the metadata address, before connecting', async () => {
    hits = [];
    const p = policy(['lookup.test'], async () => [{ address: '127.0.0.1', family: 4 }, { address: '169.254.169.254', family: 4 }]);
    await assert.rejects(get(p, `http://lookup.test:${port}/m`),
      (err: unknown) => err instanceof OutboundRefused && /^lookup\.test resolves to 169\.254\.169\.254, the cloud metadata address/.test(err.message));
    assert.deepEqual(hits, []);
  });

  it('does not follow a redirect (here to the metadata address): the request is refused', async () => {
    await assert.rejects(get(policy(['127.0.0.1']), `http://127.0.0.1:${port}/redirect`),
      (err: unknown) => err instanceof OutboundRefused && /redirect \(HTTP 302 to http:\/\/169\.254\.169\.254\/latest\/meta-data\/\); redirects are not followed/.test(err.message));
  });

  it('refuses an answer past 64 KiB, streamed or declared, without reading it all', async () => {
    const p = policy(['127.0.0.1']);
    assert.equal(p.maxBytes, 65536);
    await assert.rejects(get(p, `http://127.0.0.1:${port}/big`), (err: unknown) => err instanceof OutboundRefused && /larger than 65536 bytes/.test(err.message));
    await assert.rejects(get(p, `http://127.0.0.1:${port}/declared-big`), (err: unknown) => err instanceof OutboundRefused && /larger than 65536 bytes/.test(err.message));
  });

  it('times out', async () => {
    await assert.rejects(get(policy(['127.0.0.1']), `http://127.0.0.1:${port}/slow`, 200), (err: unknown) => err instanceof OutboundFailed && err.code === 'timeout');
  });

  it('reaches an allowed IPv6 literal ([::1]) and refuses it by default', async () => {
    const v6 = createServer((_req, res) => res.end('{"v6":true}'));
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    try {
      const url = `http://[::1]:${(v6.address() as AddressInfo).port}/`;
      await assert.rejects(get(policy(), url), (err: unknown) => err instanceof OutboundRefused && /^::1 is a loopback address/.test(err.message));
      assert.deepEqual(JSON.parse((await get(policy(['::1/128']), url)).body.toString()), { v6: true });
    } finally {
      v6.closeAllConnections();
      v6.close();
    }
  });

  it('sends a POST body', async () => {
    const answer = await policy(['127.0.0.1']).request(new URL(`http://127.0.0.1:${port}/post`), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}', timeoutMs: 2000,
    });
    assert.equal(answer.status, 200);
  });
});
