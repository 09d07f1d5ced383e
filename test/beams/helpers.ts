/**
 * Shared set-up for the Beams tests: a Herald with storage + Beams, the three provider fakes, and an
 * instance whose provider endpoints point at those fakes.
 */
import type { BeamsWebhookOptions } from '../../src/beams/webhooks.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedEmbeddedDataDir } from '../../src/apps/data-dir.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { withTimeout } from '../helpers/wait.js';
import { beamsModule } from '../../src/beams/module.js';
import type { DeliveryOptions } from '../../src/beams/delivery.js';
import type { BeamsInstance } from '../../src/beams/instances.js';
import { BEAMS_SERVICE, type BeamsService } from '../../src/beams/service.js';
import { tokenHash } from '../../src/beams/store.js';
import { storageModule, DATABASE_SERVICE } from '../../src/app-store/database-module.js';
import type { HeraldConfigInput } from '../../src/config/schema.js';
import type { Database } from '../../src/storage/database.js';
import { FakeApns } from './fakes/apns.js';
import { FakeFcm } from './fakes/fcm.js';
import { apnsCredentials, serviceAccount, type ApnsCredentials } from './fakes/keys.js';
import { FakeWebPush } from './fakes/web-push.js';

export interface Fakes {
  apns: FakeApns;
  fcm: FakeFcm;
  web: FakeWebPush;
  apnsCredentials: ApnsCredentials;
  close(): Promise<void>;
}

export async function startFakes(): Promise<Fakes> {
  const creds = apnsCredentials();
  const [apns, fcm, web] = await Promise.all([new FakeApns(creds).start(), new FakeFcm().start(), new FakeWebPush().start()]);
  return {
    apns,
    fcm,
    web,
    apnsCredentials: creds,
    async close() {
      await Promise.all([apns.close(), fcm.close(), web.close()]);
    },
  };
}

export interface BeamsHerald {
  th: TestHerald;
  service: BeamsService;
  db(): Promise<Database>;
  stop(): Promise<void>;
}

export async function startBeamsHerald(
  options: { config?: Partial<HeraldConfigInput>; delivery?: Partial<DeliveryOptions>; webhooks?: Partial<BeamsWebhookOptions>; defaultModules?: boolean } = {},
): Promise<BeamsHerald> {
  // A data directory seeded from the cached template cluster: opening it skips PGlite's initdb.
  const ownDir = options.config?.dataDir === undefined && options.config?.databaseUrl === undefined ? mkdtempSync(join(tmpdir(), 'herald-beams-')) : undefined;
  const dataDir = options.config?.dataDir ?? ownDir;
  if (dataDir) await seedEmbeddedDataDir(dataDir);
  const th = await startTestHerald({
    config: { ...options.config, ...(dataDir ? { dataDir } : {}) },
    ...(options.defaultModules ? {} : { modules: () => [storageModule(), beamsModule({ delivery: { pollMs: 250, ...options.delivery }, webhooks: options.webhooks })] }),
  });
  const service = th.herald.services.get(BEAMS_SERVICE)!;
  return {
    th,
    service,
    db: () => th.herald.services.get(DATABASE_SERVICE)!(),
    async stop() {
      await th.stop();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

let instanceCounter = 0;

/** Creates an instance whose APNs, FCM and Web Push endpoints are the fakes. */
export async function createFakeInstance(service: BeamsService, fakes: Fakes, extra: { id?: string; secretKey?: string } = {}): Promise<BeamsInstance> {
  const { account, publicKey } = serviceAccount(fakes.fcm.tokenUri);
  fakes.fcm.trust(account.project_id, account.client_email, publicKey);
  const c = fakes.apnsCredentials;
  const instance = await service.instances.create({
    id: extra.id ?? `inst-${process.pid}-${++instanceCounter}`,
    secretKey: extra.secretKey ?? `beams-secret-${instanceCounter}-${process.pid}`,
    apns: { keyId: c.keyId, teamId: c.teamId, privateKey: c.privateKeyPem, topic: c.topic, endpoint: fakes.apns.url },
    fcm: { serviceAccount: { ...account }, endpoint: fakes.fcm.url },
    web: { allowedEndpointHosts: ['127.0.0.1'], allowInsecureEndpoints: true },
  });
  fakes.web.vapidPublicKey = instance.settings.web.vapidPublicKey;
  return instance;
}

/**
 * Resolves when the publish is finished: on the local worker's 'job-finished' event, or — when
 * another node sharing the database delivered it — when its stored status says so.
 */
export async function waitForPublish(service: BeamsService, instanceId: string, publishId: string, ms = 30_000): Promise<Record<string, unknown>> {
  const isFinished = async () => {
    const status = await service.publishes.describe(instanceId, publishId);
    return status?.status === 'done' || status?.status === 'failed' ? status : undefined;
  };
  let onFinished: ((id: string) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const done = new Promise<void>((resolve) => {
      onFinished = (id: string) => id === publishId && resolve();
      service.worker.on('job-finished', onFinished);
      // Another node's worker may take the job: its progress is only visible in the table.
      timer = setInterval(() => void isFinished().then((s) => s && resolve(), () => undefined), 250);
    });
    if (!(await isFinished())) await withTimeout(done, ms, `publish ${publishId}`);
    return (await isFinished())!;
  } finally {
    if (onFinished) service.worker.off('job-finished', onFinished);
    clearInterval(timer);
  }
}

export interface BulkDevice {
  platform: 'apns' | 'fcm' | 'web';
  token: string;
  bundleId?: string;
  userId?: string;
  interests: string[];
}

/** Registers many devices straight through SQL (unnest batches of 1000) — for fan-out tests. */
export async function bulkRegister(db: Database, instanceId: string, devices: BulkDevice[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < devices.length; i += 1000) {
    const batch = devices.slice(i, i + 1000);
    const batchIds = batch.map((d) => `${d.platform}-${crypto.randomUUID()}`);
    ids.push(...batchIds);
    await db.query(
      `INSERT INTO beams_devices (instance_id, id, platform, token, token_hash, bundle_id, user_id)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
      [instanceId, batchIds, batch.map((d) => d.platform), batch.map((d) => d.token), batch.map((d) => tokenHash(d.token)), batch.map((d) => d.bundleId ?? null), batch.map((d) => d.userId ?? null)],
    );
    const pairs = batch.flatMap((d, j) => d.interests.map((interest) => [batchIds[j]!, interest] as const));
    await db.query(
      `INSERT INTO beams_device_interests (instance_id, device_id, interest) SELECT $1, * FROM unnest($2::text[], $3::text[])`,
      [instanceId, pairs.map((p) => p[0]), pairs.map((p) => p[1])],
    );
  }
  return ids;
}

/** A random APNs-looking device token (64 hex characters). */
export function apnsToken(): string {
  return crypto.getRandomValues(new Uint8Array(32)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '');
}

/** A plain JSON request to a Beams-serving Herald, returning status and parsed body. */
export function beamsApi(baseUrl: () => string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}
