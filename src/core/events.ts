import { EventEmitter } from 'node:events';

/**
 * The internal event bus: capabilities announce what happened here, and the
 * live feed, other capabilities and tests listen. Each capability adds its
 * events to DomainEvents (declaration merging keeps core domain-free).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by capabilities
export interface DomainEvents {}

export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  emit<K extends keyof DomainEvents>(name: K, payload: DomainEvents[K]): void {
    this.emitter.emit(name as string, payload);
  }

  on<K extends keyof DomainEvents>(name: K, listener: (payload: DomainEvents[K]) => void): () => void {
    this.emitter.on(name as string, listener);
    return () => this.emitter.off(name as string, listener);
  }
}
