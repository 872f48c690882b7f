import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { toneLevels } from '../phones/audio.js';
import { within } from '../phones/lab.js';
import { TestPhone, type Call } from '../phones/sip-phone.js';
import { hangUpLeftovers, resetDatabase, routeDid, startTestApp, waitFor, type TestApp } from '../support/harness.js';
import { createLogger } from '../../src/core/logger.js';
import { projectRoot } from '../../src/core/paths.js';
import { doctor } from '../../src/doctor/run.js';
import type { IncomingCall } from '../phones/sip-phone.js';

const run = promisify(execFile);
const labRoot = `${process.env.CENTRALITA_LAB_CACHE ?? '/var/cache/centralita-lab'}/rootfs`;
/** The scale-out lab (scripts/lab-media.sh): two media servers behind Kamailio on 127.0.0.1:5080. */
const edge = { host: '127.0.0.1', port: 5080 };
const servers = ['media-2', 'media-3'] as const;
type Server = (typeof servers)[number];
const labMedia = (...args: string[]) => run('bash', [join(projectRoot, 'scripts/lab-media.sh'), ...args], { timeout: 120_000 });
/** `asterisk -rx` on one media server. */
const cli = async (server: Server, command: string): Promise<string> =>
  (await run('chroot', [labRoot, '/usr/sbin/asterisk', '-C', `/etc/asterisk-${server}/asterisk.conf`, '-rx', command], { timeout: 10_000 })).stdout;
/** The media server Kamailio sent a caller to: the one holding a channel from its number. */
const serverOfCaller = async (number: string): Promise<Server | undefined> => {
  for (const server of servers) if ((await cli(server, 'core show channels concise')).includes(`!${number}!`)) return server;
  return undefined;
};

const CALLER = 440;
const AGENT = 1000;
const SUPERVISOR = 1800;
/** A tone counts as heard at 10 % of the received power. */
const heardAt = 0.1;

