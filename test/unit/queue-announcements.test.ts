import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { announcementMedia, estimateMinutes } from '../../src/queues/announcements.js';

describe('queue announcements', () => {
  it('estimates from the recent handle time, the position and the agents staffing the queue', () => {
    assert.equal(estimateMinutes(1, 180, 1), 3);
    assert.equal(estimateMinutes(4, 180, 2), 6); // 4 × 3 min shared by 2
    assert.equal(estimateMinutes(1, 20, 3), 1, 'at least a minute');
    assert.equal(estimateMinutes(2, 90, 0), 3, 'nobody checked in counts as one');
    assert.equal(estimateMinutes(1, null, 2), null, 'no history, no estimate');
    assert.equal(estimateMinutes(1, 0, 2), null);
  });

  it('says the position, then the estimate when asked for', () => {
    assert.deepEqual(announcementMedia(1, { everySeconds: 30 }, null), ['sound:queue-youarenext']);
    assert.deepEqual(announcementMedia(3, { everySeconds: 30, estimate: true }, 4),
      ['sound:queue-thereare', 'number:2', 'sound:queue-callswaiting', 'sound:queue-holdtime', 'number:4', 'sound:queue-minutes']);
    assert.deepEqual(announcementMedia(2, { everySeconds: 30, position: false, estimate: true }, 1), ['sound:queue-holdtime', 'number:1', 'sound:queue-minute']);
    assert.deepEqual(announcementMedia(2, { everySeconds: 30, estimate: true }, null), ['sound:queue-thereare', 'number:1', 'sound:queue-callswaiting']);
    assert.deepEqual(announcementMedia(2, { everySeconds: 30, position: false }, 5), []);
  });
});
