/**
 * pusher_internal:subscription_count as pusher-js sees it, when the app enables
 * subscriptionCountEvents. The exact frame, presence channels and the default (off) are
 * unit-tested in subscription-count-unit.test.ts, the 5 s window in count-throttle.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { PusherJs } from '../helpers/pusher-js.js';
import { nextEvent } from '../helpers/wait.js';

let h: TestHerald;
const counting = { id: 'counting-app', key: 'counting-key', secret: 'counting-secret', subscriptionCountEvents: true };

before(async () => {
  h = await startTestHerald({ apps: [counting] });
});
after(() => h.stop());

function clientOf(key: string, extra: Record<string, unknown> = {}): PusherJs {
  return new PusherJs(key, { cluster: 'local', wsHost: '127.0.0.1', wsPort: h.port, forceTLS: false, enabledTransports: ['ws'], ...extra });
}

test('pusher-js sees the count on subscribe and unsubscribe, and stores it on the channel', async () => {
  const first = clientOf(counting.key);
  const channelA = first.subscribe('counted');
  assert.deepEqual(await nextEvent(channelA, 'pusher:subscription_count'), { subscription_count: 1 });

  const second = clientOf(counting.key);
  const toFirst = nextEvent(channelA, 'pusher:subscription_count');
  const channelB = second.subscribe('counted');
  assert.deepEqual(await nextEvent(channelB, 'pusher:subscription_count'), { subscription_count: 2 });
  assert.deepEqual(await toFirst, { subscription_count: 2 });
  assert.equal((channelA as unknown as { subscriptionCount: number }).subscriptionCount, 2);

  const afterLeave = nextEvent(channelA, 'pusher:subscription_count');
  second.unsubscribe('counted');
  assert.deepEqual(await afterLeave, { subscription_count: 1 });

  const afterDisconnect = nextEvent(channelA, 'pusher:subscription_count');
  const third = clientOf(counting.key);
  third.subscribe('counted');
  assert.deepEqual(await afterDisconnect, { subscription_count: 2 });
  const dropped = nextEvent(channelA, 'pusher:subscription_count');
  third.disconnect();
  assert.deepEqual(await dropped, { subscription_count: 1 }, 'a closed socket counts as leaving');
  first.disconnect();
  second.disconnect();
});

