/** Everything the engine holds for one app on this node. */
import type { App } from '../apps/app.js';
import type { Connection } from './connection.js';
import type { CountThrottle } from './count-throttle.js';
import { Hub } from './hub.js';

export class AppState {
  readonly connections = new Map<string, Connection>();
  /** Local subscriptions and signed-in users (the only writer of those maps). */
  readonly hub = new Hub();
  /** Newest watchlist status revision applied per watched user. */
  readonly statusRevisions = new Map<string, number>();
  /**
   * The `subscriptionCount` observer of counts this node changed, per channel; idle entries are
   * pruned by the engine's sweep, so only channels changed in the last window are kept.
   */
  readonly countObservers = new Map<string, CountThrottle>();

  constructor(public app: App) {}

  get channels() {
    return this.hub.channels;
  }

  get users() {
    return this.hub.users;
  }

  get watchers() {
    return this.hub.watchers;
  }
}
