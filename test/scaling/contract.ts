/**
 * The cluster-state contract: what every backend (memory, Redis, NATS; IPC when it comes) must do
 * behind Membership, UserPresence, ChannelCache and ClusterNode, checked through the interfaces
 * only. contract-memory.test.ts runs it in every `npm test`; contract-redis / contract-nats run it
 * where those services are reachable and skip with a clear message otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChannelCache, ClusterChanges, ClusterNode, JoinResult, Membership, UserPresence } from '../../src/scaling/cluster-state.js';
import { uniqueId } from './support.js';

export interface ContractBackend {
  membership: Membership;
  users: UserPresence;
  cache: ChannelCache;
  node: ClusterNode;
  /** Releases connections (after node.stop() was called by the suite or not). */
  close(): Promise<void>;
}

/** Makes a started backend, or returns why it cannot run here (the suite then skips). */
export type BackendFactory = () => Promise<ContractBackend | string>;

/**
 * Networked backends: two nodes on one namespace, `dead` never heartbeating (a clock that does
 * not move) and `survivor` with a short node timeout.
 */
export type PairFactory = () => Promise<{ dead: ContractBackend; survivor: ContractBackend } | string>;

type Ok = Extract<JoinResult, { ok: true }>;

function joined(result: JoinResult): Ok {
  assert.equal(result.ok, true, `join refused: ${JSON.stringify(result)}`);
  return result as Ok;
}

