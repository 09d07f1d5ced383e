/** Configuration: the seed's 11 parameters, both input forms, and clear errors at construction. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelsClient, HeraldConfigurationError } from '../../src/sdk/index.js';

const BASE = { appId: '123', key: 'thekey', secret: 'thesecret' };

function rejects(config: unknown, parameter: string, message?: RegExp) {
  assert.throws(
    () => new ChannelsClient(config as never),
    (error: unknown) => {
      assert.ok(error instanceof HeraldConfigurationError, `expected HeraldConfigurationError, got ${String(error)}`);
      assert.equal(error.parameter, parameter);
      assert.equal(error.code, 'invalid_configuration');
      if (message) assert.match(error.message, message);
      return true;
    },
  );
}

test('cluster builds the hosted address; host/port/useTLS point it elsewhere', () => {
  assert.equal(new ChannelsClient({ ...BASE, cluster: 'eu' }).baseUrl, 'http://api-eu.pusher.com');
  assert.equal(new ChannelsClient({ ...BASE, cluster: 'us2', useTLS: true }).baseUrl, 'https://api-us2.pusher.com');
  assert.equal(new ChannelsClient({ ...BASE, cluster: 'eu', host: 'herald.internal', port: 6001 }).baseUrl, 'http://herald.internal:6001');
  assert.equal(new ChannelsClient({ ...BASE, host: '127.0.0.1', port: 0 }).baseUrl, 'http://127.0.0.1');
  assert.equal(new ChannelsClient({ ...BASE, host: '[::1]', port: 8443, useTLS: true }).baseUrl, 'https://[::1]:8443');
  assert.equal(new ChannelsClient({ ...BASE, appId: 42, host: 'h' }).appId, '42');
});

test("the seed's {provider, configuration} form is accepted, with string-typed booleans and numbers", () => {
  const client = new ChannelsClient({
    provider: 'Pusher',
    configuration: [
      { name: 'appId', value: '123' },
      { name: 'key', value: 'thekey' },
      { name: 'secret', value: 'thesecret' },
      { name: 'cluster', value: 'eu' },
      { name: 'useTLS', value: 'true' },
      { name: 'host', value: 'herald.example.com' },
      { name: 'port', value: '6001' },
      { name: 'encryptionMasterKeyBase64', value: '' },
      { name: 'proxy', value: '' },
      { name: 'timeout', value: 0 },
      { name: 'keepAlive', value: true },
    ],
  });
  assert.equal(client.baseUrl, 'https://herald.example.com:6001');
  assert.equal(client.appId, '123');
});

test('provider form errors', () => {
  rejects({ provider: 'Ably', configuration: [] }, 'provider');
  rejects({ provider: 'Pusher', configuration: 'x' }, 'configuration');
  rejects({ provider: 'Pusher', configuration: [{ name: 'key', value: 'a' }, { name: 'key', value: 'b' }] }, 'key', /more than once/);
  rejects({ provider: 'Pusher', configuration: [{ value: 'a' }] }, 'configuration[0]');
});

test('invalid configuration throws a clear error naming the parameter', () => {
  rejects({ ...BASE }, 'cluster', /required/);
  rejects({ key: 'k', secret: 's', cluster: 'eu' }, 'appId', /required/);
  rejects({ ...BASE, appId: 'a/b', cluster: 'eu' }, 'appId');
  rejects({ ...BASE, key: '', cluster: 'eu' }, 'key');
  rejects({ ...BASE, key: 'a:b', cluster: 'eu' }, 'key');
  rejects({ ...BASE, secret: undefined, cluster: 'eu' }, 'secret', /required/);
  rejects({ ...BASE, cluster: 'eu.evil.com/' }, 'cluster');
  rejects({ ...BASE, host: 'http://herald.local' }, 'host', /bare host name/);
  rejects({ ...BASE, host: 'herald.local:6001' }, 'host', /port/);
  rejects({ ...BASE, host: 'h', port: 70000 }, 'port');
  rejects({ ...BASE, host: 'h', port: 1.5 }, 'port');
  rejects({ ...BASE, host: 'h', useTLS: 'yes' }, 'useTLS');
  rejects({ ...BASE, host: 'h', timeout: -1 }, 'timeout');
  rejects({ ...BASE, host: 'h', keepAlive: 1 }, 'keepAlive');
  rejects({ ...BASE, host: 'h', proxy: 'not a url' }, 'proxy');
  rejects({ ...BASE, host: 'h', proxy: 'ftp://proxy:21' }, 'proxy');
  rejects({ ...BASE, host: 'h', encryptionMasterKeyBase64: 'your-encryptionMasterKeyBase64' }, 'encryptionMasterKeyBase64', /base64/);
  rejects({ ...BASE, host: 'h', encryptionMasterKeyBase64: 'AAAA' }, 'encryptionMasterKeyBase64', /32 bytes, but it decodes to 3/);
  rejects({ ...BASE, host: 'h', agent: {} }, 'agent', /Node-only/);
  rejects({ ...BASE, host: 'h', encrypted: true }, 'encrypted', /useTLS/);
  rejects({ ...BASE, host: 'h', clusterr: 'eu' }, 'clusterr', /not a known parameter/);
  rejects(null, 'config');
});

test('error messages never contain the secret or the master key', () => {
  const secret = 'super-secret-value';
  const masterKey = 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB'; // 30 bytes
  try {
    new ChannelsClient({ ...BASE, secret, host: 'h', encryptionMasterKeyBase64: masterKey });
    assert.fail('should throw');
  } catch (error) {
    assert.ok(error instanceof HeraldConfigurationError);
    assert.ok(!error.message.includes(secret) && !error.message.includes(masterKey), error.message);
  }
});
