/**
 * Generates docs/configuration.md from the one configuration schema: SETTINGS and the zod config
 * schema (src/config/schema.ts) and the app schema (src/apps/app.ts). The page is never edited by
 * hand; test/ops/config-docs.test.ts fails when it differs from what this script produces.
 *
 *   npm run docs:config            rewrite docs/configuration.md
 *   npm run docs:config -- --check exit 1 when it is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { appSchema } from '../src/apps/app.js';
import { configSchema, SETTINGS } from '../src/config/schema.js';

export const DOC_PATH = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

/** A JSON Schema node as produced by z.toJSONSchema (the parts rendered here). */
interface JsonNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonNode>;
  required?: string[];
  items?: JsonNode;
  additionalProperties?: JsonNode | boolean;
  anyOf?: JsonNode[];
}

/**
 * Descriptions for schema fields that carry no `.describe()` yet. Prefer adding `.describe()` to the
 * schema; a description there wins over this table.
 */
const FALLBACK_DESCRIPTIONS: Record<string, string> = {
  id: 'App id, used in HTTP API paths (/apps/{id}/…) and by the server SDKs (appId)',
  key: 'Public app key: clients connect to /app/{key}; signed HTTP API requests name it as auth_key',
  secret: 'Secret used to sign HTTP API requests and channel authorizations; never sent to clients',
  name: 'Display name (console, logs)',
  extraCredentials: 'Older key/secret pairs still accepted while a secret is rotated',
  'extraCredentials[].key': 'An additional key clients may connect with',
  'extraCredentials[].secret': 'Its secret',
  userAuthentication: 'Authorized connections: require every connection to authenticate',
  limits: 'Per-app limits (each below)',
  webhooks: 'Webhook endpoints (each below); none by default',
  webhookBatching: 'Pusher-style batch webhooks: several events in one request',
  quotas: 'Usage quotas (each below)',
};

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** Human type with its constraints, e.g. "integer, 0–65535" or "`memory` \| `redis`". */
export function describeType(node: JsonNode): string {
  if (node.anyOf) return node.anyOf.map(describeType).join(' or ');
  if (node.enum) return node.enum.map((v) => code(String(v))).join(', ');
  const type = Array.isArray(node.type) ? node.type.join(' or ') : node.type ?? 'any';
  const limits: string[] = [];
  if (type === 'integer' || type === 'number') {
    const max = node.maximum !== undefined && node.maximum < MAX_SAFE ? node.maximum : undefined;
    if (node.minimum !== undefined && max !== undefined) limits.push(`${node.minimum}–${max}`);
    else if (node.minimum !== undefined) limits.push(`≥ ${node.minimum}`);
    else if (max !== undefined) limits.push(`≤ ${max}`);
    return [type, ...limits].join(', ');
  }
  if (type === 'string') {
    if (node.format === 'uri') return 'URL';
    if (node.minLength === 1) limits.push('non-empty');
    else if (node.minLength !== undefined) limits.push(`at least ${node.minLength} characters`);
    if (node.maxLength !== undefined) limits.push(`at most ${node.maxLength} characters`);
    if (node.pattern) limits.push(`matching ${code(node.pattern)}`);
    return [type, ...limits].join(', ');
  }
  if (type === 'array') {
    const items = node.items;
    if (items?.enum) return `list of ${items.enum.map((v) => code(String(v))).join(', ')}`;
    if (items?.type === 'object') return 'list of objects (fields below)';
    return items ? `list of ${describeType(items)}` : 'list';
  }
  if (type === 'object') {
    if (node.properties) return 'object (fields below)';
    if (typeof node.additionalProperties === 'object') return `map of string to ${describeType(node.additionalProperties)}`;
  }
  return type;
}

function describeDefault(node: JsonNode): string {
  if (node.default === undefined) return '';
  if (typeof node.default === 'object' && node.default !== null && !Array.isArray(node.default)) return '(see fields)';
  if (Array.isArray(node.default) && node.default.length === 0) return 'none';
  if (node.default === '') return '(empty)';
  return code(typeof node.default === 'string' ? node.default : JSON.stringify(node.default));
}

interface FieldRow {
  path: string;
  node: JsonNode;
}

/** Every field of an object schema, nested objects and lists of objects flattened (`a.b`, `a[].b`). */
function flatten(node: JsonNode, prefix = ''): FieldRow[] {
  const rows: FieldRow[] = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const path = prefix + name;
    rows.push({ path, node: child });
    if (child.type === 'object' && child.properties) rows.push(...flatten(child, `${path}.`));
    if (child.type === 'array' && child.items?.type === 'object' && child.items.properties) rows.push(...flatten(child.items, `${path}[].`));
  }
  return rows;
}

function lookup(root: JsonNode, path: string): JsonNode | undefined {
  let node: JsonNode | undefined = root;
  for (const part of path.split('.')) node = node?.properties?.[part];
  return node;
}

function descriptionOf(path: string, node: JsonNode): string {
  return node.description ?? FALLBACK_DESCRIPTIONS[path] ?? '';
}

