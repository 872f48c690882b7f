import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../../src/core/paths.js';
import { resetDatabase, startTestApp, testDatabaseUrl, type TestApp } from '../support/harness.js';

/** Runs `centralita create-admin` (src/cli.ts through tsx) as an operator would, on the test database. */
function createAdmin(name: string, password: string, how: 'env' | 'stdin' = 'env'): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CENTRALITA_') && key !== 'DATABASE_URL'));
  const env = { ...clean, DATABASE_URL: testDatabaseUrl, CENTRALITA_LOG_LEVEL: 'warn', ...(how === 'env' ? { CENTRALITA_NEW_PASSWORD: password } : {}) };
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'create-admin', name], { cwd: projectRoot, env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin!.end(how === 'stdin' ? `${password}\n` : '');
  });
}

/**
 * The first admin of the pages, made with the one-time command on the real
 * Postgres: it signs in; a second run, a short password or a bad name are
 * refused with one clear line and exit code 1.
 */
describe('centralita create-admin', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
    await resetDatabase(t.app);
  });
  after(async () => t?.stop());

  const signIn = (username: string, password: string) => t.api('/api/v1/sign-in', { method: 'POST', token: null, json: { username, password } });

  it('makes the first admin once, with the password from the environment or standard input', async () => {
    const short = await createAdmin('jefa', 'corta');
    assert.equal(short.code, 1);
    assert.match(short.stderr, /password must be 10 to 200 characters/);
    const badName = await createAdmin('la jefa', 'una clave larga 1');
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /name must be/);
    assert.equal((await signIn('jefa', 'una clave larga 1')).status, 401);

    const made = await createAdmin('jefa', 'una clave larga 1', 'stdin');
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /admin jefa created/);
    assert.doesNotMatch(made.stdout + made.stderr, /una clave larga/, 'the password is never printed');
    const signedIn = await signIn('jefa', 'una clave larga 1');
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.equal(signedIn.body.user.role, 'admin');

    const again = await createAdmin('otra', 'otra clave larga 1');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /an admin user exists already/);
    assert.equal((await signIn('otra', 'otra clave larga 1')).status, 401);
  });
});
