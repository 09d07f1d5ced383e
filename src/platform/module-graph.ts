/**
 * How capabilities find each other: typed service keys and a start plan checked before anything
 * starts (fastify's plugin `dependencies` are the model). Each module declares the services it
 * `provides`, the ones it `needs` (start fails without them), the ones it uses when present
 * (`optional`: started after their provider), the ones it reads only once every module has started
 * (`later`: request handlers and `started` hooks; no start-order constraint, so two modules may read
 * each other this way) and the providers it `decorates` (wraps for every later reader). Start order
 * follows from those declarations plus explicit `after` constraints; the listed order only breaks
 * ties, so a list that already satisfies the declarations starts exactly as listed.
 *
 * Generic over the core context (config, engine…) so this leaf file imports nothing.
 */

/** A typed name for a service. Declare each once, beside the interface it stands for. */
export interface ServiceKey<T> {
  readonly name: string;
  /** Never set: carries T so `need(key)` returns it without a cast. */
  readonly type?: T;
}

export function serviceKey<T>(name: string): ServiceKey<T> {
  return { name };
}

type AnyKey = ServiceKey<unknown>;

export interface ModuleDeclaration {
  readonly name: string;
  /** Services this module registers with `provide` during its start. */
  readonly provides?: readonly AnyKey[];
  /** Services without which it cannot start: their providers start first. */
  readonly needs?: readonly AnyKey[];
  /** Services it uses at start when some module provides them: that module starts first. */
  readonly optional?: readonly AnyKey[];
  /** Services it reads only after every module started (`later(key)()`): no order constraint. */
  readonly later?: readonly AnyKey[];
  /** Services it wraps (`decorate`): after their provider, before every other reader. */
  readonly decorates?: readonly AnyKey[];
  /** Modules (by name) that must start before this one when present, and why (ordering of hooks). */
  readonly after?: readonly { module: string; why: string }[];
}

/** Typed access to the services a module declared; anything undeclared throws ModuleGraphError. */
export interface ServiceAccess {
  need<T>(key: ServiceKey<T>): T;
  optional<T>(key: ServiceKey<T>): T | undefined;
  /** A reader for a `later` service: undefined until every module started, or when nobody provides it. */
  later<T>(key: ServiceKey<T>): () => T | undefined;
  provide<T>(key: ServiceKey<T>, value: T): void;
  decorate<T>(key: ServiceKey<T>, wrap: (current: T) => T): void;
}

export class ModuleGraphError extends Error {
  override readonly name = 'ModuleGraphError';
}

/**
 * The start order of `modules`: topological over the declarations, stable (ties keep the listed
 * order). Throws ModuleGraphError on a missing required service, two providers of one service,
 * an `after` naming no listed module's successor correctly, or a cycle (with its path).
 */
export function planStart<M extends ModuleDeclaration>(modules: readonly M[]): M[] {
  const providers = new Map<string, M>();
  for (const m of modules) {
    for (const key of m.provides ?? []) {
      const other = providers.get(key.name);
      if (other) throw new ModuleGraphError(`modules '${other.name}' and '${m.name}' both provide the service '${key.name}'`);
      providers.set(key.name, m);
    }
  }
  const missing = missingNeeds(modules, providers);
  if (missing) throw new ModuleGraphError(missing);

  const before = new Map<M, Set<M>>(modules.map((m) => [m, new Set<M>()]));
  const edge = (first: M | undefined, then: M) => {
    if (first && first !== then) before.get(then)!.add(first);
  };
  for (const m of modules) {
    for (const key of [...(m.needs ?? []), ...(m.optional ?? []), ...(m.decorates ?? [])]) edge(providers.get(key.name), m);
    for (const { module } of m.after ?? []) edge(modules.find((o) => o.name === module), m);
  }
  // A decorator wraps the service before anyone else reads it at start.
  for (const decorator of modules) {
    for (const key of decorator.decorates ?? []) {
      for (const reader of modules) {
        if (reader === decorator || reader.decorates?.some((k) => k.name === key.name)) continue;
        if ([...(reader.needs ?? []), ...(reader.optional ?? [])].some((k) => k.name === key.name)) edge(decorator, reader);
      }
    }
  }
  return topological(modules, before);
}

