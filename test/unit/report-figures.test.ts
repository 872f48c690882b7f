import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTimeZone } from '../../src/core/time-zone.js';
import { agentFigures, queueFigures } from '../../src/reports/figures.js';

const none = {
  offered: 0, answered: 0, abandoned: 0, short_abandoned: 0, answered_within_sl: 0, waiting_within_sl: 0, waits: 0, wait_sum: 0, wait_max: null,
  answered_wait_sum: 0, handled: 0, talk_sum: 0, wrap_sum: 0, callbacks: 0, transfers: 0, overflows: 0, hold_sum: 0, holds: 0,
};

describe('report figures', () => {
  it('gives null, not 0, for a ratio over nothing', () => {
    const f = queueFigures(none);
    assert.equal(f.serviceLevel, null);
    assert.equal(f.asa, null);
    assert.equal(f.aht, null);
    assert.equal(f.abandonRate, null);
    assert.equal(f.longestWait, null);
    const a = agentFigures({ login_s: 0, available_s: 0, ringing_s: 0, talk_s: 0, wrap_s: 0, pause_s: 0, handled: 0, missed: 0, hold_s: 0, holds: 0 }, {});
    assert.deepEqual([a.occupancy, a.utilization, a.callsPerHour], [null, null, null]);
  });

  it('leaves short abandons out of the service level only', () => {
    const f = queueFigures({ ...none, offered: 10, answered: 6, abandoned: 4, short_abandoned: 2, answered_within_sl: 4 });
    assert.equal(f.serviceLevel, 50); // 4 / (10 - 2)
    assert.equal(f.abandonRate, 40); // 4 / 10: short abandons are still abandons
  });

  it('counts a caller still waiting under the threshold neither as a hit nor as a miss', () => {
    // 4 offered: 1 answered within, 3 still waiting of which 2 under the threshold.
    const f = queueFigures({ ...none, offered: 4, answered: 1, answered_within_sl: 1, waiting_within_sl: 2 });
    assert.equal(f.serviceLevel, 50); // 1 / (4 - 0 - 2): the one past the threshold is a miss
    assert.equal(queueFigures({ ...none, offered: 1, waiting_within_sl: 1 }).serviceLevel, null, 'nothing decided yet');
  });

  it('counts hold apart from talk in AHT, as the industry does', () => {
    // 2 calls: 300 s between answer and end of which 60 s on hold (3 holds), 40 s wrap-up.
    const f = queueFigures({ ...none, handled: 2, talk_sum: 240, hold_sum: 60, holds: 3, wrap_sum: 40 });
    assert.deepEqual([f.talkTime, f.holdTime, f.holds, f.averageHold, f.aht], [240, 60, 3, 30, 170]);
    // An agent's time on_call holds the hold: talk is what is left of it; handle time keeps both.
    const a = agentFigures({ login_s: 1000, available_s: 500, ringing_s: 0, talk_s: 300, wrap_s: 40, pause_s: 0, handled: 2, missed: 0, hold_s: 60, holds: 3 }, {});
    assert.deepEqual([a.talkTime, a.holdTime, a.holds, a.handleTime], [240, 60, 3, 340]);
  });

  it('knows time zones', () => {
    assert.ok(isTimeZone('Europe/Madrid'));
    assert.ok(!isTimeZone('Mars/Olympus'));
  });
});
