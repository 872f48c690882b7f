/**
 * The lab's PSTN emulator: the far end of the outbound trunk. The lab
 * Asterisk sends calls to the carrier (`PJSIP/<number>@carrier`, the aor
 * `carrier` in config/asterisk/pjsip.conf) to 127.0.0.1:5070, where this
 * emulator answers as the number's owner would. What happens depends on the
 * number's last digit (docs/outbound.md, "The lab's PSTN emulator"):
 *
 * | last digit | behaviour |
 * |---|---|
 * | 0, 7, 8, 9 | a person: rings (0: 2 s, 7: 3 s, 8: at once, 9: 1 s), answers, says "hello" (a 0.6 s 700 Hz tone), waits 1.2 s, then talks (700 Hz) until hung up |
 * | 1 | busy: 486 after 0.3 s |
 * | 2 | no answer: rings until cancelled |
 * | 3 | an answering machine: rings 1 s, answers, a 2.5 s greeting (700 Hz), a beep (1400 Hz, 0.5 s), then records (silence) |
 * | 4 | invalid number: 404 |
 * | 5 | answers after 1 s and hangs up 0.5 s later |
 * | 6 | congestion: 503 |
 *
 * Every call it gets is kept (`calls`) with the number, the caller ID it
 * came with and how it ended, so tests can check what was (and was not)
 * dialled; answered calls are real test-phone calls (`Call`), whose received
 * audio a test can check for the agent's tone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TestPhone, type Call, type IncomingCall } from './sip-phone.js';

export const PSTN_PORT = 5070;
/** The tone a person or a machine "speaks", which an agent's phone listens for. */
export const PSTN_VOICE_HZ = 700;
/** The answering machine's beep. */
export const PSTN_BEEP_HZ = 1400;

export type PstnBehaviour = 'person' | 'busy' | 'no_answer' | 'machine' | 'invalid' | 'hangs_up' | 'congestion';

/** The behaviour for a number, by its last digit. */
export function behaviourOf(number: string): { behaviour: PstnBehaviour; ringMs: number } {
  const last = number.at(-1) ?? '0';
  switch (last) {
    case '1': return { behaviour: 'busy', ringMs: 300 };
    case '2': return { behaviour: 'no_answer', ringMs: 0 };
    case '3': return { behaviour: 'machine', ringMs: 1000 };
    case '4': return { behaviour: 'invalid', ringMs: 0 };
    case '5': return { behaviour: 'hangs_up', ringMs: 1000 };
    case '6': return { behaviour: 'congestion', ringMs: 0 };
    case '7': return { behaviour: 'person', ringMs: 3000 };
    case '8': return { behaviour: 'person', ringMs: 0 };
    case '9': return { behaviour: 'person', ringMs: 1000 };
    default: return { behaviour: 'person', ringMs: 2000 };
  }
}

export interface PstnCall {
  number: string;
  /** The caller ID (From user) the call came with. */
  callerId: string;
  behaviour: PstnBehaviour;
  at: Date;
  /** Set once answered. */
  call?: Call;
  /** How it ended: answered calls end with a BYE, the others with the response sent or a CANCEL. */
  end?: 'rejected' | 'cancelled' | 'hung_up_by_us' | 'hung_up_by_them';
}

export interface PstnOptions {
  port?: number;
  /** A person hangs up after talking this long (default: never; the other side ends the call). */
  personTalkMs?: number;
}

export class PstnEmulator {
  readonly calls: PstnCall[] = [];
  private readonly waiters: Array<{ number: string; resolve: (c: PstnCall) => void }> = [];
  private closed = false;
  private readonly running: Promise<void>;

  private readonly claimed = new Set<PstnCall>();

  private constructor(private readonly phone: TestPhone, readonly options: PstnOptions) {
    this.running = this.serve();
  }

  static async start(options: PstnOptions = {}): Promise<PstnEmulator> {
    return new PstnEmulator(await TestPhone.start({ user: 'pstn-emulator', port: options.port ?? PSTN_PORT }), options);
  }

  /** The next call to `number` (one already received counts), once its behaviour has run to the answer or the rejection. */
  waitForCall(number: string, timeoutMs = 15_000): Promise<PstnCall> {
    const done = this.calls.find((c) => c.number === number && !this.claimed.has(c) && (c.call || c.end));
    if (done) {
      this.claimed.add(done);
      return Promise.resolve(done);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the PSTN emulator got no call to ${number} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ number, resolve: (c) => { clearTimeout(timer); resolve(c); } });
    });
  }

  private settled(c: PstnCall): void {
    const at = this.waiters.findIndex((w) => w.number === c.number);
    if (at === -1) return;
    const [waiter] = this.waiters.splice(at, 1);
    this.claimed.add(c);
    waiter!.resolve(c);
  }

  private async serve(): Promise<void> {
    while (!this.closed) {
      let incoming: IncomingCall;
      try {
        incoming = await this.phone.waitForIncoming(3_600_000);
      } catch {
        return; // closed
      }
      void this.handle(incoming).catch(() => undefined); // a call torn down mid-way (the test ended it) is no fault of the emulator
    }
  }

  private async handle(incoming: IncomingCall): Promise<void> {
    const number = /^sips?:([^@;]+)@/.exec(incoming.invite.uri)?.[1] ?? '';
    const { behaviour, ringMs } = behaviourOf(number);
    const c: PstnCall = { number, callerId: incoming.from.user ?? '', behaviour, at: new Date() };
    this.calls.push(c);
    void incoming.cancelled.then(() => {
      c.end ??= 'cancelled';
      this.settled(c);
    });
    const reject = async (status: number, reason: string): Promise<void> => {
      await sleep(ringMs);
      if (!incoming.isRinging) return;
      await incoming.reject(status, reason);
      c.end = 'rejected';
      this.settled(c);
    };
    if (behaviour === 'busy') return reject(486, 'Busy Here');
    if (behaviour === 'invalid') return reject(404, 'Not Found');
    if (behaviour === 'congestion') return reject(503, 'Service Unavailable');
    if (behaviour === 'no_answer') return; // rings until the CANCEL
    await sleep(ringMs);
    if (!incoming.isRinging) return;
    const call = await incoming.answer();
    c.call = call;
    void call.ended.then((end) => {
      c.end ??= end.by === 'remote' ? 'hung_up_by_them' : 'hung_up_by_us';
    });
    this.settled(c);
    if (behaviour === 'hangs_up') {
      await sleep(500);
      c.end = 'hung_up_by_us';
      await call.hangup();
      return;
    }
    if (behaviour === 'machine') {
      // Longer than AMD's 1.5 s greeting: a machine.
      call.playTone(PSTN_VOICE_HZ);
      await sleep(2500);
      call.playTone(PSTN_BEEP_HZ);
      await sleep(500);
      call.stopTone();
      return;
    }
    // A person: "hello", a pause, then talking.
    call.playTone(PSTN_VOICE_HZ);
    await sleep(600);
    call.stopTone();
    await sleep(1200);
    if (call.isActive) call.playTone(PSTN_VOICE_HZ);
    if (this.options.personTalkMs !== undefined && call.isActive) {
      await sleep(this.options.personTalkMs);
      if (call.isActive) {
        c.end = 'hung_up_by_us';
        await call.hangup();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.phone.close();
    await this.running;
  }
}
