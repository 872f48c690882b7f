import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AmiClient, AmiMessage } from '../../src/asterisk/ami.js';
import { MediaAmi } from '../../src/asterisk/media-ami.js';

/** A fake AMI link: events on demand, actions answered or refused by `answer`. */
function fakeAmi(answer: (name: string, fields: Record<string, unknown>) => AmiMessage = () => ({ response: 'Success' })) {
  const events = new Set<(event: AmiMessage) => void>();
  const downs = new Set<() => void>();
  const actions: string[] = [];
  const ami = {
    state: 'up' as string,
    start: () => {}, stop: async () => {},
    onEvent: (h: (event: AmiMessage) => void) => { events.add(h); return () => events.delete(h); },
    onDown: (h: () => void) => { downs.add(h); return () => downs.delete(h); },
    onConnected: () => () => {},
    action: async (name: string, fields: Record<string, unknown> = {}) => { actions.push(`${name} ${String(fields.channel ?? '')}`.trim()); return answer(name, fields); },
    listAction: async () => [],
  };
  const device = (device: string, state: string) => { for (const h of events) h({ event: 'DeviceStateChange', device, state }); };
  const drop = () => { ami.state = 'down'; for (const h of downs) h(); };
  return { ami: ami as unknown as AmiClient, device, drop, actions };
}

describe('AMI of several media servers as one', () => {
  it('tells a phone busy when any server has it in use, reachable only when every reporting server reaches it', () => {
    const one = fakeAmi();
    const two = fakeAmi();
    const ami = new MediaAmi([{ name: 'media-1', ami: one.ami }, { name: 'media-2', ami: two.ami }]);
    const told: string[] = [];
    ami.onEvent((event) => { if (event.event === 'DeviceStateChange') told.push(`${event.device}=${event.state}`); });
    one.device('PJSIP/1005', 'NOT_INUSE');
    assert.deepEqual(told, ['PJSIP/1005=NOT_INUSE'], 'one server reaches it, the other has not said');
    two.device('PJSIP/1005', 'UNAVAILABLE');
    assert.deepEqual(told.at(-1), 'PJSIP/1005=UNAVAILABLE', 'a server that cannot reach it could not ring it');
    two.device('PJSIP/1005', 'NOT_INUSE');
    two.device('PJSIP/1005', 'INUSE');
    one.device('PJSIP/1005', 'NOT_INUSE');
    assert.deepEqual(told.slice(2), ['PJSIP/1005=NOT_INUSE', 'PJSIP/1005=INUSE'], 'in use on one server is in use; unchanged aggregates are not told again');
    two.drop();
    assert.deepEqual(told.at(-1), 'PJSIP/1005=NOT_INUSE', 'a server whose link dropped stops counting');
    one.drop();
    assert.deepEqual(told.at(-1), 'PJSIP/1005=UNAVAILABLE', 'nobody reports it: unreachable');
  });

  it('sends an action on a channel to the server that has it, and other actions to the first one up', async () => {
    const one = fakeAmi((name) => { throw new Error(`${name}: No such channel`); });
    const two = fakeAmi();
    const ami = new MediaAmi([{ name: 'media-1', ami: one.ami }, { name: 'media-2', ami: two.ami }]);
    await ami.action('Setvar', { channel: 'PJSIP/1005-00000001', variable: 'X', value: '1' });
    assert.deepEqual([one.actions, two.actions], [['Setvar PJSIP/1005-00000001'], ['Setvar PJSIP/1005-00000001']]);
    (one.ami as unknown as { state: string }).state = 'down';
    await ami.action('Ping');
    assert.deepEqual(two.actions.at(-1), 'Ping');
    assert.equal(ami.state, 'up');
    (two.ami as unknown as { state: string }).state = 'down';
    assert.equal(ami.state, 'down');
  });
});
