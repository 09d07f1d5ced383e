/**
 * Devices, their interests and user association (tables beams_devices, beams_device_interests).
 * Fan-out reads devices in pages ordered by id (keyset pagination), so memory stays bounded however
 * many devices an interest has, and a delivery can resume from the last id it finished.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Database } from '../storage/database.js';
import { LIMITS, type Platform } from './validation.js';

export interface Device {
  id: string;
  platform: Platform;
  token: string;
  bundleId: string | null;
  userId: string | null;
  metadata: Record<string, string>;
}

/** What delivery needs of a device. */
export interface DeviceTarget {
  id: string;
  platform: Platform;
  token: string;
  bundleId: string | null;
  /** The authenticated user of the device (publishes to users only; for Beams webhooks). */
  userId?: string;
}

export type SetUserResult = 'ok' | 'device-not-found' | 'other-user' | 'too-many-devices';

interface DeviceRow {
  id: string;
  platform: Platform;
  token: string;
  bundle_id: string | null;
  user_id: string | null;
  metadata: unknown;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function toDevice(row: DeviceRow): Device {
  const metadata = typeof row.metadata === 'string' ? JSON.parse(row.metadata) : (row.metadata ?? {});
  return { id: row.id, platform: row.platform, token: row.token, bundleId: row.bundle_id, userId: row.user_id, metadata };
}

export class DeviceStore {
  constructor(private readonly db: () => Promise<Database>) {}

  /**
   * Registers a device token. The same token registered again keeps its device id (and interests),
   * which Beams reports back as `initialInterestSet`.
   */
  async register(
    instanceId: string,
    platform: Platform,
    token: string,
    options: { bundleId?: string; metadata: Record<string, string> },
  ): Promise<{ id: string; initialInterestSet: string[] }> {
    const db = await this.db();
    const newId = `${platform}-${randomUUID()}`;
    const rows = await db.query<{ id: string }>(
      `INSERT INTO beams_devices (instance_id, id, platform, token, token_hash, bundle_id, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
       ON CONFLICT (instance_id, platform, token_hash) DO UPDATE
         SET metadata = EXCLUDED.metadata, bundle_id = COALESCE(EXCLUDED.bundle_id, beams_devices.bundle_id), updated_at = now()
       RETURNING id`,
      [instanceId, newId, platform, token, tokenHash(token), options.bundleId ?? null, JSON.stringify(options.metadata)],
    );
    const id = rows[0]!.id;
    const initialInterestSet =
      id === newId ? [] : (await this.listInterests(instanceId, id, '', LIMITS.interestsPerDevice)).interests;
    return { id, initialInterestSet };
  }

  async get(instanceId: string, platform: Platform, deviceId: string): Promise<Device | undefined> {
    const rows = await (await this.db()).query<DeviceRow>(
      'SELECT id, platform, token, bundle_id, user_id, metadata FROM beams_devices WHERE instance_id = $1 AND id = $2 AND platform = $3',
      [instanceId, deviceId, platform],
    );
    return rows[0] ? toDevice(rows[0]) : undefined;
  }

  async delete(instanceId: string, platform: Platform, deviceId: string): Promise<boolean> {
    const rows = await (await this.db()).query('DELETE FROM beams_devices WHERE instance_id = $1 AND id = $2 AND platform = $3 RETURNING id', [
      instanceId,
      deviceId,
      platform,
    ]);
    return rows.length > 0;
  }

  async updateMetadata(instanceId: string, platform: Platform, deviceId: string, metadata: Record<string, string>): Promise<boolean> {
    const rows = await (await this.db()).query(
      'UPDATE beams_devices SET metadata = $4::jsonb, updated_at = now() WHERE instance_id = $1 AND id = $2 AND platform = $3 RETURNING id',
      [instanceId, deviceId, platform, JSON.stringify(metadata)],
    );
    return rows.length > 0;
  }

