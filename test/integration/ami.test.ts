import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AmiClient, AmiError } from '../../src/asterisk/ami.js';
import { createLogger } from '../../src/core/logger.js';
import { TestPhone } from '../phones/sip-phone.js';
import { testConfig, waitFor } from '../support/harness.js';

describe('AMI adapter on the lab', () => {
  let ami: AmiClient;
  let phone: TestPhone | undefined;
  before(async () => {
    ami = new AmiClient(testConfig().ami, createLogger('silent'));
    ami.start();
    await waitFor(() => ami.state === 'up', 5000, 'AMI did not log in');
  });
  after(async () => {
    await phone?.close();
    await ami.stop();
  });

  it('answers an action', async () => {
    const pong = await ami.action('Ping');
    assert.equal(pong.response, 'Success');
    assert.equal(pong.ping, 'Pong');
  });

  it('collects a list action up to its Complete event: a registered phone is among the contacts', async () => {
    phone = await TestPhone.start({ user: '1004', password: 'lab-1004' });
    await phone.register();
    const contacts = await ami.listAction('PJSIPShowContacts', 'ContactListComplete');
    const mine = contacts.find((c) => c.endpoint === '1004');
    assert.ok(mine, `1004 not in ${JSON.stringify(contacts)}`);
    assert.equal(mine.uri, phone.contactUri);
  });

  it('refuses to log in with a wrong secret and says so', async () => {
    const wrong = new AmiClient({ ...testConfig().ami, password: 'wrong-secret' }, createLogger('silent'));
    wrong.start();
    await new Promise((r) => setTimeout(r, 1500));
    assert.notEqual(wrong.state, 'up');
    await assert.rejects(wrong.action('Ping'), AmiError);
    await wrong.stop();
  });
});
