import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../src/core/paths.js';
import { buildOnce } from '../support/build.js';
import { adminToken, testConfig, testDatabaseUrl, waitFor } from '../support/harness.js';

/**
 * What production runs: `npm run build` into dist/ (gitignored), then
 * `node dist/main.js` — plain node, no tsx loader — with the sample config
 * and the environment over it, on the test database and the lab under an ARI
 * application of its own. Ready, it converts a prompt in its worker thread
 * (a .js worker file once built) and serves the pages from web/; SIGTERM
 * ends it with exit code 0.
 */

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? jsFiles(path) : name.endsWith('.js') ? [path] : [];
  });
}

/** A WAV file: 16-bit PCM mono at `rate`, `samples` samples of a quiet tone. */
function wav(rate: number, samples: number): Buffer {
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(1000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

describe('the built service (npm run build, node dist/main.js)', () => {
  it('builds, runs without tsx, is ready on the lab and stops cleanly on SIGTERM', async () => {
    const buildMs = await buildOnce();
    const dist = join(projectRoot, 'dist');
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
    assert.deepEqual(JSON.parse(readFileSync(join(dist, 'build-info.json'), 'utf8')), { commit: head });
    // Nothing built imports tsx (the prompt worker names it only on its .ts path).
    for (const file of jsFiles(dist)) assert.doesNotMatch(readFileSync(file, 'utf8'), /from 'tsx|import\('tsx/, file);
    assert.ok(statSync(join(dist, 'prompts/wav-worker.js')).isFile());
    const version = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

    const dir = mkdtempSync(join(tmpdir(), 'centralita-dist-'));
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as { port: number };
        server.close(() => resolve(free));
      });
    });
    const lab = testConfig();
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: projectRoot,
      env: {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root',
        // The sample configuration, as an operator would start from it; the environment wins over it.
        CENTRALITA_CONFIG: join(projectRoot, 'config/centralita.sample.env'),
        CENTRALITA_LAB: 'true', CENTRALITA_ADMIN_TOKEN: adminToken, CENTRALITA_PORT: String(port), DATABASE_URL: testDatabaseUrl,
        CENTRALITA_ARI_PASSWORD: lab.ari.password, CENTRALITA_AMI_PASSWORD: lab.ami.password, CENTRALITA_ARI_APP: 'centralita-dist-test',
        CENTRALITA_DATA_DIR: join(dir, 'data'), CENTRALITA_RECORDINGS_DIR: join(dir, 'recordings'), CENTRALITA_PROMPTS_DIR: join(dir, 'prompts'),
        CENTRALITA_RECORDINGS_MIN_FREE_MB: '0', CENTRALITA_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    try {
      const started = Date.now();
      const health = await Promise.race([
        waitFor(async () => {
          const res = await fetch(`${base}/health`);
          return res.status === 200 ? (await res.json()) as Record<string, unknown> : undefined;
        }, 30_000, 'node dist/main.js was not ready'),
        exited.then((code): never => { throw new Error(`node dist/main.js exited (${code})`); }),
      ]).catch((err: Error) => { throw new Error(`${err.message}\n--- its log ---\n${output.slice(-4000)}`); });
      console.log(`build ${buildMs} ms, ready ${Date.now() - started} ms after start`);
      assert.equal(health.ready, true);
      assert.equal(health.version, version);
      assert.equal(health.commit, head);
      const listening = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'centralita listening');
      assert.deepEqual([listening?.version, listening?.commit], [version, head], 'the start-up line says what runs');

      // 0.1 s at 16 kHz (1600 samples) → 800 samples at 8 kHz, 100 ms: resampled in dist/prompts/wav-worker.js.
      const upload = await fetch(`${base}/api/v1/prompts?name=dist_check`, {
        method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'audio/wav' }, body: new Uint8Array(wav(16_000, 1600)),
      });
      const prompt = (await upload.json()) as { durationMs: number; originalFormat: string; sizeBytes: number };
      assert.equal(upload.status, 201, JSON.stringify(prompt));
      assert.equal(prompt.durationMs, 100);
      assert.equal(prompt.originalFormat, 'PCM 16-bit, 16000 Hz, mono');
      assert.equal(statSync(join(dir, 'prompts/dist_check.wav')).size, prompt.sizeBytes);
      const deleted = await fetch(`${base}/api/v1/prompts/dist_check`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
      assert.equal(deleted.status, 200);
      // The pages, from web/ and node_modules/chart.js, found from dist/.
      const page = await fetch(`${base}/ui/index.html`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      assert.equal((await fetch(`${base}/ui/vendor/chart.umd.min.js`)).status, 200);

      child.kill('SIGTERM');
      assert.equal(await exited, 0, output.slice(-3000));
      assert.match(output, /"msg":"stopping"/);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