describe('several media servers behind Kamailio, driven by one centralita', () => {
  let t: TestApp;
  const phones: TestPhone[] = [];
  const desks: Record<string, TestPhone> = {};
  const ids: Record<string, string> = {};
  let callers = 0;
  /** Calls ringing at the agents' desks, each desk read by one standing wait (a wait per call would take the next). */
  const ringing: { key: string; call: IncomingCall }[] = [];
  const watchDesk = (key: string): void => {
    desks[key]!.waitForIncoming(3_600_000).then((call) => { ringing.push({ key, call }); watchDesk(key); }, () => undefined);
  };

  /** A carrier call through Kamailio into the queue, answered by whichever agent it rings. */
  const answeredCall = async (): Promise<{ number: string; server: Server; caller: Call; agent: Call; agentKey: string; callId: string }> => {
    const number = `60090000${++callers}`;
    ringing.length = 0;
    const phone = await TestPhone.start({ user: number, server: edge });
    phones.push(phone);
    const caller = await phone.call('5554301');
    const { key, call } = await waitFor(() => ringing.shift(), 15_000, `no agent rang for ${number}`);
    const agent = await call.answer();
    const callId = await waitFor(async () => {
      const live = (await t.api('/api/v1/calls/live')).body as { id: string; callerNumber: string }[];
      const found = live.find((c) => c.callerNumber === number);
      return found && (await t.api(`/api/v1/agents/${ids[key]}/state`)).body.status === 'on_call' ? found.id : undefined;
    }, 5000, `the call from ${number} did not reach an agent`);
    caller.playTone(CALLER);
    agent.playTone(AGENT);
    await agent.waitForTone(CALLER, { timeoutMs: 5000, threshold: 0.3 });
    await caller.waitForTone(AGENT, { timeoutMs: 5000, threshold: 0.3 });
    const server = await serverOfCaller(number);
    assert.ok(server, `the call from ${number} is on neither media server`);
    return { number, server, caller, agent, agentKey: key, callId };
  };

  const status = async (key: string) => (await t.api(`/api/v1/agents/${ids[key]}/state`)).body.status as string;

  before(async () => {
    await labMedia('up', '2');
    t = await startTestApp({
      mediaServers: servers.map((name) => ({ name, ariUrl: `http://127.0.0.${name.slice(-1)}:8088/ari`, amiHost: `127.0.0.${name.slice(-1)}` })),
      mediaServerLostSeconds: 3,
    });
    await waitFor(() => t.app.ari.serverStates().every((s) => s.state === 'up'), 10_000, 'centralita did not connect to both media servers');
    await resetDatabase(t.app);
    await t.app.agents.load();
    for (const [key, extension] of [['ana', '1005'], ['bea', '1006'], ['sup', '2001']] as const) {
      desks[key] = await TestPhone.start({ user: extension, password: `lab-${extension}`, server: edge });
      phones.push(desks[key]);
      await desks[key].register();
      const res = await t.api('/api/v1/agents', { method: 'POST', json: { pin: '1234', number: extension, name: key, extension, team: 'ventas', ...(key === 'sup' ? { isSupervisor: true } : {}) } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[key] = res.body.id;
    }
    const queue = await t.api('/api/v1/queues', { method: 'POST', json: { name: 'ventas', strategy: 'longest_idle', ringTimeoutSeconds: 15, wrapUpSeconds: 2, maxWaitSeconds: 120, recordingPolicy: 'always', recordingRetentionDays: 30 } });
    assert.equal(queue.status, 201, JSON.stringify(queue.body));
    await t.api(`/api/v1/queues/${queue.body.id}/members`, { method: 'PUT', json: { members: [{ agentId: ids.ana }, { agentId: ids.bea }] } });
    await routeDid(t, '5554301', { start: 'q', nodes: { q: { type: 'queue', queue: 'ventas' } } });
    watchDesk('ana');
    watchDesk('bea');
    // Each media server reaches the phones through Kamailio (its qualify, every 5 s in the lab).
    for (const server of servers) {
      for (const extension of ['1005', '1006', '2001']) {
        await waitFor(async () => new RegExp(`Contact:\\s+${extension}/\\S+\\s+\\S+\\s+Avail`).test(await cli(server, `pjsip show aor ${extension}`)), 10_000, `${server} does not reach phone ${extension}`);
      }
    }
    // Both media servers qualify the phones through Kamailio: the agents can log in once either reaches them.
    for (const key of ['ana', 'bea']) {
      await waitFor(async () => (await t.api(`/api/v1/agents/${ids[key]}/login`, { method: 'POST' })).status === 200, 15_000, `${key} could not log in (phone unreachable?)`);
    }
  });

  after(async () => {
    await Promise.all(phones.map((p) => p.close()));
    if (t) {
      await hangUpLeftovers(t.app).catch(() => undefined);
      await t.stop();
    }
    // The rest of the suite runs on the default lab: the extra servers and Kamailio go.
    await labMedia('down');
  });

  it('doctor checks each media server and that their system names differ', async () => {
    const verdicts = await doctor(t.app.config, createLogger('silent'), { probes: false });
    const of = (check: string) => verdicts.find((v) => v.check === check);
    for (const server of servers) {
      assert.equal(of(`ari (${server})`)?.status, 'ok', JSON.stringify(of(`ari (${server})`)));
      assert.match(of(`ari (${server})`)!.detail, new RegExp(`127\\.0\\.0\\.${server.slice(-1)}`));
      assert.equal(of(`ami (${server})`)?.status, 'ok', JSON.stringify(of(`ami (${server})`)));
    }
    assert.equal(verdicts.filter((v) => v.check === 'database').length, 1, 'the database is checked once');
    assert.deepEqual(of('media server names'), { check: 'media server names', status: 'ok', detail: 'media-2: media-2, media-3: media-3' });
  });

  it('spreads calls over both servers; agents answer either, supervisors listen to either, recordings complete', async () => {
    const first = await answeredCall();
    const second = await answeredCall();
    assert.notEqual(first.agentKey, second.agentKey);
    assert.deepEqual([first.server, second.server].sort(), [...servers], 'Kamailio gave one call to each media server');
    // Every leg of a call is on the caller's server: the agent's leg and the bridge, nothing across.
    for (const call of [first, second]) {
      const channels = await cli(call.server, 'core show channels concise');
      assert.match(channels, new RegExp(`^PJSIP/${call.agentKey === 'ana' ? '1005' : '1006'}-`, 'm'), `the agent leg of ${call.number} is on ${call.server}`);
    }

    for (const call of [first, second]) {
      const rings = desks.sup!.waitForIncoming(10_000);
      const started = await t.api('/api/v1/monitor', { method: 'POST', json: { supervisorId: ids.sup, callId: call.callId, mode: 'listen' } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const supervisor = await (await rings).answer();
      supervisor.playTone(SUPERVISOR);
      await waitFor(async () => (await t.api(`/api/v1/monitor/${started.body.id}`)).body.segments.length === 1, 5000, 'the session did not start');
      await sleep(800);
      const marks = { supervisor: supervisor.mark(), caller: call.caller.mark(), agent: call.agent.mark() };
      await sleep(1500);
      const [hearsCaller, hearsAgent] = toneLevels(supervisor.receivedSince(marks.supervisor), [CALLER, AGENT]);
      assert.ok((hearsCaller ?? 0) >= heardAt && (hearsAgent ?? 0) >= heardAt, `the supervisor hears both sides of the call on ${call.server} (${hearsCaller}, ${hearsAgent})`);
      const [callerHearsSupervisor] = toneLevels(call.caller.receivedSince(marks.caller), [SUPERVISOR]);
      assert.ok((callerHearsSupervisor ?? 0) < 0.02, 'listening: the caller does not hear the supervisor');
      assert.match(await cli(call.server, 'core show channels concise'), /^PJSIP\/2001-/m, `the supervisor's leg is on ${call.server}`);
      assert.equal((await t.api(`/api/v1/monitor/${started.body.id}`, { method: 'DELETE' })).status, 200);
      await within(supervisor.ended, 10_000, 'the supervisor\'s leg to end');
    }

    await sleep(1000);
    for (const call of [first, second]) {
      await call.caller.hangup();
      await within(call.agent.ended, 10_000, 'the agent\'s leg to end');
    }
    for (const call of [first, second]) {
      const row = await waitFor(async () => (await t.app.recordings.rowsOf(call.callId)).find((r) => r.status === 'complete'), 15_000, `the recording of the call on ${call.server} was not completed`);
      const file = readFileSync(join(t.app.config.recordingsDir, row.path!));
      assert.equal(file.subarray(0, 4).toString(), 'RIFF');
      assert.ok(row.duration_seconds! >= 4, `recorded ${row.duration_seconds} s on ${call.server}`);
      assert.ok(row.sha256, 'its integrity sum is on the row');
    }
  });

  it('loses a media server: its call ends, its agent wraps up, new calls go to the other, and it is taken back', async () => {
    for (const key of ['ana', 'bea']) await waitFor(async () => (await status(key)) === 'available', 10_000, `${key} is not available`);
    const first = await answeredCall();
    const second = await answeredCall();
    const doomed = first.server === 'media-3' ? first : second;
    const survivor = doomed === first ? second : first;
    assert.equal(doomed.server, 'media-3');

    await labMedia('kill', 'media-3');
    const killedAt = Date.now();
    // Marked lost after its grace (3 s here): the agent of its call is not left on_call.
    await waitFor(async () => (await status(doomed.agentKey)) !== 'on_call', 15_000, `${doomed.agentKey} stayed on_call after the media server died`);
    await waitFor(async () => (await status(doomed.agentKey)) === 'available', 10_000, `${doomed.agentKey} did not come back from wrap-up`);
    assert.equal(t.app.ari.serverStates().find((s) => s.name === 'media-3')?.lost, true);
    const health = (await t.api('/health')).body;
    assert.deepEqual(health.mediaServers?.map((s: { name: string; state: string }) => `${s.name}:${s.state}`), ['media-2:up', 'media-3:lost']);
    assert.equal(health.status, 'degraded');
    const metrics = await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.app.config.adminToken}` } }).then((r) => r.text());
    assert.match(metrics, /^centralita_media_server_lost\{server="media-3"\} 1$/m);
    assert.match(metrics, /^centralita_media_server_up\{server="media-2"\} 1$/m);
    assert.equal(await status(survivor.agentKey), 'on_call', 'the call on the other server goes on');
    assert.ok(survivor.caller.isActive && survivor.agent.isActive);
    const mark = survivor.agent.mark();
    await sleep(1000);
    const [agentHears] = toneLevels(survivor.agent.receivedSince(mark), [CALLER]);
    assert.ok((agentHears ?? 0) >= heardAt, 'and is still heard');
    // The lost call's record is closed.
    await waitFor(async () => !((await t.api('/api/v1/calls/live')).body as { id: string }[]).some((c) => c.id === doomed.callId), 5000, 'the lost call is still live');
    // Its recording keeps what reached the shared folder before the server died.
    const lostRecording = await waitFor(async () => (await t.app.recordings.rowsOf(doomed.callId)).find((r) => r.status !== 'recording'), 10_000, 'the lost call\'s recording is still open');
    assert.equal(lostRecording.status, 'complete', JSON.stringify(lostRecording));

    // New calls: answered by media-2 (Kamailio's probes take media-3 out; an INVITE it does not answer goes on).
    const third = await answeredCall();
    assert.equal(third.server, 'media-2');
    const answeredAfterMs = Date.now() - killedAt;
    console.log(`# a new call was answered ${answeredAfterMs} ms after media-3 died`);
    await third.caller.hangup();
    await survivor.caller.hangup();
    await within(survivor.agent.ended, 10_000, 'the survivor agent\'s leg to end');
    await within(third.agent.ended, 10_000, 'the third call\'s agent leg to end');
    await doomed.caller.hangup().catch(() => undefined);

    // Back: centralita reconnects, reconciles it, and Kamailio sends it calls again.
    await labMedia('start', 'media-3');
    await waitFor(() => t.app.ari.serverStates().every((s) => s.state === 'up' && !s.lost), 15_000, 'centralita did not take media-3 back');
    for (const key of ['ana', 'bea']) await waitFor(async () => (await status(key)) === 'available', 15_000, `${key} is not available`);
    await waitFor(async () => {
      const list = await fetch('http://127.0.0.1:5081/RPC', { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', method: 'dispatcher.list', id: 1 }) }).then((r) => r.text());
      return !/"FLAGS":"I/.test(list);
    }, 15_000, 'Kamailio did not take media-3 back');
    const landed = new Set<Server>();
    for (let k = 0; k < 2; k += 1) {
      const call = await answeredCall();
      landed.add(call.server);
      await call.caller.hangup();
      await within(call.agent.ended, 10_000, 'the agent leg to end');
      for (const key of ['ana', 'bea']) await waitFor(async () => (await status(key)) === 'available', 10_000, `${key} is not available`);
    }
    assert.deepEqual([...landed].sort(), [...servers], 'both servers take calls again');
  });
});
