/**
 * The blind-transfer keys an agent presses on the desk phone during a queue
 * call: `##`, the number (a queue's extension or a phone's), then `#`.
 * A pause of `digitTimeoutMs` after the last digit also ends the number.
 * Pure: the engine feeds it digits and the time, and arms the timer.
 */
export const transferPrefix = '##';
export const digitTimeoutMs = 4000;
/** The two `#` of the prefix must come within this of each other. */
const prefixGapMs = 1500;
/** An external number may be long (00 and up to 15 digits); # ends it sooner. */
const maxDigits = 20;

export type KeyResult =
  | { kind: 'idle' }
  | { kind: 'collecting' }
  | { kind: 'number'; number: string }
  /** `###` (no number): the agent changed their mind. */
  | { kind: 'cancelled' };

export class TransferKeys {
  private stage: 'idle' | 'hash' | 'number' = 'idle';
  private digits = '';
  private lastAt = 0;

  /** One key pressed at `at` (ms). */
  press(key: string, at: number): KeyResult {
    if (this.stage === 'hash' && at - this.lastAt > prefixGapMs) this.stage = 'idle';
    this.lastAt = at;
    switch (this.stage) {
      case 'idle':
        if (key === '#') this.stage = 'hash';
        return key === '#' ? { kind: 'collecting' } : { kind: 'idle' };
      case 'hash':
        if (key === '#') {
          this.stage = 'number';
          this.digits = '';
          return { kind: 'collecting' };
        }
        this.stage = 'idle';
        return { kind: 'idle' };
      case 'number':
        if (key === '#') return this.finish();
        if (!/^[0-9]$/.test(key)) return { kind: 'collecting' };
        this.digits += key;
        return this.digits.length >= maxDigits ? this.finish() : { kind: 'collecting' };
    }
  }

  /** The digit timer ran out: what was keyed is the number. */
  timeout(): KeyResult {
    return this.stage === 'number' ? this.finish() : this.reset();
  }

  /** Whether a number is being keyed (the engine keeps a timer while it is). */
  get keying(): boolean {
    return this.stage === 'number';
  }

  private finish(): KeyResult {
    const number = this.digits;
    this.reset();
    return number ? { kind: 'number', number } : { kind: 'cancelled' };
  }

  private reset(): KeyResult {
    this.stage = 'idle';
    this.digits = '';
    return { kind: 'idle' };
  }
}
