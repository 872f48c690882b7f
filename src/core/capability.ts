import type { DomainEvents } from './events.js';
import type { HttpApp } from './http.js';

/**
 * What each capability gives the ones built after it, by its name: every
 * capability's module.ts adds its entry (declaration merging, like
 * DomainEvents, so core names no capability).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by each capability's module.ts
export interface Capabilities {}

export type CapabilityName = keyof Capabilities;

/** What stops a job a capability started. */
export type Stop = () => void | Promise<void>;

/**
 * One capability (a folder of src/) as app.ts assembles it: the modules are
 * listed in order, each built from the shared infrastructure (`Shared`) and
 * what the capabilities it `needs` gave. `View` is what a (re)connection to
 * Asterisk lists, for `reconcile`. docs/architecture.md, "Capabilities".
 */
export interface Capability<Shared, View, Name extends CapabilityName, Needs extends CapabilityName = never> {
  readonly name: Name;
  /** The capabilities build() uses: each comes earlier in the list (test/unit/capabilities.test.ts). */
  readonly needs: readonly Needs[];
  /** The tables of db-schema.ts it owns: only its store queries them (each table has one owner). */
  readonly tables: readonly string[];
  /** The bus events it emits and those it listens to (DomainEvents): documentation, checked by the unit test. */
  readonly emits: readonly (keyof DomainEvents)[];
  readonly consumes: readonly (keyof DomainEvents)[];
  /** Its store and service (and ARI handlers, claimed Stasis kinds), from what earlier modules gave. */
  build(ctx: Shared & Pick<Capabilities, Needs>): Capabilities[Name] | Promise<Capabilities[Name]>;
  /** HTTP hooks every route goes through (authentication): registered before any module's routes. */
  guard?(built: Capabilities[Name], ctx: Shared & Pick<Capabilities, Needs>): void;
  /** Its HTTP routes, once every module is built. */
  routes?(built: Capabilities[Name], ctx: Shared & Pick<Capabilities, Needs>): void;
  /** Jobs that run while the HTTP app does: started when it is ready (listen, or a first inject); the Stop it returns runs when it closes. */
  start?(built: Capabilities[Name], ctx: Shared & Pick<Capabilities, Needs>): Stop | undefined;
  /** At stop, before the HTTP app closes: what would keep it open (sockets). */
  closing?(built: Capabilities[Name]): void;
  /** At stop, once the HTTP app has closed and before Asterisk's clients stop: its timers. */
  stop?(built: Capabilities[Name]): void;
  /**
   * Its part of each (re)connection's reconciliation, after the calls' own,
   * in module order: judges what it held; returns the channels it drives now
   * (the others left in our application are taken up again by their route).
   */
  reconcile?(built: Capabilities[Name], view: View, ctx: Shared & Pick<Capabilities, Needs>): Promise<Iterable<string>>;
}

/** Any module of a list (methods are compared bivariantly, so each module's own types fit). */
export type AnyCapability<Shared, View> = Capability<Shared, View, CapabilityName, CapabilityName>;

/**
 * A capability's tables, from its `…Tables` interface: the compiler refuses
 * a table left out or one that is not there.
 */
export function tablesOf<T>(names: Record<keyof T & string, true>): readonly (keyof T & string)[] {
  return Object.keys(names) as (keyof T & string)[];
}

/**
 * Builds an ordered list of capabilities and runs their hooks: build() each
 * in order (a module whose needs are not built yet is refused), then the
 * guards, then the routes; starts and stops their jobs with the HTTP app;
 * reconcile() runs their parts in order.
 */
export class Assembly<Shared extends { http: HttpApp }, View> {
  private readonly built: Partial<Capabilities> = {};
  private shared: Shared | undefined;

  constructor(readonly modules: readonly AnyCapability<Shared, View>[]) {}

  async build(shared: Shared, jobs: 'with-http' | 'when-told' = 'with-http'): Promise<void> {
    this.shared = shared;
    for (const module of this.modules) {
      const missing = module.needs.filter((need) => !(need in this.built));
      if (missing.length > 0) throw new Error(`capability ${module.name} needs ${missing.join(', ')}, not built before it`);
      if (module.name in this.built) throw new Error(`capability ${module.name} is listed twice`);
      this.keep(module.name, await module.build(this.context()));
    }
    for (const module of this.modules) module.guard?.(this.get(module.name), this.context());
    for (const module of this.modules) module.routes?.(this.get(module.name), this.context());
    // The jobs start with the HTTP app, or (HA: only the leader runs them) when told.
    if (jobs === 'with-http') {
      shared.http.addHook('onReady', async () => this.startJobs());
    }
    shared.http.addHook('onClose', async () => this.stopJobs());
  }

  private jobStops: Array<Stop | undefined> | undefined;

  /** Starts every capability's jobs (once; again only after stopJobs). */
  startJobs(): void {
    if (this.jobStops) return;
    this.jobStops = this.modules.filter((m) => m.start).map((module) => module.start?.(this.get(module.name), this.context()));
  }

  /** Stops the jobs started. */
  async stopJobs(): Promise<void> {
    const stops = this.jobStops ?? [];
    this.jobStops = undefined;
    await Promise.all(stops.map((stop) => stop?.()));
  }

  /** What a capability gave; throws for one not built (yet). */
  get<N extends CapabilityName>(name: N): Capabilities[N] {
    if (!(name in this.built)) throw new Error(`capability ${name} is not built`);
    // Present (checked above); a capability that gives nothing gave undefined (`void`).
    return this.built[name] as Capabilities[N];
  }

  private keep<N extends CapabilityName>(name: N, value: Capabilities[N]): void {
    this.built[name] = value;
  }

  async reconcile(view: View): Promise<ReadonlySet<string>> {
    const driven = new Set<string>();
    for (const module of this.modules) {
      if (!module.reconcile) continue;
      for (const channelId of await module.reconcile(this.get(module.name), view, this.context())) driven.add(channelId);
    }
    return driven;
  }

  /** Before the HTTP app closes. */
  closing(): void {
    for (const module of this.modules) module.closing?.(this.get(module.name));
  }

  /** After it closed. */
  stop(): void {
    for (const module of this.modules) module.stop?.(this.get(module.name));
  }

  /**
   * The shared infrastructure and every capability built so far: typed as
   * all of them, which holds for what each module reads (its needs, checked
   * in build() before it is called, and by the unit test).
   */
  private context(): Shared & Capabilities {
    if (!this.shared) throw new Error('capabilities used before build()');
    return { ...this.shared, ...this.built } as Shared & Capabilities;
  }
}