  /** Replaces a device's token (FCM rotates them); 'conflict' when another device already has it. */
  async updateToken(instanceId: string, platform: Platform, deviceId: string, token: string): Promise<'ok' | 'not-found' | 'conflict'> {
    try {
      const rows = await (await this.db()).query(
        'UPDATE beams_devices SET token = $4, token_hash = $5, updated_at = now() WHERE instance_id = $1 AND id = $2 AND platform = $3 RETURNING id',
        [instanceId, deviceId, platform, token, tokenHash(token)],
      );
      return rows.length > 0 ? 'ok' : 'not-found';
    } catch (err) {
      if ((err as { code?: string }).code === '23505') return 'conflict';
      throw err;
    }
  }

  async listInterests(instanceId: string, deviceId: string, after: string, limit: number): Promise<{ interests: string[]; nextCursor?: string }> {
    const rows = await (await this.db()).query<{ interest: string }>(
      `SELECT interest FROM beams_device_interests WHERE instance_id = $1 AND device_id = $2 AND interest > $3 ORDER BY interest LIMIT $4`,
      [instanceId, deviceId, after, limit + 1],
    );
    const interests = rows.slice(0, limit).map((r) => r.interest);
    return rows.length > limit ? { interests, nextCursor: interests[interests.length - 1] } : { interests };
  }

  /** Adds one interest; 'full' when the device already has the maximum. */
  async addInterest(instanceId: string, deviceId: string, interest: string): Promise<'ok' | 'full'> {
    return (await this.db()).transaction(async (tx) => {
      const [{ n }] = (await tx.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM beams_device_interests WHERE instance_id = $1 AND device_id = $2',
        [instanceId, deviceId],
      )) as [{ n: number }];
      if (n >= LIMITS.interestsPerDevice) {
        const has = await tx.query('SELECT 1 FROM beams_device_interests WHERE instance_id = $1 AND device_id = $2 AND interest = $3', [instanceId, deviceId, interest]);
        return has.length > 0 ? 'ok' : 'full';
      }
      await tx.query(
        'INSERT INTO beams_device_interests (instance_id, device_id, interest) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [instanceId, deviceId, interest],
      );
      return 'ok';
    });
  }

  async removeInterest(instanceId: string, deviceId: string, interest: string): Promise<void> {
    await (await this.db()).query('DELETE FROM beams_device_interests WHERE instance_id = $1 AND device_id = $2 AND interest = $3', [
      instanceId,
      deviceId,
      interest,
    ]);
  }

  async setInterests(instanceId: string, deviceId: string, interests: string[]): Promise<void> {
    await (await this.db()).transaction(async (tx) => {
      await tx.query('DELETE FROM beams_device_interests WHERE instance_id = $1 AND device_id = $2', [instanceId, deviceId]);
      if (interests.length > 0) {
        await tx.query(
          `INSERT INTO beams_device_interests (instance_id, device_id, interest)
           SELECT $1, $2, i FROM unnest($3::text[]) AS t(i) ON CONFLICT DO NOTHING`,
          [instanceId, deviceId, interests],
        );
      }
    });
  }

