import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { DncService } from '../../src/campaigns/dnc.js';
import { CampaignsService } from '../../src/campaigns/service.js';
import { CampaignsStore } from '../../src/campaigns/store.js';
import { writeWav } from '../../src/prompts/wav.js';
import { startFastApp, type FastApp } from '../support/fast-harness.js';

const everyDay = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ['09:00-21:00']]));
const csv = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;

/**
 * The campaigns' data and API on the fast tier: campaigns and their states,
 * CSV contact lists (E.164, custom fields, every bad row listed and nothing
 * stored), do-not-call lists, and what the dialer calls (claimNextContacts
 * with hours in each contact's zone and the lists kept out, the attempt's
 * writes through the write queue). Pure rules: test/unit/campaign-rules.test.ts.
 */
describe('campaigns API', () => {
  let t: FastApp;
  let queueId: string;
  let otherQueueId: string;
  let supervisor: string;
  let agent: string;
  // The dialer's view: the capability's store and service over the app's database.
  let store: CampaignsStore;
  let service: CampaignsService;
  let dnc: DncService;

  before(async () => {
    t = await startFastApp();
    const dispositions = [{ code: '1', label: 'Sale' }, { code: '2', label: 'Call back' }, { code: '3', label: 'Not now' }, { code: '9', label: 'Never call' }];
    queueId = (await t.api('/api/v1/queues', { method: 'POST', json: { name: 'outbound', strategy: 'longest_idle', dispositions } })).body.id;
    otherQueueId = (await t.api('/api/v1/queues', { method: 'POST', json: { name: 'plain', strategy: 'longest_idle' } })).body.id;
    supervisor = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'sup', role: 'supervisor' } })).body.token;
    const ana = (await t.api('/api/v1/agents', { method: 'POST', json: { name: 'Ana', number: '7001', pin: '1234' } })).body;
    agent = (await t.api('/api/v1/tokens', { method: 'POST', json: { name: 'ana', role: 'agent', agentId: ana.id } })).body.token;
    store = new CampaignsStore(t.app.database.db);
    service = new CampaignsService(store, { queue: async (id) => (id === queueId ? { id, name: 'outbound', dispositions } : undefined), promptExists: async () => true });
    dnc = new DncService(store, service);
  });
  after(async () => { await t?.stop(); });

  const count = async (table: string, where = sql`true`) =>
    Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)} where ${where}`.execute(t.app.database.db)).rows[0]!.n);
  const create = async (json: Record<string, unknown>) => t.api('/api/v1/campaigns', { method: 'POST', json });
  const base = (name: string) => ({ name, queueId, callerId: '+34910000000', mode: 'progressive', hours: everyDay, defaultRegion: 'ES', defaultTimezone: 'Europe/Madrid' });
  // Imported contacts are due from their import; the tests' clocks are fixed dates, so their lists are made due since long ago.
  const dueLongAgo = (id: string) => sql`update campaign_contacts set next_attempt_at = '2000-01-01T00:00:00Z' where campaign_id = ${id} and state = 'pending'`.execute(t.app.database.db);
  const upload = (id: string, body: string, query = '') => t.api(`/api/v1/campaigns/${id}/lists${query}`, { method: 'POST', body, headers: { 'content-type': 'text/csv' } });

  it('creates, reads and changes campaigns, refusing each bad field by name and storing nothing', async () => {
    const created = await create({ ...base('ventas'), dispositionActions: { 1: { action: 'done' }, 2: { action: 'callback', sameAgent: true }, 9: { action: 'dnc' } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.state, 'draft');
    assert.equal(created.body.abandonCapPercent, 3);
    assert.deepEqual(created.body.amd, { action: 'hangup' });
    assert.deepEqual(created.body.retry.busy, { maxAttempts: 3, delayMinutes: 10 });
    assert.deepEqual(created.body.contacts, { total: 0, byState: { pending: 0, in_progress: 0, retry: 0, callback: 0, done: 0, dnc: 0, failed: 0 }, attempted: 0, completed: 0, remaining: 0, penetration: 0 });
    assert.equal((await create(base('ventas'))).status, 409);

    const refused: [Record<string, unknown>, RegExp][] = [
      [{ ...base('x'), queueId: randomUUID() }, /^body\/queueId: no queue/],
      [{ ...base('x'), defaultRegion: 'XX' }, /^body\/defaultRegion: XX is not a country code/],
      [{ ...base('x'), defaultTimezone: 'Mars/Olympus' }, /^body\/defaultTimezone: unknown time zone/],
      [{ ...base('x'), hours: { mon: ['21:00-09:00'] } }, /^body\/hours\/mon: "21:00-09:00" is not a window/],
      [{ ...base('x'), hours: { mon: ['9-21'] } }, /^body\/hours\/mon\/0 must match/],
      [{ ...base('x'), dispositionActions: { 7: { action: 'done' } } }, /^body\/dispositionActions: queue outbound has no wrap-up code 7 \(its codes: 1, 2, 3, 9\)/],
      [{ ...base('x'), dispositionActions: { 3: { action: 'retry' } } }, /^body\/dispositionActions\/3\/delayMinutes: a retry needs its delay/],
      [{ ...base('x'), amd: { action: 'message' } }, /^body\/amd\/messagePrompt: the message action needs the prompt/],
      [{ ...base('x'), amd: { action: 'message', messagePrompt: 'no-such-prompt' } }, /^body\/amd\/messagePrompt: no prompt no-such-prompt was uploaded/],
      [{ ...base('x'), abandonPrompt: 'nope' }, /^body\/abandonPrompt: no prompt nope/],
      [{ ...base('x'), mode: 'blaster' }, /^body\/mode must be one of/],
      [{ ...base('x'), abandonCapPercent: 101 }, /^body\/abandonCapPercent must be <= 100/],
      [{ ...base('x'), retry: { busy: { maxAttempts: 0, delayMinutes: 5 } } }, /^body\/retry\/busy\/maxAttempts must be >= 1/],
      [{ ...base('x'), extra: 1 }, /body/],
    ];
    for (const [json, message] of refused) {
      const res = await create(json);
      assert.equal(res.status, 400, `${JSON.stringify(json)} → ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, message);
    }
    assert.equal(await count('campaigns'), 1, 'nothing stored by a refusal');

    const id = created.body.id as string;
    assert.equal((await t.api('/api/v1/campaigns')).body.length, 1);
    assert.equal((await t.api(`/api/v1/campaigns/${id}`)).body.name, 'ventas');
    assert.equal((await t.api(`/api/v1/campaigns/${randomUUID()}`)).status, 404);
    assert.equal((await t.api('/api/v1/campaigns/nope')).status, 400);
    const changed = await t.api(`/api/v1/campaigns/${id}`, { method: 'PATCH', json: { hours: { mon: ['10:00-14:00', '16:00-20:00'] }, abandonCapPercent: 2.5, mode: 'predictive' } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.deepEqual([changed.body.hours, changed.body.abandonCapPercent, changed.body.mode], [{ mon: ['10:00-14:00', '16:00-20:00'] }, 2.5, 'predictive']);
    assert.equal((await t.api(`/api/v1/campaigns/${id}`, { method: 'PATCH', json: {} })).status, 400);
    // Another queue has none of the codes the campaign names: the campaign as a whole is checked.
    const moved = await t.api(`/api/v1/campaigns/${id}`, { method: 'PATCH', json: { queueId: otherQueueId } });
    assert.equal(moved.status, 400);
    assert.match(moved.body.error.message, /^body\/queueId: no queue|^body\/dispositionActions: queue plain has no wrap-up code 1, 2, 9/);
    await t.api(`/api/v1/campaigns/${id}`, { method: 'PATCH', json: { hours: everyDay } });

    // Roles: supervisors read, admins write, agents neither.
    assert.equal((await t.api('/api/v1/campaigns', { token: supervisor })).status, 200);
    assert.equal((await t.api(`/api/v1/campaigns/${id}/contacts`, { token: supervisor })).status, 200);
    assert.equal((await t.api('/api/v1/dnc', { token: supervisor })).status, 200);
    assert.equal((await t.api('/api/v1/campaigns', { method: 'POST', token: supervisor, json: base('y') })).status, 403);
    assert.equal((await t.api(`/api/v1/campaigns/${id}/start`, { method: 'POST', token: supervisor })).status, 403);
    assert.equal((await t.api('/api/v1/dnc', { method: 'POST', token: supervisor, json: { number: '+34611111111' } })).status, 403);
    assert.equal((await t.api('/api/v1/campaigns', { token: agent })).status, 403);
    assert.equal((await t.api('/api/v1/campaigns', { token: null })).status, 401);
  });

  it('moves through its states only as the state machine allows, and deletes only what was never dialled', async () => {
    const id = (await create(base('states'))).body.id as string;
    const step = async (command: string) => t.api(`/api/v1/campaigns/${id}/${command}`, { method: 'POST' });
    assert.equal((await step('pause')).status, 409);
    assert.equal((await step('start')).body.state, 'running');
    assert.equal((await step('start')).status, 409);
    assert.equal((await t.api(`/api/v1/campaigns/${id}`, { method: 'DELETE' })).status, 409, 'not while running');
    assert.equal((await step('pause')).body.state, 'paused');
    assert.equal((await step('start')).body.state, 'running');
    const finished = await step('finish');
    assert.equal(finished.body.state, 'finished');
    assert.match((await step('start')).body.error.message, /a finished campaign cannot be told to start/);
    assert.equal((await t.api(`/api/v1/campaigns/${id}`, { method: 'PATCH', json: { mode: 'preview' } })).status, 409);
    assert.equal((await upload(id, csv('number', '612345678'))).status, 409);
    assert.equal((await t.api(`/api/v1/campaigns/${randomUUID()}/start`, { method: 'POST' })).status, 404);
    assert.equal((await t.api(`/api/v1/campaigns/${id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await t.api(`/api/v1/campaigns/${id}`)).status, 404);
  });

  it('imports a list: numbers to E.164, custom fields, each contact\'s time zone, line numbers across quoted line breaks', async () => {
    const id = (await create(base('import'))).body.id as string;
    const res = await upload(id, csv(
      'Phone,Name,Debt,due date,timezone',
      '612 34 56 78,Ana García,"1.234,50 €",2026-01-31,',
      '+52 55 1234 5678,Luis,"two',
      'lines",2026-02-01,',
      '922 123 456,Canaria,"say ""hi""",,',
      '0034 699 000 001,Remote,5,,America/Bogota',
    ), '?name=january');
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.name, 'january');
    assert.equal(res.body.contactCount, 4);
    assert.equal(res.body.contacts.byState.pending, 4);
    assert.equal(res.body.importedBy, 'admin-token');
    assert.deepEqual(res.body.timezones, ['America/Bogota', 'America/Mexico_City', 'Atlantic/Canary', 'Europe/Madrid']);
    const contacts = (await t.api(`/api/v1/campaigns/${id}/contacts`)).body as { number: string; line: number; name: string; timezone: string; fields: Record<string, string>; id: string }[];
    assert.deepEqual(contacts.map((c) => [c.line, c.number, c.timezone]), [
      [2, '+34612345678', 'Europe/Madrid'], [3, '+525512345678', 'America/Mexico_City'], [5, '+34922123456', 'Atlantic/Canary'], [6, '+34699000001', 'America/Bogota'],
    ]);
    assert.deepEqual(contacts[0]!.fields, { Debt: '1.234,50 €', 'due date': '2026-01-31' });
    assert.equal(contacts[1]!.fields.Debt, 'two\nlines');
    assert.equal(contacts[2]!.fields.Debt, 'say "hi"');
    const one = await t.api(`/api/v1/campaigns/${id}/contacts/${contacts[0]!.id}`);
    assert.deepEqual([one.body.name, one.body.rawNumber, one.body.history], ['Ana García', '612 34 56 78', []]);
    assert.equal((await t.api(`/api/v1/campaigns/${id}/contacts/${randomUUID()}`)).status, 404);
    assert.equal((await t.api(`/api/v1/campaigns/${randomUUID()}/contacts/${contacts[0]!.id}`)).status, 404);
    assert.equal((await t.api(`/api/v1/campaigns/${id}/contacts?state=pending&limit=2&offset=1`)).body.length, 2);

    // Semicolons (a spreadsheet's CSV in Spanish), a BOM, LF line ends.
    const semi = await upload(id, '\ufeffnumero;telefono\n1;611 22 33 44\n', '?delimiter=semicolon&name=semi');
    assert.equal(semi.status, 400, 'no number column: "telefono" is a custom field');
    assert.match(semi.body.error.message, /no number \(or phone\) column/);
    const ok = await upload(id, '\ufeffnombre;phone\nPepe;611 22 33 44\n', '?delimiter=semicolon&name=semi');
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal((await upload(id, csv('number', '611 22 33 45'), '?name=semi')).status, 409, 'list names are unique in a campaign');
    const lists = (await t.api(`/api/v1/campaigns/${id}/lists`)).body;
    assert.deepEqual(lists.map((l: { name: string; contacts: { total: number } }) => [l.name, l.contacts.total]), [['january', 4], ['semi', 1]]);
    const detail = (await t.api(`/api/v1/campaigns/${id}`)).body;
    assert.deepEqual([detail.contacts.total, detail.contacts.remaining, detail.contacts.penetration], [5, 5, 0]);
  });

  it('refuses a file with bad rows, listing every one with its line, and stores nothing', async () => {
    const id = (await create(base('bad-rows'))).body.id as string;
    assert.equal((await upload(id, csv('number,name', '612345678,First'), '?name=first')).status, 201);
    const before: [number, number] = [await count('campaign_contacts'), await count('campaign_lists')];
    const res = await upload(id, csv(
      'number,name,timezone,note',
      '611000001,Good,,',
      '123,Short,,',
      ',No number,,',
      'call me,Words,,',
      '611000001,Again,,',
      '612345678,Old,,',
      `611000002,${'x'.repeat(201)},,`,
      '611000003,Zone,Moon/Base,',
      '611000004,Fields',
      '611000005,Good too,,',
      '611000006,"open quote,,',
    ), '?name=second');
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'invalid_csv');
    assert.match(res.body.error.message, /^9 bad rows of 11: nothing was imported/);
    assert.deepEqual(res.body.error.problems, [
      'line 3: number "123" is not a valid number of ES',
      'line 4: no number',
      'line 5: number "call me" is not a phone number',
      'line 6: number +34611000001 repeats line 2',
      'line 7: number +34612345678 is in the campaign already (list first, line 2)',
      'line 8: name is longer than 200 characters',
      'line 9: timezone "Moon/Base" is not an IANA time zone (such as Europe/Madrid)',
      'line 10: has 2 fields; the header has 4',
      // The quote runs to the end of the file.
      'line 12: field 2 opens a quote that is never closed',
    ], JSON.stringify(res.body.error.problems));
    assert.deepEqual([await count('campaign_contacts'), await count('campaign_lists')], before, 'nothing stored');

    for (const [body, status, message] of [
      ['', 400, /the file is empty/],
      ['name,city\r\n', 400, /no number \(or phone\) column/],
      ['number,Number\r\n', 400, /column 2 \(Number\) repeats column 1/],
      ['number\r\n', 400, /a header but no rows/],
    ] as const) {
      const refused = await upload(id, body);
      assert.equal(refused.status, status, JSON.stringify(refused.body));
      assert.match(refused.body.error.message, message);
    }
    // Over a socket: the answer to a bad header arrives although the rest of a large body was not read.
    const big = await t.socketApi(`/api/v1/campaigns/${id}/lists`, { method: 'POST', body: `name,city\r\n${'Ana,Soria\r\n'.repeat(50_000)}`, headers: { 'content-type': 'text/csv' } });
    assert.equal(big.status, 400, JSON.stringify(big.body));
    const streamed = await t.socketApi(`/api/v1/campaigns/${id}/lists?name=streamed`, { method: 'POST', body: csv('number', '699 11 22 33'), headers: { 'content-type': 'text/csv; charset=utf-8' } });
    assert.equal(streamed.status, 201, JSON.stringify(streamed.body));
    await t.api(`/api/v1/campaigns/${id}`, { method: 'PATCH', json: { mode: 'preview' } });
    before[0] = before[0]! + 1;
    before[1] = before[1]! + 1;
    const json = await t.api(`/api/v1/campaigns/${id}/lists`, { method: 'POST', json: { number: '612345678' } });
    assert.equal(json.status, 415);
    assert.equal(json.body.error.code, 'unsupported_media_type');
    assert.equal((await t.api(`/api/v1/campaigns/${randomUUID()}/lists`, { method: 'POST', body: 'number\r\n1\r\n', headers: { 'content-type': 'text/csv' } })).status, 404);
    assert.deepEqual([await count('campaign_contacts'), await count('campaign_lists')], before, 'nothing stored');
  });

  it('keeps do-not-call numbers from ever being claimed: global, per campaign, marked by a disposition', async () => {
    const id = (await create(base('dnc'))).body.id as string;
    const global = await t.api('/api/v1/dnc', { method: 'POST', json: { number: '+34 611 11 11 11', reason: 'asked' } });
    assert.equal(global.status, 201, JSON.stringify(global.body));
    assert.deepEqual([global.body.number, global.body.campaignId, global.body.source], ['+34611111111', null, 'api']);
    assert.equal((await t.api('/api/v1/dnc', { method: 'POST', json: { number: '611111111', region: 'ES' } })).status, 409);
    assert.match((await t.api('/api/v1/dnc', { method: 'POST', json: { number: '611111112' } })).body.error.message, /^body\/number: "611111112" has no country code/);
    const own = await t.api(`/api/v1/campaigns/${id}/dnc`, { method: 'POST', json: { number: '622 22 22 22' } });
    assert.equal(own.body.number, '+34622222222', 'read with the campaign\'s region');
    assert.equal((await t.api(`/api/v1/campaigns/${randomUUID()}/dnc`, { method: 'POST', json: { number: '622222222' } })).status, 404);

    const list = await upload(id, csv('number', '611 11 11 11', '622 22 22 22', '633 33 33 33', '644 44 44 44', '655 55 55 55'));
    assert.equal(list.status, 201, JSON.stringify(list.body));
    assert.deepEqual([list.body.dncCount, list.body.contacts.byState.dnc, list.body.contacts.byState.pending], [2, 2, 3]);
    // Listed after the import: the contact still to call becomes dnc.
    assert.equal((await t.api(`/api/v1/campaigns/${id}/dnc`, { method: 'POST', json: { number: '+34633333333' } })).status, 201);
    // A mark through the write queue (a wrap-up code's), which leaves the contact's state: the claim still skips it.
    await t.app.writes.enqueue('test dnc', store.markDnc('+34644444444', null, 'disposition', new Date()));
    await t.app.writes.drain();
    assert.equal(await dnc.isCallable(null, '+34644444444'), false);
    assert.equal(await dnc.isCallable(null, '+34622222222'), true, 'a campaign\'s list does not bind calls outside it');
    assert.equal(await dnc.isCallable(id, '+34622222222'), false);
    assert.equal(await dnc.isCallable(id, '+34611111111'), false);
    assert.equal(await dnc.isCallable(id, '+34655555555'), true);

    await t.api(`/api/v1/campaigns/${id}/start`, { method: 'POST' });
    await dueLongAgo(id);
    const claimed = await service.claimNextContacts(id, 10, new Date('2026-03-10T10:00:00Z'));
    assert.deepEqual(claimed.map((c) => c.numberE164), ['+34655555555'], 'a listed number is never claimed');
    assert.deepEqual((await service.claimNextContacts(id, 10, new Date('2026-03-10T10:00:00Z'))), [], 'nor twice');

    // Removed from the lists: callable again.
    assert.equal((await t.api(`/api/v1/campaigns/${id}/dnc/%2B34622222222`, { method: 'DELETE' })).status, 204);
    assert.equal((await t.api(`/api/v1/campaigns/${id}/dnc/622222222`, { method: 'DELETE' })).status, 404);
    assert.equal((await t.api('/api/v1/dnc/644444444?region=ES', { method: 'DELETE' })).status, 204);
    await dueLongAgo(id);
    assert.deepEqual((await service.claimNextContacts(id, 10, new Date('2026-03-10T10:00:00Z'))).map((c) => c.numberE164).sort(), ['+34622222222', '+34644444444']);
    const global2 = (await t.api('/api/v1/dnc?number=%2B34611111111')).body;
    assert.deepEqual(global2.map((d: { number: string; reason: string }) => [d.number, d.reason]), [['+34611111111', 'asked']]);

    // CSV: every row or none.
    const bad = await t.api('/api/v1/dnc/import?region=ES', { method: 'POST', body: csv('phone,reason', '677000001,a', '12,b', '677000001,c'), headers: { 'content-type': 'text/csv' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.error.problems, ['line 3: number "12" is not a valid number of ES', 'line 4: number +34677000001 repeats line 2']);
    assert.equal(await count('dnc_numbers', sql`number_e164 = '+34677000001'`), 0);
    const good = await t.api('/api/v1/dnc/import?region=ES', { method: 'POST', body: csv('phone,reason,extra', '677000001,a,x', '611111111,b,y'), headers: { 'content-type': 'text/csv' } });
    assert.deepEqual([good.status, good.body], [201, { added: 1, alreadyListed: 1 }]);
    const perCampaign = await t.api(`/api/v1/campaigns/${id}/dnc/import`, { method: 'POST', body: csv('number', '688000001'), headers: { 'content-type': 'text/csv' } });
    assert.deepEqual(perCampaign.body, { added: 1, alreadyListed: 0 });
    assert.deepEqual((await t.api(`/api/v1/campaigns/${id}/dnc`)).body.map((d: { number: string }) => d.number).sort(), ['+34633333333', '+34688000001']);
  });

  it('claims in each contact\'s own time zone, daylight saving included, only for a running campaign', async () => {
    const id = (await create({ ...base('hours'), hours: { ...everyDay } })).body.id as string;
    assert.equal((await upload(id, csv('number,timezone', '611 00 00 01,', '922 00 00 01,', '+52 55 1000 0001,'))).status, 201);
    await dueLongAgo(id);
    const at = (iso: string) => new Date(iso);
    assert.deepEqual(await service.claimNextContacts(id, 10, at('2026-03-10T10:00:00Z')), [], 'a draft campaign: nothing');
    await t.api(`/api/v1/campaigns/${id}/start`, { method: 'POST' });
    const claim = async (iso: string) => {
      const got = await service.claimNextContacts(id, 10, at(iso));
      // Given back untouched (not dialled), through the write queue as the dialer would.
      await t.app.writes.enqueue('release', got.map((c) => store.contactReleased(c.id, c.claimedFrom)));
      await t.app.writes.drain();
      return got.map((c) => c.numberE164).sort();
    };
    // 08:30 UTC on 10 March: Madrid 09:30, Canary 08:30, Mexico City 02:30.
    assert.deepEqual(await claim('2026-03-10T08:30:00Z'), ['+34611000001']);
    // 19:30 UTC: Madrid 20:30, Canary 19:30, Mexico City 13:30: everyone.
    assert.deepEqual(await claim('2026-03-10T19:30:00Z'), ['+34611000001', '+34922000001', '+525510000001']);
    // 20:30 UTC: Madrid 21:30 is closed.
    assert.deepEqual(await claim('2026-03-10T20:30:00Z'), ['+34922000001', '+525510000001']);
    // Europe moves its clocks on 29 March: 19:30 UTC is 20:30 in Madrid on the 27th, 21:30 on the 30th.
    assert.deepEqual(await claim('2026-03-27T19:30:00Z'), ['+34611000001', '+34922000001', '+525510000001']);
    assert.deepEqual(await claim('2026-03-30T19:30:00Z'), ['+34922000001', '+525510000001']);
    const [first] = await service.claimNextContacts(id, 1, at('2026-03-10T10:00:00Z'));
    assert.equal(first!.state, 'in_progress');
    assert.equal(first!.claimedFrom, 'pending');
    assert.equal((await t.api(`/api/v1/campaigns/${id}`)).body.contacts.byState.in_progress, 1);
    await t.api(`/api/v1/campaigns/${id}/pause`, { method: 'POST' });
    assert.deepEqual(await service.claimNextContacts(id, 10, at('2026-03-10T19:30:00Z')), [], 'a paused campaign: nothing');
    // The dialer's start gives back claims that never ended (every campaign's).
    assert.ok(await store.releaseStaleClaims(new Date(Date.now() + 1000)) >= 1);
    assert.deepEqual([(await t.api(`/api/v1/campaigns/${id}`)).body.contacts.byState.in_progress, (await t.api(`/api/v1/campaigns/${id}/contacts/${first!.id}`)).body.state], [0, 'pending']);
  });

  it('writes attempts and applies the retry and disposition rules through the write queue', async () => {
    const created = await create({ ...base('retries'), retry: { busy: { maxAttempts: 2, delayMinutes: 15 } }, dispositionActions: { 2: { action: 'callback', sameAgent: true }, 9: { action: 'dnc' } } });
    const id = created.body.id as string;
    await upload(id, csv('number', '611 00 00 11', '611 00 00 12'));
    await dueLongAgo(id);
    await t.api(`/api/v1/campaigns/${id}/start`, { method: 'POST' });
    const campaign = (await service.campaign(id))!;
    const now = new Date('2026-03-10T10:00:00Z');
    const dial = async (outcome: 'busy' | 'answered', disposition?: string) => {
      const [contact] = await service.claimNextContacts(id, 1, now);
      assert.ok(contact, 'a contact to dial');
      const attemptId = randomUUID();
      const agentId = randomUUID();
      await t.app.writes.enqueue('attempt started', store.attemptStarted({ id: attemptId, campaignId: id, contactId: contact.id, numberE164: contact.numberE164, startedAt: now }));
      if (outcome === 'answered') await t.app.writes.enqueue('answered', store.attemptAnswered(attemptId, now, agentId));
      const { ops, change } = service.attemptEnd(campaign, contact, attemptId, { outcome, disposition, agentId, callbackAt: new Date('2026-03-11T16:00:00Z') }, now);
      await t.app.writes.enqueue('attempt ended', ops);
      await t.app.writes.drain();
      return { contact, change, agentId };
    };
    const busy = await dial('busy');
    assert.deepEqual([busy.change.state, busy.change.attempts, busy.change.nextAttemptAt?.toISOString()], ['retry', 1, '2026-03-10T10:15:00.000Z']);
    const detail = (await t.api(`/api/v1/campaigns/${id}/contacts/${busy.contact.id}`)).body;
    assert.deepEqual([detail.state, detail.attempts, detail.lastOutcome, detail.history.length, detail.history[0].outcome], ['retry', 1, 'busy', 1, 'busy']);
    // The other contact is pending and due; this one is not due until 10:15.
    const callback = await dial('answered', '2');
    assert.notEqual(callback.contact.id, busy.contact.id);
    const cb = (await t.api(`/api/v1/campaigns/${id}/contacts/${callback.contact.id}`)).body;
    assert.deepEqual([cb.state, cb.nextAttemptAt, cb.callbackAgentId, cb.history[0].disposition, cb.history[0].agentId], ['callback', '2026-03-11T16:00:00.000Z', callback.agentId, '2', callback.agentId]);
    // No contact is due at 10:00 now.
    assert.deepEqual(await service.claimNextContacts(id, 5, now), []);
    // Busy again at 10:15: the second of two allowed, so failed.
    const later = new Date('2026-03-10T10:15:00Z');
    const [again] = await service.claimNextContacts(id, 5, later);
    const { ops, change } = service.attemptEnd(campaign, again!, randomUUID(), { outcome: 'busy' }, later);
    assert.deepEqual([change.state, change.attempts], ['failed', 2]);
    await t.app.writes.enqueue('ended', ops.slice(1));
    // The callback, answered, ends with the do-not-call code: its number goes on the campaign's list.
    const [promised] = await service.claimNextContacts(id, 5, new Date('2026-03-11T16:00:00Z'));
    assert.equal(promised!.callbackAgentId, callback.agentId);
    const never = service.attemptEnd(campaign, promised!, randomUUID(), { outcome: 'answered', disposition: '9' }, new Date('2026-03-11T16:05:00Z'));
    await t.app.writes.enqueue('ended', never.ops.slice(1));
    await t.app.writes.drain();
    const listed = (await t.api(`/api/v1/campaigns/${id}/dnc`)).body;
    assert.deepEqual(listed.map((d: { number: string; source: string }) => [d.number, d.source]), [[promised!.numberE164, 'disposition']]);
    const states = (await t.api(`/api/v1/campaigns/${id}`)).body.contacts;
    assert.deepEqual([states.byState.failed, states.byState.dnc, states.attempted, states.completed, states.remaining, states.penetration], [1, 1, 2, 2, 0, 100]);
    assert.equal((await t.api(`/api/v1/campaigns/${id}`, { method: 'DELETE' })).status, 409, 'a campaign with history is kept');
  });

  it('a wrap-up code set after the dial changes the contact from where the end left it, never a contact claimed again meanwhile', async () => {
    const created = await create({ ...base('codes-later'), dispositionActions: { 3: { action: 'retry', delayMinutes: 0 } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await upload(id, csv('number', '611 00 00 21'));
    await dueLongAgo(id);
    await t.api(`/api/v1/campaigns/${id}/start`, { method: 'POST' });
    const campaign = (await service.campaign(id))!;
    const now = new Date('2026-03-10T10:00:00Z');
    const [contact] = await service.claimNextContacts(id, 1, now);
    const attemptId = randomUUID();
    await t.app.writes.enqueue('started', store.attemptStarted({ id: attemptId, campaignId: id, contactId: contact!.id, numberE164: contact!.numberE164, startedAt: now }));
    const end = service.attemptEnd(campaign, contact!, attemptId, { outcome: 'answered' }, now);
    await t.app.writes.enqueue('ended', end.ops);
    // Code 3 in the wrap-up: done → retry at once, no new attempt.
    const after = { ...contact!, state: end.change.state, attempts: end.change.attempts, callbackAgentId: end.change.callbackAgentId };
    const code = service.attemptEnd(campaign, after, attemptId, { disposition: '3' }, now);
    await t.app.writes.enqueue('code', code.ops);
    await t.app.writes.drain();
    const retried = (await t.api(`/api/v1/campaigns/${id}/contacts/${contact!.id}`)).body;
    assert.deepEqual([retried.state, retried.attempts, retried.history[0].disposition], ['retry', 1, '3']);
    // Claimed again (due at once), then a late code for the old attempt arrives: the contact in progress is left alone.
    const [again] = await service.claimNextContacts(id, 1, now);
    assert.equal(again?.id, contact!.id);
    const late = service.attemptEnd(campaign, after, attemptId, { disposition: '1' }, now);
    await t.app.writes.enqueue('late code', late.ops);
    await t.app.writes.drain();
    assert.equal((await t.api(`/api/v1/campaigns/${id}/contacts/${contact!.id}`)).body.state, 'in_progress');
  });

  it('refuses to delete a prompt a campaign plays', async () => {
    const wav = writeWav(new Int16Array(800));
    assert.equal((await t.api('/api/v1/prompts?name=left-message', { method: 'POST', body: new Uint8Array(wav), headers: { 'content-type': 'audio/wav' } })).status, 201);
    const res = await create({ ...base('machines'), amd: { action: 'message', messagePrompt: 'left-message' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const refused = await t.api('/api/v1/prompts/left-message', { method: 'DELETE' });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /the campaign machines/);
  });

  it('imports in batches: a duplicate a batch apart is found, then 2 500 rows are stored at once', async () => {
    // 100 000 rows take about 9 s on PGlite (docs/campaigns.md), too long for the fast tier; 2 500 make three batches.
    const id = (await create(base('big'))).body.id as string;
    const rows = Array.from({ length: 2_500 }, (_, i) => `6${String(10_000_000 + i)},Person ${i},${i * 3}`);
    const refused = await upload(id, csv('number,name,amount', ...rows, '610000000,Again,0'));
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body.error.problems, ['line 2502: number +34610000000 repeats line 2']);
    assert.equal(await count('campaign_contacts', sql`campaign_id = ${id}`), 0);
    const res = await upload(id, csv('number,name,amount', ...rows));
    assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 500));
    assert.equal(res.body.contactCount, 2_500);
  });
});