/** Problems that make the reference incomplete or inconsistent (checked by the test). */
export function referenceProblems(): string[] {
  const problems: string[] = [];
  const config = z.toJSONSchema(configSchema, { io: 'input' }) as JsonNode;
  const app = z.toJSONSchema(appSchema, { io: 'input' }) as JsonNode;
  for (const setting of SETTINGS) {
    const node = setting.path.startsWith('app.') ? lookup(app, setting.path.slice(4)) : lookup(config, setting.path);
    if (!node) {
      problems.push(`SETTINGS ${setting.env}: path ${setting.path} is not in the schema`);
      continue;
    }
    const schemaDefault = node.default === undefined ? undefined : String(node.default);
    if (setting.default !== schemaDefault) {
      problems.push(`SETTINGS ${setting.env}: default ${JSON.stringify(setting.default)} but the schema says ${JSON.stringify(schemaDefault)}`);
    }
  }
  for (const key of Object.keys(config.properties ?? {})) {
    if (!SETTINGS.some((s) => s.path === key || s.path.startsWith(`${key}.`)) && !FILE_ONLY[key]) {
      problems.push(`config key ${key} has no SETTINGS entry (environment variable and flag)`);
    }
  }
  for (const row of flatten(app)) {
    if (!descriptionOf(row.path, row.node)) problems.push(`app field ${row.path} has no description (add .describe() in src/apps/app.ts)`);
  }
  return problems;
}

/** Config keys with no environment variable, documented here. */
const FILE_ONLY: Record<string, string> = {
  apps: 'List of apps (fields in [App fields](#app-fields)). Merged with the app given by `HERALD_APP_*`.',
  app: 'One app given field by field; what the `HERALD_APP_*` variables fill in. Any app field may be set here in a config file.',
};

export const EXAMPLE_YAML = `# herald.yaml — start with: herald start --config herald.yaml
port: 6001
logLevel: info
dataDir: /var/lib/herald
# adminToken: prefer HERALD_ADMIN_TOKEN=$(openssl rand -hex 32); examples and guessable tokens are refused
shutdownTimeoutMs: 10000
apps:
  - id: "1001"
    key: my-app-key
    secret: my-app-secret-value
    name: My app
    clientEvents: true
    limits:
      maxConnections: 10000
      maxPayloadBytes: 10240
    webhooks:
      - url: https://example.com/pusher/webhooks
        events: [channel_occupied, channel_vacated]
`;

export function renderConfigurationReference(): string {
  const config = z.toJSONSchema(configSchema, { io: 'input' }) as JsonNode;
  const app = z.toJSONSchema(appSchema, { io: 'input' }) as JsonNode;
  const out: string[] = [];
  out.push(
    '# Configuration reference',
    '',
    '<!-- GENERATED by scripts/gen-config-docs.ts from src/config/schema.ts and src/apps/app.ts. Do not edit: run `npm run docs:config`. -->',
    '',
    'Herald reads its configuration from, highest precedence first:',
    '',
    '1. command-line flags: `herald start --port 7000`, or `--port=7000`;',
    '2. environment variables: `HERALD_PORT=7000`;',
    '3. a JSON or YAML file given with `--config <file>` (keys as in the *Config key* column);',
    '4. the defaults below.',
    '',
    'Below all of these, the default app can also come from the variables of the server you migrate from:',
    '`PUSHER_APP_ID/KEY/SECRET` (Laravel; `PUSHER_APP_CLUSTER` is ignored), `REVERB_APP_ID/KEY/SECRET` and',
    '`SOKETI_DEFAULT_APP_*`. A Herald setting of the same field wins, with a warning at start-up',
    '([migrating](migrating.md)).',
    '',
    'Invalid values stop the server at start (exit code 2) with a message naming the setting by its config key,',
    'variable and flag. Keys in the config file that the schema does not know (a typo such as `logleval:` or an',
    'app\'s `clientevents:`) are refused the same way, with their path and the closest known key',
    '(`logleval: unknown key; did you mean "logLevel"?`); every problem is listed at once. Booleans accept',
    '`true/false`, `1/0`, `yes/no`, `on/off`. Secrets (app secrets, the admin token, database passwords) are',
    'never written to the logs.',
    '',
    '## Settings',
    '',
    '| Environment variable | Flag | Config key | Type | Default | Description |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const s of SETTINGS) {
    const node = (s.path.startsWith('app.') ? lookup(app, s.path.slice(4)) : lookup(config, s.path)) ?? {};
    out.push(`| ${code(s.env)} | ${code(s.flag)} | ${code(s.path)} | ${cell(describeType(node))} | ${cell(describeDefault(node))} | ${cell(s.description)} |`);
  }
  out.push('', '## Config-file-only keys', '', '| Config key | Type | Description |', '| --- | --- | --- |');
  for (const [key, text] of Object.entries(FILE_ONLY)) {
    const node = config.properties?.[key];
    if (node) out.push(`| ${code(key)} | ${cell(describeType(node))} | ${cell(text)} |`);
  }
  out.push(
    '',
    '## App fields',
    '',
    'Each entry of `apps` (and the `app` shorthand) is an app. Only `id`, `key` and `secret` are required.',
    '',
    '| Field | Type | Default | Description |',
    '| --- | --- | --- | --- |',
  );
  const required = new Set(app.required ?? []);
  for (const row of flatten(app)) {
    const def = describeDefault(row.node) || (required.has(row.path) ? '**required**' : '');
    out.push(`| ${code(row.path)} | ${cell(describeType(row.node))} | ${cell(def)} | ${cell(descriptionOf(row.path, row.node))} |`);
  }
  out.push('', '## Example config file', '', '```yaml', EXAMPLE_YAML.trimEnd(), '```', '');
  return out.join('\n');
}

async function main(): Promise<void> {
  const problems = referenceProblems();
  for (const p of problems) process.stderr.write(`warning: ${p}\n`);
  const text = renderConfigurationReference();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(DOC_PATH, 'utf8');
    } catch {
      /* missing counts as out of date */
    }
    if (current !== text) {
      process.stderr.write('docs/configuration.md is out of date: run `npm run docs:config`\n');
      process.exit(1);
    }
    process.stdout.write('docs/configuration.md is up to date\n');
    return;
  }
  writeFileSync(DOC_PATH, text);
  process.stdout.write(`wrote ${DOC_PATH}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
