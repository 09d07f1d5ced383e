/** Service keys through which modules notice they run in a worker of a multi-worker node (provided by worker.ts), and its IPC ops. */
import { serviceKey } from '../platform/module-graph.js';
import type { IpcPeer } from '../platform/ipc.js';
import type { ObserverRelay } from '../channels/observer.js';

/** Present in a worker: its IPC peer to the primary. */
export const WORKER_SERVICE = serviceKey<IpcPeer>('worker');
/** Renders the node's /metrics (every worker's, summed); absent in a one-process node. */
export const METRICS_RENDER_SERVICE = serviceKey<() => Promise<string>>('metrics:render');
/** Present when the database service is another process's store: no data-directory lock or seeding here. */
export const REMOTE_STORE_SERVICE = serviceKey<true>('database:remote');
/** IPC notice: an app changed in the store (relayed by the hub to the other workers). */
export const APPS_CHANGED = 'apps.changed';
/** IPC: flush this worker's usage counters (asked by the hub). */
export const USAGE_FLUSH = 'usage.flush';
/** IPC: a worker asks the hub to have every other worker flush its usage counters. */
export const USAGE_FLUSH_ALL = 'usage.flushAll';
/** The node's other workers' engine events (an ObserverRelay, observer-relay.ts); absent in a one-process node. */
export const OBSERVER_RELAY_SERVICE = serviceKey<ObserverRelay>('workers:observer-relay');
/** IPC: a cache channel missed; the hub answers whether this is the node's first miss to report. */
export const CACHE_MISS_OP = 'cache.miss';
