// The phones of the agents capability: what AMI says each desk phone is
// doing, which of them are on a call to centralita itself, and the delay
// before a phone in use counts as a call outside the queues.

/** Device states (AMI) as the agents capability reads them. */
export type PhoneCondition = 'unreachable' | 'idle' | 'in_use' | 'ringing';

export function phoneCondition(deviceState: string): PhoneCondition | undefined {
  switch (deviceState) {
    case 'UNAVAILABLE': case 'INVALID': return 'unreachable';
    case 'NOT_INUSE': return 'idle';
    case 'INUSE': case 'BUSY': case 'ONHOLD': case 'RINGINUSE': return 'in_use';
    case 'RINGING': return 'ringing';
    default: return undefined;
  }
}

/** How long a phone must be in use before it counts as a call outside the queues. */
const directCallSettleMs = 1000;

/**
 * The phones by extension (memory only: AMI lists every device state again
 * on each connection, src/agents/presence.ts).
 */
export class Phones {
  /** Last known condition of each phone by extension, from AMI. */
  private readonly conditions = new Map<string, PhoneCondition>();
  /** Phones on a call to centralita itself (a feature code): not a call with a customer. */
  private readonly featureCalls = new Map<string, number>();
  private readonly directCallChecks = new Map<string, NodeJS.Timeout>();

  condition(extension: string): PhoneCondition | undefined {
    return this.conditions.get(extension);
  }

  /** Whether AMI has listed any phone yet (then every PJSIP endpoint has a device state). */
  get listed(): boolean {
    return this.conditions.size > 0;
  }

  /** Notes a phone's condition; returns the one it had. */
  note(extension: string, condition: PhoneCondition): PhoneCondition | undefined {
    const previous = this.conditions.get(extension);
    this.conditions.set(extension, condition);
    return previous;
  }

  /** Marks a phone as talking to centralita (feature codes), for the duration of `work`. */
  async duringFeatureCall<T>(extension: string, work: () => Promise<T>): Promise<T> {
    this.featureCalls.set(extension, (this.featureCalls.get(extension) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (this.featureCalls.get(extension) ?? 1) - 1;
      if (left > 0) this.featureCalls.set(extension, left);
      else this.featureCalls.delete(extension);
    }
  }

  /**
   * Calls `found` once the phone has stayed in use for a moment and is not on
   * a call to centralita's own feature codes: AMI reports the phone in use
   * before ARI's StasisStart tells which it is, hence the delay. A later
   * check of the same phone replaces this one.
   */
  whenDirectCall(extension: string, found: () => void): void {
    clearTimeout(this.directCallChecks.get(extension));
    this.directCallChecks.set(extension, setTimeout(() => {
      this.directCallChecks.delete(extension);
      if (this.conditions.get(extension) !== 'in_use' || this.featureCalls.has(extension)) return;
      found();
    }, directCallSettleMs));
  }

  stop(): void {
    for (const timer of this.directCallChecks.values()) clearTimeout(timer);
    this.directCallChecks.clear();
  }
}
