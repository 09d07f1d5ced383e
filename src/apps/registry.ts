/** Where the engine and the HTTP API look apps up. Backed by config, or by the app store. */
import type { App } from './app.js';

export interface AppRegistry {
  byId(id: string): App | undefined;
  byKey(key: string): App | undefined;
  list(): App[];
  /** Called with the new app (or undefined when deleted) whenever an app changes. */
  onChange(listener: (id: string, app: App | undefined) => void): () => void;
}

/** An in-memory registry: apps from configuration, mutable for tests and the app store's cache. */
export class MemoryAppRegistry implements AppRegistry {
  private readonly ids = new Map<string, App>();
  private readonly keys = new Map<string, App>();
  private readonly listeners = new Set<(id: string, app: App | undefined) => void>();

  constructor(apps: Iterable<App> = []) {
    for (const app of apps) this.put(app);
  }

  byId(id: string): App | undefined {
    return this.ids.get(id);
  }

  byKey(key: string): App | undefined {
    return this.keys.get(key);
  }

  list(): App[] {
    return [...this.ids.values()];
  }

  put(app: App): void {
    const previous = this.ids.get(app.id);
    if (previous) for (const c of previous.credentials) this.keys.delete(c.key);
    this.ids.set(app.id, app);
    for (const c of app.credentials) this.keys.set(c.key, app);
    for (const l of this.listeners) l(app.id, app);
  }

  remove(id: string): void {
    const previous = this.ids.get(id);
    if (!previous) return;
    this.ids.delete(id);
    for (const c of previous.credentials) this.keys.delete(c.key);
    for (const l of this.listeners) l(id, undefined);
  }

  onChange(listener: (id: string, app: App | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
