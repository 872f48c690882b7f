/**
 * Call ends that came before their call's id was known to whoever placed
 * it: `OutboundDialer.fromApi` returns the id only after the agent's phone
 * was dialled, and a phone that refuses at once ends the call before that.
 * The placer notes an end it does not know yet here and takes it up once
 * the id is its own; an end nobody takes is forgotten after a minute.
 */
export class EarlyEnds<T> {
  private readonly ends = new Map<string, T>();

  note(callId: string, end: T): void {
    this.ends.set(callId, end);
    setTimeout(() => this.ends.delete(callId), 60_000).unref();
  }

  /** The end noted for this call, if any (taken: asked once). */
  take(callId: string): T | undefined {
    const end = this.ends.get(callId);
    this.ends.delete(callId);
    return end;
  }
}
