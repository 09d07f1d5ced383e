/** The seed's parameter names and limits are checked before anything is sent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelsClient, HeraldConfigurationError, HeraldValidationError } from '../../src/sdk/index.js';

let sent = 0;
const client = new ChannelsClient(
  { appId: '1', key: 'k', secret: 's', host: '127.0.0.1' },
  { fetch: async () => { sent++; return { status: 200, text: async () => '{}' }; } },
);

async function invalid(call: () => Promise<unknown>, parameter: string, message?: RegExp) {
  const before = sent;
  await assert.rejects(call(), (error: unknown) => {
    assert.ok(error instanceof HeraldValidationError, `expected HeraldValidationError, got ${String(error)}`);
    assert.equal(error.parameter, parameter, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
  assert.equal(sent, before, 'nothing may be sent');
}

test('triggerEvent limits', async () => {
  await invalid(() => client.triggerEvent({ channel: 'a'.repeat(201), event: 'e', data: {} }), 'channel', /200/);
  await invalid(() => client.triggerEvent({ channel: 'bad channel', event: 'e', data: {} }), 'channel');
  await invalid(() => client.triggerEvent({ channel: '#server-to-user-1', event: 'e', data: {} }), 'channel');
  await invalid(() => client.triggerEvent({ channel: 'c', event: 'e'.repeat(201), data: {} }), 'event', /200/);
  await invalid(() => client.triggerEvent({ channel: 'c', event: '', data: {} }), 'event');
  await invalid(() => client.triggerEvent({ channel: 'c', event: 'pusher:x', data: {} }), 'event', /reserved/);
  await invalid(() => client.triggerEvent({ channel: 'c', event: 'e', data: undefined }), 'data', /required/);
  await invalid(() => client.triggerEvent({ channel: 'c', event: 'e', data: { n: 1n } }), 'data', /JSON/);
  await invalid(() => client.triggerEvent({ channel: 'c', event: 'e', data: {}, socketId: 'abc' }), 'socketId');
  await invalid(() => client.triggerEvent({ channel: 'c', event: 'e', data: {}, info: 'member_count' }), 'info', /unknown attribute/);
  await invalid(() => client.triggerEvent({ channel: 'c', event: 'e', data: {}, info: 'user_count,user_count' }), 'info', /twice/);
  await invalid(() => client.triggerEvent(undefined as never), 'params');
  assert.deepEqual(await client.triggerEvent({ channel: 'c', event: 'e', data: {}, info: 'user_count,subscription_count' }), {});
});

test('triggerMultipleChannels: 1–100 channels, no encrypted channel among several', async () => {
  await invalid(() => client.triggerMultipleChannels({ channels: [], event: 'e', data: 1 }), 'channels');
  await invalid(() => client.triggerMultipleChannels({ channels: Array.from({ length: 101 }, (_, i) => `c${i}`), event: 'e', data: 1 }), 'channels', /100/);
  await invalid(() => client.triggerMultipleChannels({ channels: ['ok', 'not ok'], event: 'e', data: 1 }), 'channels[1]');
  await invalid(() => client.triggerMultipleChannels({ channels: ['a', 'private-encrypted-b'], event: 'e', data: 1 }), 'channels', /alone/);
  await client.triggerMultipleChannels({ channels: Array.from({ length: 100 }, (_, i) => `c${i}`), event: 'e', data: 1 });
});

test('triggerBatch: 1–10 events, each checked, aliases must agree', async () => {
  await invalid(() => client.triggerBatch({ events: [] }), 'events');
  await invalid(() => client.triggerBatch({ events: Array(11).fill({ channel: 'c', event: 'e', data: 1 }) }), 'events', /10/);
  await invalid(() => client.triggerBatch({ events: [{ channel: 'c', event: 'e', data: 1 }, { channel: 'c', data: 1 }] }), 'events[1].event');
  await invalid(() => client.triggerBatch({ events: [{ channel: 'c', event: 'a', name: 'b', data: 1 }] }), 'events[0].event', /different/);
  await invalid(() => client.triggerBatch({ events: [{ channel: 'c', event: 'e', data: 1, socket_id: 'x' }] }), 'events[0].socketId');
  await assert.rejects(client.triggerBatch({ events: [{ channel: 'private-encrypted-c', event: 'e', data: 1 }] }), HeraldConfigurationError);
  await client.triggerBatch({ events: Array(10).fill({ channel: 'c', name: 'e', data: 1 }) });
});

test('sendToUser, terminateUserConnections: user ids', async () => {
  await invalid(() => client.sendToUser({ userId: '', event: 'e', data: 1 }), 'userId');
  await invalid(() => client.sendToUser({ userId: 'u', event: 'e'.repeat(201), data: 1 }), 'event');
  await invalid(() => client.terminateUserConnections({ userId: 42 as never }), 'userId');
  await invalid(() => client.terminateUserConnections({ userId: 'a\nb' }), 'userId', /control/);
});

test('channel queries', async () => {
  await invalid(() => client.listChannels({ info: 'user_count' }), 'info', /presence-/);
  await invalid(() => client.listChannels({ filterByPrefix: 'private-', info: 'user_count' }), 'info');
  await invalid(() => client.listChannels({ filterByPrefix: 'presence-', info: 'subscription_count' }), 'info');
  await invalid(() => client.listChannels({ filterByPrefix: 'a b' }), 'filterByPrefix');
  await invalid(() => client.getChannel({ channelName: 'public', info: 'user_count' }), 'info', /presence/);
  await invalid(() => client.getChannel({ channelName: 'public', info: 'cache' }), 'info', /cache/);
  await invalid(() => client.getChannel({ channelName: '' }), 'channelName');
  await invalid(() => client.getChannelUsers({ channelName: 'private-x' }), 'channelName', /presence/);
  await client.getChannel({ channelName: 'presence-cache-x', info: 'user_count,subscription_count,cache' });
  await client.listChannels();
});

test('authorizeChannel / authenticateUser', async () => {
  await invalid(() => client.authorizeChannel({ socketId: '1.2', channel: 'public' }), 'channel', /authorization/);
  await invalid(() => client.authorizeChannel({ socketId: '1', channel: 'private-a' }), 'socketId');
  await invalid(() => client.authorizeChannel({ socketId: '1.2', channel: 'presence-a', channelData: 'u1' as never }), 'channelData');
  await invalid(() => client.authorizeChannel({ socketId: '1.2', channel: 'presence-a', channelData: { user_id: '' } }), 'channelData.user_id');
  await invalid(() => client.authorizeChannel({ socketId: '1.2', channel: 'private-a', channelData: { user_id: 'u' } }), 'channelData', /presence/);
  await assert.rejects(client.authorizeChannel({ socketId: '1.2', channel: 'private-encrypted-a' }), HeraldConfigurationError);
  await invalid(() => client.authenticateUser({ socketId: '1.2', userData: {} as never }), 'userData.id');
  await invalid(() => client.authenticateUser({ socketId: '1.2', userData: { id: 'u', email: 5 as never } }), 'userData.email');
  await invalid(() => client.authenticateUser({ socketId: '1.2', userData: { id: 'u', watchlist: Array(101).fill('x') } }), 'userData.watchlist');
  const ok = await client.authenticateUser({ socketId: '1.2', userData: { id: 'u', name: 'N', email: 'e@x', avatar: 'https://a/b.png' } });
  assert.equal(ok.user_data, '{"id":"u","name":"N","email":"e@x","avatar":"https://a/b.png"}');
});

test('utilities: paths, methods, params', async () => {
  await invalid(() => client.customGet({ path: 'channels' }), 'path', /start with/);
  await invalid(() => client.customGet({ path: '/channels?x=1' }), 'path');
  await invalid(() => client.customGet({ path: '/channels', params: { auth_key: 'x' } }), 'params.auth_key', /cannot be overridden/);
  await invalid(() => client.customGet({ path: '/channels', params: { Info: 'x' } }), 'params.Info');
  await invalid(() => client.customGet({ path: '/channels', params: { x: {} as never } }), 'params.x');
  await invalid(() => client.customPost({ path: '/x', body: { n: 1n } }), 'body');
  await invalid(() => client.createSignedQueryString({ method: 'GE T', path: '/apps/1/x' }), 'method');
  await invalid(() => client.createSignedQueryString({ method: 'POST', path: '/apps/1/x', body: {} as never }), 'body');
  assert.match(await client.createSignedQueryString({ method: 'POST', path: '/apps/1/x', params: { list: ['a', 'b'] } }), /&list=a,b&/);
});
