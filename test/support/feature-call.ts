import assert from 'node:assert/strict';
import type { Call, TestPhone } from '../phones/sip-phone.js';

/**
 * Dials a feature code (`*45`, `*22`…), waits for each prompt to be heard
 * before keying its answer, then waits for the last prompt and centralita's
 * hang-up (at most 15 s; the timer does not keep a finished test file alive).
 */
export async function featureCall(phone: TestPhone, code: string, answers: string[] = []): Promise<Call> {
  const call = await phone.call(code);
  for (const answer of answers) {
    const mark = call.mark();
    await call.waitForAudio({ since: mark, minMs: 300, timeoutMs: 8000 });
    await call.sendDtmf(answer);
  }
  const mark = call.mark();
  await call.waitForAudio({ since: mark, minMs: 300, timeoutMs: 8000 });
  const end = await Promise.race([call.ended, new Promise<undefined>((r) => setTimeout(r, 15_000, undefined).unref())]);
  assert.ok(end, `centralita should hang up after ${code}`);
  return call;
}
