/**
 * Child process for the Beams bench: runs the APNs / FCM / Web Push fakes from test/beams/fakes
 * (full verification, Web Push payloads decrypted) so their CPU is not charged to Herald.
 * Talks to the parent over IPC: see the Message types below.
 */
import { FakeApns } from '../../test/beams/fakes/apns.js';
import { FakeFcm } from '../../test/beams/fakes/fcm.js';
import { apnsCredentials, serviceAccount } from '../../test/beams/fakes/keys.js';
import { FakeWebPush } from '../../test/beams/fakes/web-push.js';

export type ToChild = { type: 'subscribe'; ids: string[] } | { type: 'vapid'; key: string } | { type: 'counts' } | { type: 'exit' };
export type FromChild =
  | {
      type: 'ready';
      apns: { url: string; keyId: string; teamId: string; topic: string; privateKeyPem: string };
      fcm: { url: string; account: Record<string, string> };
    }
  | { type: 'subscriptions'; tokens: string[] }
  | { type: 'counts'; apns: number; fcm: number; web: number; errors: string[] };

const send = (message: FromChild) => process.send!(message);

const creds = apnsCredentials();
const [apns, fcm, web] = await Promise.all([new FakeApns(creds).start(), new FakeFcm().start(), new FakeWebPush().start()]);
const { account, publicKey } = serviceAccount(fcm.tokenUri);
fcm.trust(account.project_id, account.client_email, publicKey);

process.on('message', (message: ToChild) => {
  switch (message.type) {
    case 'subscribe':
      send({ type: 'subscriptions', tokens: message.ids.map((id) => web.subscribe(id).token) });
      break;
    case 'vapid':
      web.vapidPublicKey = message.key;
      break;
    case 'counts':
      send({
        type: 'counts',
        apns: apns.received.length,
        fcm: fcm.received.length,
        web: web.received.length,
        errors: [...apns.errors, ...fcm.errors, ...web.errors].slice(0, 20),
      });
      // Keep memory flat across rounds.
      apns.received.length = 0;
      fcm.received.length = 0;
      web.received.length = 0;
      break;
    case 'exit':
      void Promise.all([apns.close(), fcm.close(), web.close()]).finally(() => process.exit(0));
      break;
  }
});

send({
  type: 'ready',
  apns: { url: apns.url, keyId: creds.keyId, teamId: creds.teamId, topic: creds.topic, privateKeyPem: creds.privateKeyPem },
  fcm: { url: fcm.url, account: { ...account } },
});
