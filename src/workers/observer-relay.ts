/**
 * Engine observer events of the node's other workers, for capabilities that show what happens on
 * the whole node (GraphQL subscriptions; the console's live feed could use it the same way).
 *
 * A worker that watches an app tells the hub; the hub tells every other worker that the app is
 * wanted; a worker observes its engine only while some app is wanted elsewhere, and forwards the
 * events of wanted apps, once each, through the hub to the workers that watch them. Nobody
 * watching: no observer is attached and the fan-out path does not see the relay at all.
 *
 * Each event is forwarded by the worker that decided it (a member added, a channel vacated, a
 * client event, a connection), which the cluster state makes exactly one; `published` is
 * forwarded only by the worker the event was published on (its IpcBroker echo), not by the
 * workers the hub relayed it to.
 */
import type { App } from '../apps/app.js';
import type { AppRegistry } from '../apps/registry.js';
import type { ChannelsEngine } from '../channels/engine.js';
import type { EngineObserver, ObserverEvent, ObserverRelay, RelayWatch } from '../channels/observer.js';
import type { IpcBroker } from './ipc-broker.js';
import type { IpcPeer } from '../platform/ipc.js';

/** worker → hub (request): this worker starts or stops watching an app. */
export const RELAY_WATCH_OP = 'relay.watch';
/** hub → worker (request): whether another worker watches an app. */
export const RELAY_WANTED_OP = 'relay.wanted';
/** Both ways (notice): one observer event of a watched app. */
export const RELAY_EVENT_OP = 'relay.event';

export interface RelayedEvent {
  appId: string;
  event: ObserverEvent;
  /** The observer call's arguments after the app (connectionRefused: all of them). */
  args: unknown[];
}

/** The events a watcher can be given (everything but per-socket subscribe/sign-in detail). */
const RELAYED: ObserverEvent[] = [
  'connectionOpened',
  'connectionClosed',
  'channelOccupied',
  'channelVacated',
  'memberAdded',
  'memberRemoved',
  'clientEvent',
  'cacheMiss',
  'subscriptionCount',
  'published',
];
const RELAYED_SET = new Set<string>([...RELAYED, 'connectionRefused']);

export class WorkerObserverRelay implements ObserverRelay {
  /** appId → this worker's watchers of it. */
  private readonly watchers = new Map<string, Set<EngineObserver>>();
  /** Apps another worker watches: their events here are forwarded. */
  private readonly wanted = new Set<string>();
  private unobserve: (() => void) | undefined;

  constructor(
    private readonly peer: IpcPeer,
    private readonly engine: ChannelsEngine,
    private readonly apps: AppRegistry,
    private readonly broker: IpcBroker,
  ) {
    peer.handle(RELAY_WANTED_OP, (args) => {
      const { appId, wanted } = args as { appId: string; wanted: boolean };
      if (wanted) this.wanted.add(appId);
      else this.wanted.delete(appId);
      this.observeWhileWanted();
    });
    peer.handle(RELAY_EVENT_OP, (args) => this.deliver(args as RelayedEvent));
  }

  get publishedElsewhere(): boolean {
    return this.broker.relaying;
  }

  watch(appId: string, observer: EngineObserver): RelayWatch {
    let set = this.watchers.get(appId);
    const first = !set;
    if (!set) this.watchers.set(appId, (set = new Set()));
    set.add(observer);
    const ready = first ? this.peer.request<void>(RELAY_WATCH_OP, { appId, watching: true }, 10_000).catch(() => undefined) : Promise.resolve();
    let stopped = false;
    return {
      ready,
      stop: () => {
        if (stopped) return;
        stopped = true;
        const current = this.watchers.get(appId);
        current?.delete(observer);
        if (current?.size === 0) {
          this.watchers.delete(appId);
          this.peer.request(RELAY_WATCH_OP, { appId, watching: false }, 10_000).catch(() => undefined);
        }
      },
    };
  }

  stop(): void {
    this.unobserve?.();
    this.unobserve = undefined;
    this.wanted.clear();
  }

  private observeWhileWanted(): void {
    if (this.wanted.size > 0 && !this.unobserve) this.unobserve = this.engine.observe(this.forwarder());
    else if (this.wanted.size === 0 && this.unobserve) {
      this.unobserve();
      this.unobserve = undefined;
    }
  }

  private forwarder(): EngineObserver {
    const forward = (event: ObserverEvent) => (app: App, ...args: unknown[]) => {
      if (this.wanted.has(app.id)) this.peer.notify(RELAY_EVENT_OP, { appId: app.id, event, args } satisfies RelayedEvent);
    };
    const observer: Record<string, unknown> = {};
    for (const event of RELAYED) observer[event] = forward(event);
    const published = observer.published as (app: App, ...args: unknown[]) => void;
    // Relayed here by the hub: the publishing worker forwards it.
    observer.published = (app: App, ...args: unknown[]) => this.broker.relaying || published(app, ...args);
    observer.connectionRefused = (appKey: string, code: number, reason: string) => {
      const app = this.apps.byKey(appKey);
      if (app && this.wanted.has(app.id)) this.peer.notify(RELAY_EVENT_OP, { appId: app.id, event: 'connectionRefused', args: [appKey, code, reason] } satisfies RelayedEvent);
    };
    return observer as EngineObserver;
  }

  /** An event another worker forwarded: to this worker's watchers of the app. */
  private deliver(message: RelayedEvent): void {
    if (!message || typeof message.appId !== 'string' || !RELAYED_SET.has(message.event) || !Array.isArray(message.args)) return;
    const watchers = this.watchers.get(message.appId);
    if (!watchers) return;
    const app = this.apps.byId(message.appId);
    if (!app) return;
    const args = message.event === 'connectionRefused' ? message.args : [app, ...message.args];
    for (const observer of watchers) {
      try {
        (observer[message.event] as ((...a: unknown[]) => void) | undefined)?.(...args);
      } catch {
        /* an observer that throws never breaks the relay */
      }
    }
  }
}
