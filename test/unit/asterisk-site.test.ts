import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AsteriskSite } from '../../src/asterisk/site.js';
import { ConfigError, loadConfig } from '../../src/core/config.js';

const base = {
  CENTRALITA_ADMIN_TOKEN: 'a-secret-of-32-characters-at-least-0123', CENTRALITA_ARI_USER: 'u', CENTRALITA_ARI_PASSWORD: 'p',
  CENTRALITA_AMI_USER: 'u', CENTRALITA_AMI_PASSWORD: 'p',
};

describe('the Asterisk site: desk phones\' endpoints and the transfer context', () => {
  it('by default dials PJSIP/<extension> and reads extensions back from devices and channels', () => {
    const site = new AsteriskSite();
    assert.equal(site.phone('1001'), 'PJSIP/1001');
    assert.equal(site.extensionOfDevice('PJSIP/1001'), '1001');
    assert.equal(site.extensionOfChannel({ name: 'PJSIP/1001-0000002a' }), '1001');
    assert.equal(site.extensionOfDevice('Local/1001@x'), undefined);
    assert.equal(site.extensionOfChannel({ name: 'Local/1001@x-0000002a;1' }), undefined);
    assert.equal(site.transferContext, 'centralita-transfer');
  });

  it('follows a site whose endpoints carry a prefix, and ignores the others', () => {
    const site = new AsteriskSite({ phoneEndpoint: 'PJSIP/agent-${extension}', transferContext: 'from-internal' });
    assert.equal(site.phone('2001'), 'PJSIP/agent-2001');
    assert.equal(site.extensionOfDevice('PJSIP/agent-2001'), '2001');
    assert.equal(site.extensionOfChannel({ name: 'PJSIP/agent-2001-000000ff' }), '2001');
    assert.equal(site.extensionOfDevice('PJSIP/2001'), undefined, 'a device without the prefix is not a desk phone');
    assert.equal(site.extensionOfChannel({ name: 'PJSIP/carrier-00000001' }), undefined);
    assert.equal(site.transferContext, 'from-internal');
  });

  it('is configured by CENTRALITA_PHONE_ENDPOINT and CENTRALITA_TRANSFER_CONTEXT, refusing what cannot work by name', () => {
    const config = loadConfig({ ...base, CENTRALITA_PHONE_ENDPOINT: 'PJSIP/agent-${extension}', CENTRALITA_TRANSFER_CONTEXT: 'from-internal' });
    assert.deepEqual(config.site, { phoneEndpoint: 'PJSIP/agent-${extension}', transferContext: 'from-internal', inboundContexts: ['from-trunk'], phoneContexts: ['from-internal'] });
    assert.deepEqual(loadConfig(base).site, { phoneEndpoint: 'PJSIP/${extension}', transferContext: 'centralita-transfer', inboundContexts: ['from-trunk'], phoneContexts: ['from-internal'] });
    for (const [value, pattern] of [['PJSIP/1001', /exactly once/], ['${extension}', /TECHNOLOGY\/resource/], ['PJSIP/${extension},x', /no spaces or commas/],
      ['PJSIP/${extension}${extension}', /exactly once/]] as const) {
      assert.throws(() => loadConfig({ ...base, CENTRALITA_PHONE_ENDPOINT: value }), (err: Error) => err instanceof ConfigError && err.message.startsWith('CENTRALITA_PHONE_ENDPOINT') && pattern.test(err.message), value);
    }
    assert.throws(() => loadConfig({ ...base, CENTRALITA_TRANSFER_CONTEXT: 'bad context' }), /CENTRALITA_TRANSFER_CONTEXT: must be a dialplan context name/);
  });

  it('reads the contexts calls enter (doctor checks they reach centralita) as comma-separated lists', () => {
    const config = loadConfig({ ...base, CENTRALITA_INBOUND_CONTEXTS: 'from-pstn, from-trunk-2,from-pstn', CENTRALITA_PHONE_CONTEXTS: 'agents' });
    assert.deepEqual(config.site.inboundContexts, ['from-pstn', 'from-trunk-2']);
    assert.deepEqual(config.site.phoneContexts, ['agents']);
    assert.throws(() => loadConfig({ ...base, CENTRALITA_INBOUND_CONTEXTS: 'from-trunk,bad context' }), /CENTRALITA_INBOUND_CONTEXTS: must be a dialplan context name/);
    assert.throws(() => loadConfig({ ...base, CENTRALITA_PHONE_CONTEXTS: ' , ' }), /CENTRALITA_PHONE_CONTEXTS: must name at least one dialplan context/);
  });
});
