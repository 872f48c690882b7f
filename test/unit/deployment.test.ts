import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../src/core/paths.js';

const read = (name: string): string => readFileSync(join(projectRoot, name), 'utf8');

describe('the deployment files: centralita is reached only through a reverse proxy', () => {
  it('the image binds 0.0.0.0 only with the reverse-proxy note, which the README has', () => {
    const dockerfile = read('Dockerfile');
    const readme = read('README.md');
    const section = readme.split(/^### Behind a reverse proxy$/m)[1]?.split(/^##/m)[0];
    assert.ok(section, 'README has a "Behind a reverse proxy" section');
    assert.match(section, /TLS/);
    assert.match(section, /127\.0\.0\.1:3000:3000/, 'it says to publish the port to the loopback only');
    assert.match(section, /Upgrade/, 'and to pass the events WebSocket');
    // ?token= (the events socket) and ?ticket= (playback) are secrets: the
    // nginx sample must not log the query string.
    const nginx = /```nginx\n([\s\S]*?)```/.exec(section)![1]!;
    const format = /log_format\s+(\w+)\s+([\s\S]*?);/.exec(nginx);
    assert.ok(format, 'the nginx sample has a log_format of its own');
    assert.match(nginx, new RegExp(`access_log\\s+\\S+\\s+${format[1]};`), 'used by its access_log');
    assert.match(format[2]!, /\$uri\b/);
    assert.doesNotMatch(format[2]!, /\$request\b|\$request_uri|\$args|\$query_string|\$is_args/, 'no query string');
    if (/CENTRALITA_HOST=0\.0\.0\.0/.test(dockerfile)) {
      assert.match(dockerfile, /reverse proxy/, 'the Dockerfile says why 0.0.0.0 and points to the note');
      assert.match(dockerfile, /-p 127\.0\.0\.1:3000:3000/);
    }
  });

  it('docker-compose.yml keeps centralita on the loopback and publishes no port to every address', () => {
    const compose = read('docker-compose.yml');
    const service = compose.split(/^ {2}centralita:$/m)[1]!.split(/^\S/m)[0]!;
    const host = /CENTRALITA_HOST:\s*(\S+)/.exec(service)?.[1];
    const published = [...compose.matchAll(/^\s+-\s+"?([\d.:]+)"?$/gm)].map((m) => m[1]!).filter((p) => /^\S*\d+:\d+$/.test(p));
    for (const port of published) assert.match(port, /^127\.0\.0\.1:/, `port ${port} published to the loopback only`);
    if (/network_mode:\s*host/.test(service)) assert.equal(host, '127.0.0.1', 'on the host\'s network, centralita listens on the loopback only');
    else assert.ok(/ports:/.test(service) === false || /127\.0\.0\.1:\d+:3000/.test(service), 'its port is published to the loopback only');
  });
});
