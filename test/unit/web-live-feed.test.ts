import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

/**
 * The pages' live feed (web/app.js) in Node with a fake browser: which
 * closes end it and send the user to sign-in, and which reconnect. The
 * browser test (test/integration/ui.test.ts) covers the real page.
 */
interface FakeSocket { onopen?: () => void; onclose?: (event: { code: number }) => Promise<void> | void; onmessage?: unknown }

const browser = {
  sockets: [] as FakeSocket[],
  timers: [] as Array<() => void>,
  me: async (): Promise<{ status: number }> => ({ status: 200 }),
  session: new Map<string, string>([['token', 'ctl_x']]),
  location: { protocol: 'http:', host: 'localhost', href: '/ui/wallboard.html' },
  banner: { hidden: true, textContent: '' },
};
const fakes: Record<string, unknown> = {
  localStorage: { getItem: () => 'en', setItem: () => undefined },
  sessionStorage: { getItem: (k: string) => browser.session.get(k) ?? null, removeItem: (k: string) => browser.session.delete(k), setItem: (k: string, v: string) => browser.session.set(k, v) },
  location: browser.location,
  document: { getElementById: () => browser.banner },
  WebSocket: class { constructor() { browser.sockets.push(this as FakeSocket); } },
  fetch: (url: string) => (url === '/api/v1/me' ? browser.me() : Promise.reject(new Error(url))),
  // Node 20 has no navigator global; later Node versions have a read-only one.
  ...('navigator' in globalThis ? {} : { navigator: { language: 'en' } }),
};
/**
 * The fake browser is this suite's only: installed before it, and what the
 * globals were put back after it, since other test files may share the process.
 */
const saved = new Map<string, PropertyDescriptor | undefined>();
function installBrowser(): void {
  for (const [name, value] of Object.entries(fakes)) {
    saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
}
function removeBrowser(): void {
  for (const [name, descriptor] of saved) {
    if (descriptor) Object.defineProperty(globalThis, name, descriptor);
    else Reflect.deleteProperty(globalThis, name);
  }
  saved.clear();
}
const originalSetTimeout = globalThis.setTimeout;

async function feed(): Promise<FakeSocket> {
  browser.sockets = [];
  browser.timers = [];
  browser.session.set('token', 'ctl_x');
  browser.location.href = '/ui/wallboard.html';
  const { liveFeed } = await import('../../web/app.js' as string) as { liveFeed: (m: () => void) => void };
  liveFeed(() => undefined);
  return browser.sockets[0]!;
}

/** Closes the fake socket, collecting the reconnect the feed schedules instead of running it. */
async function close(socket: FakeSocket, code: number): Promise<void> {
  globalThis.setTimeout = ((fn: () => void) => { browser.timers.push(fn); return 0; }) as unknown as typeof setTimeout;
  try {
    await socket.onclose!({ code });
  } finally {
    globalThis.setTimeout = originalSetTimeout;
  }
}

describe('the pages\' live feed (web/app.js)', () => {
  before(installBrowser);
  after(removeBrowser);

  it('goes back to sign-in on a 4001 close, without reconnecting', async () => {
    const socket = await feed();
    socket.onopen!();
    await close(socket, 4001);
    assert.equal(browser.location.href, '/ui/index.html');
    assert.equal(browser.session.get('token'), undefined, 'the token is forgotten');
    assert.equal(browser.timers.length, 0, 'no reconnect');
  });

  it('goes back to sign-in when the handshake is refused (the API answers 401)', async () => {
    browser.me = async () => ({ status: 401 });
    const socket = await feed();
    await close(socket, 1006);
    assert.equal(browser.location.href, '/ui/index.html');
    assert.equal(browser.timers.length, 0, 'no reconnect');
  });

  it('reconnects when the server is away or busy, and after a drop of an open feed', async () => {
    for (const me of [async () => { throw new TypeError('Failed to fetch'); }, async () => ({ status: 429 }), async () => ({ status: 200 })]) {
      browser.me = me;
      const socket = await feed();
      await close(socket, 1006);
      assert.equal(browser.location.href, '/ui/wallboard.html');
      assert.equal(browser.timers.length, 1, 'a reconnect is scheduled');
      assert.equal(browser.banner.hidden, false, 'the banner shows');
    }
    let asked = 0;
    browser.me = async () => { asked += 1; return { status: 401 }; };
    const socket = await feed();
    socket.onopen!();
    await close(socket, 1006);
    assert.equal(asked, 0, 'a feed that was open and dropped reconnects without asking');
    assert.equal(browser.timers.length, 1);
  });
});
