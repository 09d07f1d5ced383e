/**
 * Beams tables (ids 0300_…). Registered when this file is imported — before any module can open
 * the database — so the tables exist whichever module opens it first.
 *
 * - beams_instances: one row per Beams instance (secret key + provider credentials in `settings`).
 * - beams_devices / beams_device_interests: registered devices and their interests.
 * - beams_publishes: every publish; doubles as the durable delivery job table (status, cursor, lease).
 */
import { registerMigrations } from '../storage/migrations.js';

export const BEAMS_MIGRATIONS = [
  {
    id: '0300_beams_core',
    sql: `
CREATE TABLE IF NOT EXISTS beams_instances (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  secret_key TEXT NOT NULL,
  settings JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS beams_devices (
  instance_id TEXT NOT NULL REFERENCES beams_instances(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  platform TEXT NOT NULL,
  token TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  bundle_id TEXT,
  user_id TEXT,
  metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (instance_id, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS beams_devices_token ON beams_devices (instance_id, platform, token_hash);
CREATE INDEX IF NOT EXISTS beams_devices_user ON beams_devices (instance_id, user_id, id) WHERE user_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS beams_device_interests (
  instance_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  interest TEXT NOT NULL,
  PRIMARY KEY (instance_id, interest, device_id),
  FOREIGN KEY (instance_id, device_id) REFERENCES beams_devices (instance_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS beams_device_interests_device ON beams_device_interests (instance_id, device_id, interest);
CREATE TABLE IF NOT EXISTS beams_publishes (
  id TEXT PRIMARY KEY,
  instance_id TEXT NOT NULL REFERENCES beams_instances(id) ON DELETE CASCADE,
  target_kind TEXT NOT NULL,
  targets TEXT[] NOT NULL,
  payload JSONB NOT NULL,
  status TEXT NOT NULL DEFAULT 'queued',
  cursor TEXT NOT NULL DEFAULT '',
  devices INT NOT NULL DEFAULT 0,
  delivered INT NOT NULL DEFAULT 0,
  failed INT NOT NULL DEFAULT 0,
  removed INT NOT NULL DEFAULT 0,
  reported_deliveries INT NOT NULL DEFAULT 0,
  reported_opens INT NOT NULL DEFAULT 0,
  attempts INT NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until TIMESTAMPTZ,
  available_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  started_at TIMESTAMPTZ,
  finished_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS beams_publishes_pending ON beams_publishes (available_at) WHERE status IN ('queued', 'processing');
CREATE INDEX IF NOT EXISTS beams_publishes_instance ON beams_publishes (instance_id, created_at)
`,
  },
];

registerMigrations(BEAMS_MIGRATIONS);