export function clusterContract(label: string, factory: BackendFactory, pair?: PairFactory): void {
  let backend: ContractBackend | undefined;
  let skip: string | undefined;
  const reaped: Array<{ appId: string; changes: ClusterChanges }> = [];

  before(async () => {
    const made = await factory();
    if (typeof made === 'string') {
      skip = made;
      return;
    }
    backend = made;
    backend.node.onReaped((appId, changes) => reaped.push({ appId, changes }));
  });
  after(async () => {
    await backend?.close();
  });

  /** Each test gets its own app id, so tests never see each other's state. */
  const contract = (name: string, body: (b: ContractBackend, appId: string) => Promise<void>) =>
    test(`${label} contract: ${name}`, async (t) => {
      if (!backend) return t.skip(skip ?? 'backend not started');
      await body(backend, uniqueId('app'));
    });

  contract('the first join occupies a channel, the last leave vacates it; counts are cluster-wide', async ({ membership }, appId) => {
    const a = joined(await membership.join({ appId, channel: 'news', maxMembers: 100 }));
    assert.equal(a.occupied, true);
    assert.equal(a.subscriptionCount, 1);
    const b = joined(await membership.join({ appId, channel: 'news', maxMembers: 100 }));
    assert.equal(b.occupied, false);
    assert.equal(b.subscriptionCount, 2);
    assert.ok(b.revision > a.revision, 'revisions increase');
    assert.equal(await membership.subscriptionCount(appId, 'news'), 2);
    const left = await membership.leave(appId, 'news', a.token);
    assert.deepEqual([left.ok, left.vacated, left.subscriptionCount], [true, false, 1]);
    const last = await membership.leave(appId, 'news', b.token);
    assert.deepEqual([last.ok, last.vacated, last.subscriptionCount], [true, true, 0]);
    assert.ok(last.revision > left.revision);
    assert.equal(await membership.subscriptionCount(appId, 'news'), 0);
  });

  contract('presence: a user counts once however many connections; removed with the last one', async ({ membership }, appId) => {
    const alice = { userId: 'alice', rawUserId: 'alice', userInfo: { name: 'A' } };
    const bob = { userId: '7', rawUserId: 7, userInfo: undefined };
    const first = joined(await membership.join({ appId, channel: 'presence-room', member: alice, maxMembers: 10 }));
    assert.equal(first.memberAdded, true);
    assert.deepEqual(first.roster, [alice]);
    const again = joined(await membership.join({ appId, channel: 'presence-room', member: alice, maxMembers: 10 }));
    assert.equal(again.memberAdded, false);
    const withBob = joined(await membership.join({ appId, channel: 'presence-room', member: bob, maxMembers: 10 }));
    assert.equal(withBob.memberAdded, true);
    assert.deepEqual(
      withBob.roster?.map((m) => [m.userId, m.rawUserId, m.userInfo ?? null]).sort(),
      [
        ['7', 7, null],
        ['alice', 'alice', { name: 'A' }],
      ],
      'the roster keeps raw user ids (numbers stay numbers) and user_info',
    );
    assert.equal(await membership.userCount(appId, 'presence-room'), 2);
    assert.equal(await membership.subscriptionCount(appId, 'presence-room'), 3);
    const one = await membership.leave(appId, 'presence-room', first.token, 'alice');
    assert.equal(one.memberRemoved, undefined, 'alice still has a connection');
    const gone = await membership.leave(appId, 'presence-room', again.token, 'alice');
    assert.deepEqual(gone.memberRemoved, { userId: 'alice', rawUserId: 'alice' });
    assert.deepEqual((await membership.members(appId, 'presence-room')).map((m) => m.userId), ['7']);
    const bobGone = await membership.leave(appId, 'presence-room', withBob.token, '7');
    assert.deepEqual(bobGone.memberRemoved, { userId: '7', rawUserId: 7 });
    assert.equal(bobGone.vacated, true);
  });

  contract('presence: a full channel refuses a new member, not another connection of a present one', async ({ membership }, appId) => {
    const member = (id: string) => ({ userId: id, rawUserId: id, userInfo: undefined });
    const a = joined(await membership.join({ appId, channel: 'presence-full', member: member('a'), maxMembers: 2 }));
    joined(await membership.join({ appId, channel: 'presence-full', member: member('b'), maxMembers: 2 }));
    assert.deepEqual(await membership.join({ appId, channel: 'presence-full', member: member('c'), maxMembers: 2 }), { ok: false, reason: 'full' });
    joined(await membership.join({ appId, channel: 'presence-full', member: member('a'), maxMembers: 2 }));
    assert.equal(await membership.subscriptionCount(appId, 'presence-full'), 3, 'the refused join counted nothing');
    await membership.leave(appId, 'presence-full', a.token, 'a');
  });

  contract('channel lists: occupied only, by prefix, never #server-to-user-, presence with user counts', async ({ membership }, appId) => {
    const joins: Array<[string, string | undefined]> = [
      ['news', undefined],
      ['news-sport', undefined],
      ['private-x', undefined],
      ['presence-lobby', 'u1'],
      ['#server-to-user-u1', undefined],
    ];
    const tokens: Array<[string, string, string | undefined]> = [];
    for (const [channel, user] of joins) {
      const member = user ? { userId: user, rawUserId: user, userInfo: undefined } : undefined;
      tokens.push([channel, joined(await membership.join({ appId, channel, member, maxMembers: 10 })).token, user]);
    }
    const byName = (list: Array<{ name: string }>) => [...list].sort((x, y) => x.name.localeCompare(y.name));
    assert.deepEqual(byName(await membership.channels(appId)), [
      { name: 'news', subscriptionCount: 1 },
      { name: 'news-sport', subscriptionCount: 1 },
      { name: 'presence-lobby', subscriptionCount: 1, userCount: 1 },
      { name: 'private-x', subscriptionCount: 1 },
    ]);
    assert.deepEqual((await membership.channels(appId, 'news')).map((c) => c.name).sort(), ['news', 'news-sport']);
    const [, newsToken] = tokens[0]!;
    await membership.leave(appId, 'news', newsToken);
    assert.deepEqual((await membership.channels(appId, 'news')).map((c) => c.name), ['news-sport'], 'a vacated channel is not listed');
    for (const [channel, token, user] of tokens.slice(1)) await membership.leave(appId, channel, token, user);
    assert.deepEqual(await membership.channels(appId), []);
  });

  contract('user presence: online with the first connection, offline with the last; watchlist snapshot', async ({ users }, appId) => {
    const first = await users.userOnline(appId, 'ann', ['ann', 'ben', 'cid']);
    assert.equal(first.ok, true);
    assert.equal(first.cameOnline, true);
    assert.deepEqual(first.online, ['ann']);
    const ben = await users.userOnline(appId, 'ben', ['ann', 'zed']);
    assert.deepEqual(ben.online, ['ann']);
    assert.ok(ben.revision > first.revision);
    const second = await users.userOnline(appId, 'ann', []);
    assert.equal(second.cameOnline, false);
    const notLast = await users.userOffline(appId, 'ann', first.token);
    assert.deepEqual([notLast.ok, notLast.wentOffline], [true, false]);
    const last = await users.userOffline(appId, 'ann', second.token);
    assert.deepEqual([last.ok, last.wentOffline], [true, true]);
    assert.ok(last.revision > ben.revision);
    assert.deepEqual((await users.userOnline(appId, 'cid', ['ann', 'ben'])).online, ['ben']);
    await users.userOffline(appId, 'ben', ben.token);
  });

  contract('cache channels: the last event, with the seconds it has left', async ({ cache }, appId) => {
    assert.equal(await cache.getCache(appId, 'cache-x'), undefined);
    await cache.setCache(appId, 'cache-x', 'first', '1', 30);
    await cache.setCache(appId, 'cache-x', 'second', '{"n":2}', 30);
    const got = await cache.getCache(appId, 'cache-x');
    assert.equal(got?.event, 'second');
    assert.equal(got?.data, '{"n":2}');
    assert.ok(got!.ttl > 0 && got!.ttl <= 30, `ttl ${got?.ttl}`);
    assert.equal(await cache.getCache(appId, 'cache-y'), undefined);
  });

  contract('revisions order member changes after the roster a join returned', async ({ membership }, appId) => {
    const member = (id: string) => ({ userId: id, rawUserId: id, userInfo: undefined });
    const a = joined(await membership.join({ appId, channel: 'presence-order', member: member('a'), maxMembers: 10 }));
    const b = joined(await membership.join({ appId, channel: 'presence-order', member: member('b'), maxMembers: 10 }));
    assert.ok(b.revision > a.revision, 'b joined after a roster that did not include b');
    const left = await membership.leave(appId, 'presence-order', a.token, 'a');
    assert.ok(left.revision > b.revision, 'a leaving is newer than b\'s roster (which still had a)');
    await membership.leave(appId, 'presence-order', b.token, 'b');
  });

  if (pair) {
    test(`${label} contract: a node that stops heartbeating is reaped once; the survivor reports its contributions`, async (t) => {
      const made = await pair();
      if (typeof made === 'string') return t.skip(made);
      const { dead, survivor } = made;
      try {
        const seen: Array<{ appId: string; changes: ClusterChanges }> = [];
        survivor.node.onReaped((appId, changes) => seen.push({ appId, changes }));
        const appId = uniqueId('app');
        joined(await dead.membership.join({ appId, channel: 'presence-reap', member: { userId: 'ghost', rawUserId: 'ghost', userInfo: undefined }, maxMembers: 10 }));
        joined(await dead.membership.join({ appId, channel: 'reap-news', maxMembers: 10 }));
        await dead.users.userOnline(appId, 'ghost', []);
        const alive = joined(await survivor.membership.join({ appId, channel: 'reap-news', maxMembers: 10 }));
        const deadline = Date.now() + 15_000;
        while (!seen.some((r) => r.appId === appId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const mine = seen.filter((r) => r.appId === appId);
        assert.equal(mine.length, 1, 'the survivor reaped the dead node once');
        const changes = mine[0]!.changes;
        assert.deepEqual(changes.members.map((m) => [m.channel, m.userId]), [['presence-reap', 'ghost']]);
        assert.deepEqual(changes.channels.map((c) => [c.channel, c.subscriptionCount]).sort(), [
          ['presence-reap', 0],
          ['reap-news', 1],
        ]);
        assert.deepEqual(changes.usersOffline.map((u) => u.userId), ['ghost']);
        assert.equal(await survivor.membership.subscriptionCount(appId, 'reap-news'), 1);
        assert.deepEqual(await survivor.membership.members(appId, 'presence-reap'), []);
        await survivor.membership.leave(appId, 'reap-news', alive.token);
      } finally {
        await survivor.close();
        await dead.close();
      }
    });
  }

  // Last: stopping ends the backend for the tests above.
  test(`${label} contract: stop() removes this node's contributions at once and reports them once`, async (t) => {
    if (!backend) return t.skip(skip ?? 'backend not started');
    const { membership, users, node } = backend;
    const appId = uniqueId('app');
    joined(await membership.join({ appId, channel: 'presence-stop', member: { userId: 'u', rawUserId: 'u', userInfo: undefined }, maxMembers: 10 }));
    joined(await membership.join({ appId, channel: 'stop-news', maxMembers: 10 }));
    await users.userOnline(appId, 'u', []);
    reaped.length = 0;
    await node.stop();
    const mine = reaped.filter((r) => r.appId === appId);
    assert.equal(mine.length, 1, 'reported once for the app');
    const changes = mine[0]!.changes;
    assert.deepEqual(changes.members.map((m) => [m.channel, m.userId]), [['presence-stop', 'u']]);
    assert.deepEqual(changes.channels.map((c) => [c.channel, c.subscriptionCount]).sort(), [
      ['presence-stop', 0],
      ['stop-news', 0],
    ]);
    assert.deepEqual(changes.usersOffline.map((u) => u.userId), ['u']);
    assert.deepEqual(await membership.join({ appId, channel: 'stop-news', maxMembers: 10 }), { ok: false, reason: 'stopped' });
  });
}