  /** Binds a device to a user (never re-binds to a different one; at most 100 devices per user and platform). */
  async setUser(instanceId: string, platform: Platform, deviceId: string, userId: string): Promise<SetUserResult> {
    return (await this.db()).transaction(async (tx) => {
      const rows = await tx.query<{ user_id: string | null }>(
        'SELECT user_id FROM beams_devices WHERE instance_id = $1 AND id = $2 AND platform = $3 FOR UPDATE',
        [instanceId, deviceId, platform],
      );
      if (!rows[0]) return 'device-not-found';
      if (rows[0].user_id === userId) return 'ok';
      if (rows[0].user_id !== null) return 'other-user';
      const [{ n }] = (await tx.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM beams_devices WHERE instance_id = $1 AND user_id = $2 AND platform = $3',
        [instanceId, userId, platform],
      )) as [{ n: number }];
      if (n >= LIMITS.devicesPerUserPerPlatform) return 'too-many-devices';
      await tx.query('UPDATE beams_devices SET user_id = $3, updated_at = now() WHERE instance_id = $1 AND id = $2', [instanceId, deviceId, userId]);
      return 'ok';
    });
  }

  /** Deletes every device of a user (their interests go with them). Returns how many. */
  async deleteUser(instanceId: string, userId: string): Promise<number> {
    const rows = await (await this.db()).query('DELETE FROM beams_devices WHERE instance_id = $1 AND user_id = $2 RETURNING id', [instanceId, userId]);
    return rows.length;
  }

  /** Next page of distinct devices subscribed to any of `interests`, with ids after `afterId`. */
  async pageByInterests(instanceId: string, interests: string[], afterId: string, limit: number): Promise<DeviceTarget[]> {
    const rows = await (await this.db()).query<{ id: string; platform: Platform; token: string; bundle_id: string | null }>(
      `SELECT d.id, d.platform, d.token, d.bundle_id
         FROM (SELECT DISTINCT device_id FROM beams_device_interests
                WHERE instance_id = $1 AND interest = ANY($2::text[]) AND device_id > $3
                ORDER BY device_id LIMIT $4) s
         JOIN beams_devices d ON d.instance_id = $1 AND d.id = s.device_id
        ORDER BY d.id`,
      [instanceId, interests, afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, platform: r.platform, token: r.token, bundleId: r.bundle_id }));
  }

  /** Next page of devices belonging to any of `users`, with ids after `afterId`. */
  async pageByUsers(instanceId: string, users: string[], afterId: string, limit: number): Promise<DeviceTarget[]> {
    const rows = await (await this.db()).query<{ id: string; platform: Platform; token: string; bundle_id: string | null; user_id: string }>(
      `SELECT id, platform, token, bundle_id, user_id FROM beams_devices
        WHERE instance_id = $1 AND user_id = ANY($2::text[]) AND id > $3
        ORDER BY id LIMIT $4`,
      [instanceId, users, afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, platform: r.platform, token: r.token, bundleId: r.bundle_id, userId: r.user_id }));
  }

  /** Which of `users` have at least one device (Beams webhooks: `users_no_devices`). */
  async usersWithDevices(instanceId: string, users: string[]): Promise<Set<string>> {
    const rows = await (await this.db()).query<{ user_id: string }>(
      'SELECT DISTINCT user_id FROM beams_devices WHERE instance_id = $1 AND user_id = ANY($2::text[])',
      [instanceId, users],
    );
    return new Set(rows.map((r) => r.user_id));
  }

  /** Device counts per platform (admin API / CLI). */
  async countByPlatform(instanceId: string): Promise<Record<Platform, number>> {
    const rows = await (await this.db()).query<{ platform: Platform; n: number }>(
      'SELECT platform, count(*)::int AS n FROM beams_devices WHERE instance_id = $1 GROUP BY platform',
      [instanceId],
    );
    const counts: Record<Platform, number> = { apns: 0, fcm: 0, web: 0 };
    for (const row of rows) counts[row.platform] = row.n;
    return counts;
  }

  /** Removes devices a provider reported as invalid, unless their token changed meanwhile. */
  async removeInvalid(instanceId: string, devices: Array<{ id: string; token: string }>): Promise<number> {
    if (devices.length === 0) return 0;
    const rows = await (await this.db()).query(
      `DELETE FROM beams_devices d USING unnest($2::text[], $3::text[]) AS gone(id, token_hash)
        WHERE d.instance_id = $1 AND d.id = gone.id AND d.token_hash = gone.token_hash RETURNING d.id`,
      [instanceId, devices.map((d) => d.id), devices.map((d) => tokenHash(d.token))],
    );
    return rows.length;
  }
}
