// The Settings page of one app: a form drawn from the app schema (/console/api/app-schema), so
// every setting the app object has is editable, with the schema's limits checked inline and the
// server's validation messages shown beside their fields. Also: credentials (rotate the secret,
// drop previous pairs) and enable/disable/delete.
import { useEffect, useState } from 'preact/hooks';
import { api, CopyField, enc, html, SecretOnce, serverLocation, Status } from './ui.js';
import { ConfirmDelete } from './page-apps.js';

/** Edited elsewhere (credentials panel, Webhooks page) or never (id). */
const SKIP = new Set(['id', 'key', 'secret', 'extraCredentials', 'webhooks']);
const LABELS = {
  name: 'App name', enabled: 'Enabled', clientEvents: 'Client events', subscriptionCountEvents: 'Subscription count events',
  watchlistEvents: 'Watchlist events', allowedOrigins: 'Allowed origins', cacheTtlSeconds: 'Cache channel TTL (seconds)',
  webhookBatching: 'Webhook batching', userAuthentication: 'User authentication', limits: 'Limits', quotas: 'Quotas',
  'limits.apiRequestsPerSecond': 'API requests per second', 'quotas.maxConnections': 'Max connections (all nodes)',
  'limits.maxConnections': 'Max connections (per node)',
  'userAuthentication.required': 'Require user authentication', 'userAuthentication.timeoutMs': 'Sign-in timeout (ms)',
};
const HELP = {
  name: 'Shown in the console and CLI.',
  webhookBatching: 'Several events per webhook request (Pusher-style batch webhooks).',
  allowedOrigins: 'One per line: https://app.example.com, app.example.com or *.example.com. Browser pages from other origins are refused with 4009. Empty = any origin.',
};

function label(path) {
  if (LABELS[path]) return LABELS[path];
  const last = path.split('.').pop();
  const words = last.replace(/([A-Z])/g, ' $1').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Flattens the schema into editable fields, grouped by section (top level, then each object). */
function fieldsOf(schema) {
  const general = { title: 'General', fields: [] };
  const sections = [general];
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    if (SKIP.has(key)) continue;
    if (node.type === 'object' && node.properties) {
      const section = { title: label(key), help: node.description, fields: [] };
      for (const [inner, child] of Object.entries(node.properties)) section.fields.push({ path: `${key}.${inner}`, node: child });
      sections.push(section);
    } else general.fields.push({ path: key, node });
  }
  return sections;
}

const get = (obj, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);

function toForm(node, value) {
  if (node.type === 'array') return (value ?? []).join('\n');
  if (node.type === 'boolean') return !!value;
  return value === undefined || value === null ? '' : String(value);
}

/** The form value back to JSON, or an error message for the field. */
function fromForm(node, raw) {
  if (node.type === 'boolean') return { value: raw };
  if (node.type === 'array') {
    const list = raw.split('\n').map((l) => l.trim()).filter(Boolean);
    if (node.maxItems !== undefined && list.length > node.maxItems) return { error: `at most ${node.maxItems} entries` };
    return { value: list };
  }
  if (node.type === 'integer' || node.type === 'number') {
    if (raw.trim() === '') return { error: 'a number is required' };
    const n = Number(raw);
    if (!Number.isFinite(n) || (node.type === 'integer' && !Number.isInteger(n))) return { error: 'must be a whole number' };
    if (node.minimum !== undefined && n < node.minimum) return { error: `must be at least ${node.minimum}` };
    if (node.maximum !== undefined && node.maximum < 1e15 && n > node.maximum) return { error: `must be at most ${node.maximum}` };
    return { value: n };
  }
  if (node.maxLength !== undefined && raw.length > node.maxLength) return { error: `at most ${node.maxLength} characters` };
  return { value: raw };
}

/** "Invalid app: limits.maxPresenceMembers: Too small…; name: …" → { path: message }. */
function serverFieldErrors(message) {
  const out = {};
  const body = message.replace(/^Invalid app: /, '');
  for (const part of body.split('; ')) {
    const m = /^([A-Za-z0-9_.]+): (.*)$/.exec(part);
    if (!m) continue;
    const path = m[1].replace(/\.\d+$/, ''); // allowedOrigins.3 → the allowedOrigins field
    out[path] = out[path] ? `${out[path]}; ${m[2]}` : m[2];
  }
  return out;
}

