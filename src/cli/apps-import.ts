/**
 * `herald apps import --from-soketi config.json`: Soketi's `appManager.array.apps` list into the app
 * store (config/soketi.ts maps each app), with a report of what has no equivalent. Existing apps
 * are left alone unless --replace; --dry-run shows what would happen without writing.
 */
import { readFileSync } from 'node:fs';
import { appSchema } from '../apps/app.js';
import { fromSoketiApp, soketiAppsOf } from '../config/soketi.js';
import type { AppsBackend } from './apps-backend.js';
import { CliError } from './command.js';

export interface ImportOutcome {
  id: string;
  result: 'created' | 'replaced' | 'skipped' | 'failed' | 'would create' | 'would replace';
  reason?: string;
  notes: string[];
}

/** The apps of a Soketi config file, mapped and validated (no store access). */
export function readSoketiFile(file: string): Array<{ index: number; id: string; fields?: Record<string, unknown>; error?: string; notes: string[] }> {
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`--from-soketi ${file}: ${(err as Error).message}`, 2);
  }
  let apps: unknown[];
  try {
    apps = soketiAppsOf(config);
  } catch (err) {
    throw new CliError(`--from-soketi ${file}: ${(err as Error).message}`, 2);
  }
  return apps.map((raw, index) => {
    const label = typeof raw === 'object' && raw !== null && 'id' in raw ? String((raw as { id: unknown }).id) : `#${index + 1}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { index, id: label, error: 'not an object', notes: [] };
    let mapped;
    try {
      mapped = fromSoketiApp(raw as Record<string, unknown>);
    } catch (err) {
      return { index, id: label, error: (err as Error).message, notes: [] };
    }
    const checked = appSchema.safeParse(mapped.app);
    if (!checked.success) {
      const error = checked.error.issues.map((i) => `${i.path.join('.') || '(app)'}: ${i.message}`).join('; ');
      return { index, id: label, error, notes: mapped.notes };
    }
    return { index, id: label, fields: mapped.app, notes: mapped.notes };
  });
}

export async function importSoketiApps(backend: AppsBackend | undefined, file: string, options: { replace: boolean; dryRun: boolean }): Promise<ImportOutcome[]> {
  const outcomes: ImportOutcome[] = [];
  const existing = backend ? new Set((await backend.list()).map((a) => a.id)) : new Set<string>();
  for (const app of readSoketiFile(file)) {
    if (!app.fields) {
      outcomes.push({ id: app.id, result: 'failed', reason: app.error, notes: app.notes });
      continue;
    }
    const exists = existing.has(app.id);
    if (exists && !options.replace) {
      outcomes.push({ id: app.id, result: 'skipped', reason: 'an app with this id exists (--replace overwrites it)', notes: app.notes });
      continue;
    }
    if (options.dryRun || !backend) {
      outcomes.push({ id: app.id, result: exists ? 'would replace' : 'would create', notes: app.notes });
      continue;
    }
    try {
      if (exists) {
        const { id: _id, ...patch } = app.fields;
        await backend.update(app.id, patch);
      } else await backend.create(app.fields);
      outcomes.push({ id: app.id, result: exists ? 'replaced' : 'created', notes: app.notes });
    } catch (err) {
      outcomes.push({ id: app.id, result: 'failed', reason: (err as Error).message, notes: app.notes });
    }
  }
  return outcomes;
}

export function importReport(outcomes: ImportOutcome[], where: string): string {
  const lines = [`Soketi apps → ${where}:`];
  for (const o of outcomes) lines.push(`  ${o.id.padEnd(20)} ${o.result}${o.reason ? `: ${o.reason}` : ''}`);
  const notes = outcomes.flatMap((o) => o.notes.map((n) => `  ${o.id}: ${n}`));
  if (notes.length > 0) lines.push('', 'Not carried over exactly (no equivalent in Herald, or approximated):', ...notes);
  if (outcomes.some((o) => o.result === 'created' || o.result === 'replaced')) lines.push('', 'Running servers pick the apps up without a restart.');
  return lines.join('\n') + '\n';
}