function missingNeeds<M extends ModuleDeclaration>(modules: readonly M[], providers: Map<string, M>): string | undefined {
  for (const m of modules) {
    for (const key of [...(m.needs ?? []), ...(m.decorates ?? [])]) {
      if (providers.has(key.name)) continue;
      return `module '${m.name}' needs the service '${key.name}', which no listed module provides (${modules.map((o) => o.name).join(', ') || 'none'}); add the module that provides '${key.name}'`;
    }
  }
  return undefined;
}

/** Kahn's algorithm, always taking the first ready module in listed order. */
function topological<M extends ModuleDeclaration>(modules: readonly M[], before: Map<M, Set<M>>): M[] {
  const order: M[] = [];
  const done = new Set<M>();
  while (order.length < modules.length) {
    const next = modules.find((m) => !done.has(m) && [...before.get(m)!].every((b) => done.has(b)));
    if (!next) throw new ModuleGraphError(`modules depend on each other in a cycle: ${describeCycle(modules.filter((m) => !done.has(m)), before)}`);
    order.push(next);
    done.add(next);
  }
  return order;
}

/** One cycle among the modules left, as "a → b → a" (each starts after the next). */
function describeCycle<M extends ModuleDeclaration>(left: M[], before: Map<M, Set<M>>): string {
  const path: M[] = [];
  let at = left[0]!;
  while (!path.includes(at)) {
    path.push(at);
    at = [...before.get(at)!].find((b) => left.includes(b))!;
  }
  return [...path.slice(path.indexOf(at)), at].map((m) => m.name).join(' → ');
}

/**
 * The services of one running Herald. `accessFor(module)` hands a module what it declared;
 * `allStarted()` opens the `later` readers.
 */
export class ServiceRegistry {
  private readonly values = new Map<string, unknown>();
  private started = false;

  accessFor(module: ModuleDeclaration): ServiceAccess {
    const declared = (list: readonly AnyKey[] | undefined, key: AnyKey, how: string) => {
      if (!list?.some((k) => k.name === key.name)) {
        throw new ModuleGraphError(`module '${module.name}' reads the service '${key.name}' without declaring it in '${how}'`);
      }
    };
    return {
      need: <T>(key: ServiceKey<T>) => {
        declared(module.needs, key, 'needs');
        if (!this.values.has(key.name)) throw new ModuleGraphError(`module '${module.name}' needs the service '${key.name}', which its provider did not register at start`);
        return this.values.get(key.name) as T;
      },
      optional: <T>(key: ServiceKey<T>) => {
        declared(module.optional, key, 'optional');
        return this.values.get(key.name) as T | undefined;
      },
      later: <T>(key: ServiceKey<T>) => {
        declared(module.later, key, 'later');
        return () => (this.started ? (this.values.get(key.name) as T | undefined) : undefined);
      },
      provide: <T>(key: ServiceKey<T>, value: T) => {
        if (!module.provides?.some((k) => k.name === key.name)) {
          throw new ModuleGraphError(`module '${module.name}' provides the service '${key.name}' without declaring it in 'provides'`);
        }
        this.values.set(key.name, value);
      },
      decorate: <T>(key: ServiceKey<T>, wrap: (current: T) => T) => {
        declared(module.decorates, key, 'decorates');
        this.values.set(key.name, wrap(this.values.get(key.name) as T));
      },
    };
  }

  /** Called once every module has started: `later` readers answer from now on. */
  allStarted(): void {
    this.started = true;
  }

  /** For the composition root and tests: any service by key (undefined when absent). */
  get<T>(key: ServiceKey<T>): T | undefined {
    return this.values.get(key.name) as T | undefined;
  }
}