function Field({ field, value, error, disabled, onChange }) {
  const { path, node } = field;
  const id = `f-${path.replace(/\./g, '-')}`;
  const help = HELP[path] ?? node.description;
  const described = error ? `${id}-err` : help ? `${id}-help` : undefined;
  let input;
  if (node.type === 'boolean') input = html`<input id=${id} type="checkbox" checked=${value} disabled=${disabled} onChange=${(e) => onChange(e.target.checked)} aria-describedby=${described} />`;
  else if (node.type === 'array') input = html`<textarea id=${id} rows="4" value=${value} disabled=${disabled} onInput=${(e) => onChange(e.target.value)} aria-invalid=${!!error} aria-describedby=${described} placeholder="https://app.example.com"></textarea>`;
  else {
    const numeric = node.type === 'integer' || node.type === 'number';
    input = html`<input id=${id} type=${numeric ? 'number' : 'text'} inputmode=${numeric ? 'numeric' : undefined} value=${value} disabled=${disabled}
      min=${node.minimum} max=${node.maximum !== undefined && node.maximum < 1e15 ? node.maximum : undefined}
      onInput=${(e) => onChange(e.target.value)} aria-invalid=${!!error} aria-describedby=${described} />`;
  }
  return html`<div class=${`field ${node.type === 'boolean' ? 'check' : ''}`} data-field=${path}>
    <label for=${id}>${label(path)}</label>${input}
    ${error ? html`<p id=${`${id}-err`} class="bad field-error" role="alert">${error}</p>` : help && html`<p id=${`${id}-help`} class="muted help">${help}</p>`}
  </div>`;
}

