/**
 * Beams instances: id + secret key + provider settings, stored in `beams_instances`.
 * Reads are cached briefly (every API call looks its instance up); local writes invalidate the
 * cache, other nodes see a change within CACHE_MS.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '../storage/database.js';
import { applySettingsPatch, publicSettings, readSettings, SettingsError, type InstanceSettings, type SettingsPatch } from './settings.js';
import { isValidInstanceId } from './validation.js';

export interface BeamsInstance {
  id: string;
  name: string;
  secretKey: string;
  settings: InstanceSettings;
  createdAt: Date;
  updatedAt: Date;
}

export interface InstanceInput extends SettingsPatch {
  id?: string;
  name?: string;
  secretKey?: string;
}

export class InstanceConflictError extends Error {}

const CACHE_MS = 5000;
const SECRET_MIN = 8;

interface Row {
  id: string;
  name: string;
  secret_key: string;
  settings: unknown;
  created_at: Date | string;
  updated_at: Date | string;
}

function fromRow(row: Row): BeamsInstance {
  return {
    id: row.id,
    name: row.name,
    secretKey: row.secret_key,
    settings: readSettings(typeof row.settings === 'string' ? JSON.parse(row.settings) : row.settings),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** A new secret key: 64 upper-case hex characters, like Beams'. */
export function generateSecretKey(): string {
  return randomBytes(32).toString('hex').toUpperCase();
}

function checkSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length < SECRET_MIN || secret.length > 256 || /\s/.test(secret)) {
    throw new SettingsError(`secretKey: must be ${SECRET_MIN}-256 characters without spaces`);
  }
}

function checkName(name: unknown): string {
  if (name === undefined) return '';
  if (typeof name !== 'string' || name.length > 200) throw new SettingsError('name: must be a string of at most 200 characters');
  return name;
}

/** Instance as shown to operators: the secret key included, provider private keys hidden. */
export function describeInstance(instance: BeamsInstance): Record<string, unknown> {
  return {
    id: instance.id,
    name: instance.name,
    secretKey: instance.secretKey,
    ...publicSettings(instance.settings),
    createdAt: instance.createdAt.toISOString(),
    updatedAt: instance.updatedAt.toISOString(),
  };
}

export class InstanceStore {
  private readonly cache = new Map<string, { value: BeamsInstance | undefined; expires: number }>();

  constructor(private readonly db: () => Promise<Database>) {}

  async get(id: string): Promise<BeamsInstance | undefined> {
    if (!isValidInstanceId(id)) return undefined;
    const hit = this.cache.get(id);
    if (hit && hit.expires > Date.now()) return hit.value;
    const rows = await (await this.db()).query<Row>('SELECT * FROM beams_instances WHERE id = $1', [id]);
    const value = rows[0] ? fromRow(rows[0]) : undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { value, expires: Date.now() + CACHE_MS });
    return value;
  }

  async list(): Promise<BeamsInstance[]> {
    const rows = await (await this.db()).query<Row>('SELECT * FROM beams_instances ORDER BY created_at, id LIMIT 10000');
    return rows.map(fromRow);
  }

  async create(input: InstanceInput): Promise<BeamsInstance> {
    const id = input.id ?? randomUUID();
    if (!isValidInstanceId(id)) throw new SettingsError('id: must be 1-100 characters of letters, digits, - or _');
    const secretKey = input.secretKey ?? generateSecretKey();
    checkSecret(secretKey);
    const name = checkName(input.name);
    const settings = applySettingsPatch(undefined, input);
    const rows = await (await this.db()).query<Row>(
      `INSERT INTO beams_instances (id, name, secret_key, settings) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      [id, name, secretKey, JSON.stringify(settings)],
    );
    this.cache.delete(id);
    if (!rows[0]) throw new InstanceConflictError(`Beams instance ${id} already exists`);
    return fromRow(rows[0]);
  }

  async update(id: string, patch: Omit<InstanceInput, 'id'> & { rotateSecret?: boolean }): Promise<BeamsInstance | undefined> {
    const db = await this.db();
    const result = await db.transaction(async (tx) => {
      const rows = await tx.query<Row>('SELECT * FROM beams_instances WHERE id = $1 FOR UPDATE', [id]);
      if (!rows[0]) return undefined;
      const current = fromRow(rows[0]);
      const secretKey = patch.rotateSecret ? generateSecretKey() : (patch.secretKey ?? current.secretKey);
      checkSecret(secretKey);
      const name = patch.name !== undefined ? checkName(patch.name) : current.name;
      const settings = applySettingsPatch(current.settings, patch);
      const updated = await tx.query<Row>(
        `UPDATE beams_instances SET name = $2, secret_key = $3, settings = $4::jsonb, updated_at = now() WHERE id = $1 RETURNING *`,
        [id, name, secretKey, JSON.stringify(settings)],
      );
      return fromRow(updated[0]!);
    });
    this.cache.delete(id);
    return result;
  }

  async delete(id: string): Promise<boolean> {
    const rows = await (await this.db()).query('DELETE FROM beams_instances WHERE id = $1 RETURNING id', [id]);
    this.cache.delete(id);
    return rows.length > 0;
  }

  /** The instance configured by HERALD_BEAMS_INSTANCE_ID / _SECRET_KEY: created, or its secret kept in sync. */
  async ensure(id: string, secretKey: string): Promise<BeamsInstance> {
    const existing = await this.get(id);
    if (!existing) {
      try {
        return await this.create({ id, secretKey, name: 'Default instance (environment)' });
      } catch (err) {
        if (!(err instanceof InstanceConflictError)) throw err;
      }
    }
    if (existing && existing.secretKey === secretKey) return existing;
    const updated = await this.update(id, { secretKey });
    if (!updated) throw new Error(`Beams instance ${id} vanished while being configured`);
    return updated;
  }

  invalidate(id: string): void {
    this.cache.delete(id);
  }
}
