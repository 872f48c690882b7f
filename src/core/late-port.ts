/**
 * A port whose implementation is given after construction, for the one
 * place where two capabilities need each other (queues overflow into IVR
 * flows, IVR flows end in queues): the first is built with closures over
 * the port, the second is bound to it once it exists. Typed, bound once,
 * and a use before binding throws instead of doing nothing.
 */
export class LatePort<T> {
  private impl: T | undefined;

  constructor(readonly name: string) {}

  bind(impl: T): void {
    if (this.impl) throw new Error(`port ${this.name} is already bound`);
    this.impl = impl;
  }

  get(): T {
    if (!this.impl) throw new Error(`port ${this.name} used before it was bound`);
    return this.impl;
  }
}
