/**
 * The local subscription invariant of one app on this node, in one place: a channel's
 * subscribers, each connection's subscriptions, and signed-in users with their watchlists.
 * Nothing else mutates these maps. Adding and removing answer "first" / "last" on this node,
 * which is when the engine subscribes to or unsubscribes from the channel on the broker
 * (cluster-wide first/last — occupied, vacated, member added/removed — is the Membership's).
 *
 * A subscription is reserved when the client asks (so a second subscribe is refused and an
 * unsubscribe finds it even while the join is in flight), then joined once the membership
 * counted it. A channel stays while it has subscribers or reservations.
 */
import { channelType } from '../protocol/names.js';
import { Channel, type Connection, type SignedInUser, type Subscription } from './connection.js';

export class Hub {
  private readonly channelMap = new Map<string, Channel>();
  private readonly userMap = new Map<string, Set<Connection>>();
  private readonly watcherMap = new Map<string, Set<string>>();

  /** Channels with local subscribers or subscriptions in flight. */
  get channels(): ReadonlyMap<string, Channel> {
    return this.channelMap;
  }

  /** Signed-in connections by user id. */
  get users(): ReadonlyMap<string, ReadonlySet<Connection>> {
    return this.userMap;
  }

  /** user id → ids of signed-in users whose watchlist contains it. */
  get watchers(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.watcherMap;
  }

  /** Reserves `conn`'s subscription to `name`; `first` when the channel is new on this node. */
  reserve(conn: Connection, name: string, userId: string | undefined): { subscription: Subscription; first: boolean } {
    let channel = this.channelMap.get(name);
    const first = !channel;
    if (!channel) this.channelMap.set(name, (channel = new Channel(name, channelType(name))));
    channel.pending++;
    const subscription: Subscription = { channel, userId, token: undefined, joined: false, cancelled: false, rosterRevision: 0 };
    conn.subscriptions.set(name, subscription);
    return { subscription, first };
  }

  /** The membership counted the join: the connection now receives the channel's events. */
  addSub(conn: Connection, subscription: Subscription): void {
    if (subscription.joined || subscription.cancelled) return;
    subscription.channel.pending--;
    subscription.joined = true;
    subscription.channel.subscribers.add(conn);
  }

  /**
   * Removes `conn`'s subscription to `name` (joined or still in flight). `last` when the channel
   * has neither subscribers nor reservations left on this node (it is then forgotten).
   */
  removeSub(conn: Connection, name: string): { subscription: Subscription; last: boolean } | undefined {
    const subscription = conn.subscriptions.get(name);
    if (!subscription) return undefined;
    conn.subscriptions.delete(name);
    const channel = subscription.channel;
    if (subscription.joined) channel.subscribers.delete(conn);
    else channel.pending--;
    subscription.joined = false;
    subscription.cancelled = true;
    const last = channel.subscribers.size === 0 && channel.pending === 0;
    if (last && this.channelMap.get(name) === channel) this.channelMap.delete(name);
    return { subscription, last };
  }

  /** Signs `conn` in as `user`; `first` when no other local connection is signed in as that user. */
  addUser(conn: Connection, user: SignedInUser): boolean {
    conn.user = user;
    let conns = this.userMap.get(user.id);
    const first = !conns;
    if (!conns) this.userMap.set(user.id, (conns = new Set()));
    conns.add(conn);
    for (const watched of user.watchlist) {
      let set = this.watcherMap.get(watched);
      if (!set) this.watcherMap.set(watched, (set = new Set()));
      set.add(user.id);
    }
    return first;
  }

  /** Removes `conn`'s identity; `last` when no local connection is signed in as that user any more. */
  removeUser(conn: Connection): { user: SignedInUser; last: boolean } | undefined {
    const user = conn.user;
    if (!user) return undefined;
    conn.user = undefined;
    const conns = this.userMap.get(user.id);
    if (!conns) return { user, last: true };
    conns.delete(conn);
    // Connections of one user may carry different watchlists: keep the ids another one still watches.
    const stillWatched = new Set<string>();
    for (const other of conns) for (const id of other.user?.watchlist ?? []) stillWatched.add(id);
    for (const watched of user.watchlist) {
      if (stillWatched.has(watched)) continue;
      const set = this.watcherMap.get(watched);
      if (!set) continue;
      set.delete(user.id);
      if (set.size === 0) this.watcherMap.delete(watched);
    }
    if (conns.size > 0) return { user, last: false };
    this.userMap.delete(user.id);
    return { user, last: true };
  }
}
