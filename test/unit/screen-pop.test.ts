import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fillScreenPop, screenPopOrigin, screenPopProblem } from '../../src/queues/screen-pop.js';

describe('CRM screen pop templates', () => {
  it('fills placeholders from the call, URL-encoding each value so a caller cannot reshape the URL', () => {
    const template = 'https://crm.example/lookup?phone={callerNumber}&call={callId}&account={var.account}&q={queue}';
    assert.equal(fillScreenPop(template, { callerNumber: '+34 600&x=1', callId: 'c-1', queue: 'cobros', variables: { account: '12/34#5' } }),
      'https://crm.example/lookup?phone=%2B34%20600%26x%3D1&call=c-1&account=12%2F34%235&q=cobros');
    assert.equal(fillScreenPop('https://crm.example/{var.missing}?d={did}', { did: null, variables: {} }), 'https://crm.example/?d=');
  });

  it('refuses templates that are not http(s), have unknown placeholders or a placeholder in the host', () => {
    assert.equal(screenPopProblem('https://crm.example/lookup?phone={callerNumber}&a={var.account_id}'), undefined);
    assert.match(screenPopProblem('javascript:alert({callerNumber})') ?? '', /http\(s\)/);
    assert.match(screenPopProblem('https://crm.example/?p={caller}') ?? '', /unknown placeholder \{caller\}/);
    assert.match(screenPopProblem('https://{did}.crm.example/') ?? '', /host/);
    assert.match(screenPopProblem('https:/{var.h}/x') ?? '', /host/, 'a host from a variable, however written');
    assert.match(screenPopProblem('https://crm.example:{did}/x') ?? '', /port|not a URL/);
    assert.match(screenPopProblem('https://*.crm.example/x') ?? '', /plain host/);
    assert.match(screenPopProblem('https://u:p@crm.example/x') ?? '', /plain host/);
    assert.match(screenPopProblem('https://crm.example/?p={callerNumber') ?? '', /unpaired/);
    assert.match(screenPopProblem('not a url {callId}') ?? '', /not a URL/);
  });

  it('names the origin the desk page may frame', () => {
    assert.equal(screenPopOrigin('https://crm.example:8443/lookup?phone={callerNumber}'), 'https://crm.example:8443');
    assert.equal(screenPopOrigin('https://*/x'), undefined, 'never a wildcard in the page\'s policy');
  });
});