function Credentials({ token, app, session, onChanged }) {
  const [options, setOptions] = useState({ newKey: false, keepPrevious: true });
  const [revealed, setRevealed] = useState(null);
  const [status, setStatus] = useState(null);
  const readOnly = app.source === 'config';
  const rotate = async () => {
    try {
      const result = await api(`/console/api/apps/${enc(app.id)}/rotate-secret`, token, { method: 'POST', body: JSON.stringify(options) });
      setRevealed(result.credentials);
      onChanged();
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  const drop = async (key) => {
    try {
      await api(`/console/api/apps/${enc(app.id)}/drop-credential`, token, { method: 'POST', body: JSON.stringify({ key }) });
      setStatus({ ok: true, text: `Previous credential ${key} no longer accepted` });
      onChanged();
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  return html`<section class="panel" aria-labelledby="cred-h"><h2 id="cred-h">Credentials</h2>
    ${revealed && html`<${SecretOnce} credentials=${revealed} where=${serverLocation(session.wsPath)} title="New secret issued" onDone=${() => setRevealed(null)} />`}
    <${CopyField} label="App ID" value=${app.id} /><${CopyField} label="Key" value=${app.key} />
    <p class="muted">The secret was shown once when it was issued and is never displayed again. Rotate it to issue a new one.</p>
    ${app.extraKeys.length > 0 && html`<h3>Previous credentials still accepted</h3>
      <ul class="plain">${app.extraKeys.map((k) => html`<li key=${k}><code>${k}</code> <button disabled=${readOnly} onClick=${() => drop(k)}>Stop accepting</button></li>`)}</ul>`}
    <div class="filters">
      <label><input type="checkbox" checked=${options.newKey} disabled=${readOnly} onChange=${(e) => setOptions({ ...options, newKey: e.target.checked })} /> also issue a new key</label>
      <label><input type="checkbox" checked=${options.keepPrevious} disabled=${readOnly} onChange=${(e) => setOptions({ ...options, keepPrevious: e.target.checked })} /> keep accepting the previous pair</label>
      <button disabled=${readOnly} onClick=${rotate}>Rotate secret</button>
    </div>
    <${Status} status=${status} />
  </section>`;
}

export function Settings({ token, appId, session, onChanged, onDeleted }) {
  const [schema, setSchema] = useState(null);
  const [app, setApp] = useState(null);
  const [form, setForm] = useState({});
  const [errors, setErrors] = useState({});
  const [status, setStatus] = useState(null);
  const [deleting, setDeleting] = useState(false);
  const sections = schema ? fieldsOf(schema) : [];
  const fields = sections.flatMap((s) => s.fields);
  const reset = (next, sch = schema) => {
    setApp(next);
    const values = {};
    for (const f of fieldsOf(sch).flatMap((s) => s.fields)) values[f.path] = toForm(f.node, get(next, f.path));
    setForm(values);
    setErrors({});
  };
  const reload = (sch = schema) => api(`/console/api/apps/${enc(appId)}`, token).then((b) => reset(b.app, sch)).catch((err) => setStatus({ ok: false, text: err.message }));
  useEffect(() => {
    setStatus(null);
    api('/console/api/app-schema', token).then((b) => {
      setSchema(b.schema);
      return reload(b.schema);
    }).catch((err) => setStatus({ ok: false, text: err.message }));
  }, [appId]);
  if (!schema || !app) return html`<section class="panel"><p class="muted">Loading…</p><${Status} status=${status} /></section>`;
  const readOnly = app.source === 'config';

  const change = (path, node) => (raw) => {
    setForm({ ...form, [path]: raw });
    const { error } = fromForm(node, raw);
    setErrors({ ...errors, [path]: error });
  };
  const save = async (e) => {
    e.preventDefault();
    setStatus(null);
    const patch = {};
    const found = {};
    for (const { path, node } of fields) {
      const { value, error } = fromForm(node, form[path]);
      if (error) {
        found[path] = error;
        continue;
      }
      if (JSON.stringify(value) === JSON.stringify(get(app, path) ?? (node.type === 'array' ? [] : node.type === 'string' ? '' : undefined))) continue;
      const [head, tail] = path.split('.');
      if (tail) patch[head] = { ...(patch[head] ?? {}), [tail]: value };
      else patch[head] = path === 'name' && value === '' ? null : value;
    }
    setErrors(found);
    if (Object.keys(found).length > 0) return setStatus({ ok: false, text: 'Fix the highlighted fields' });
    if (Object.keys(patch).length === 0) return setStatus({ ok: true, text: 'Nothing changed' });
    try {
      const b = await api(`/console/api/apps/${enc(appId)}`, token, { method: 'PATCH', body: JSON.stringify(patch) });
      reset(b.app);
      setStatus({ ok: true, text: 'Saved: the change applies now, to open connections too' });
      onChanged();
    } catch (err) {
      setErrors(serverFieldErrors(err.message));
      setStatus({ ok: false, text: err.message });
    }
  };
  const remove = async () => {
    try {
      await api(`/console/api/apps/${enc(appId)}`, token, { method: 'DELETE' });
      onDeleted();
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  return html`<div class="stackpage">
    <form class="panel settings" aria-labelledby="set-h" onSubmit=${save} novalidate>
      <h2 id="set-h">Settings of ${app.name ?? app.id}</h2>
      ${readOnly && html`<p class="warn">This app is defined in configuration (config file or HERALD_APP_* variables): change it there and restart. Shown read-only.</p>`}
      ${sections.map((s) => html`<fieldset key=${s.title} disabled=${readOnly}><legend>${s.title}</legend>${s.help && html`<p class="muted help">${s.help}</p>`}
        <div class="fields">${s.fields.map((f) => html`<${Field} key=${f.path} field=${f} value=${form[f.path]} error=${errors[f.path]} disabled=${readOnly} onChange=${change(f.path, f.node)} />`)}</div>
      </fieldset>`)}
      <div class="filters"><button class="primary" type="submit" disabled=${readOnly}>Save settings</button><button type="button" onClick=${() => reload()}>Discard changes</button></div>
      <${Status} status=${status} />
    </form>
    <${Credentials} token=${token} app=${app} session=${session} onChanged=${() => reload()} />
    ${!readOnly && html`<section class="panel" aria-labelledby="danger-h"><h2 id="danger-h">Delete this app</h2>
      ${deleting ? html`<${ConfirmDelete} app=${{ id: app.id, name: app.name ?? app.id }} onConfirm=${remove} onCancel=${() => setDeleting(false)} />`
        : html`<button class="danger" onClick=${() => setDeleting(true)}>Delete app…</button>`}</section>`}
  </div>`;
}
