// The Apps page: every app with its status and live connection count; create (the secret shown
// once, with snippets), enable/disable, delete with confirmation.
import { useEffect, useState } from 'preact/hooks';
import { api, enc, html, ScopeNote, SecretOnce, serverLocation, Status } from './ui.js';

function CreateApp({ token, onCreated }) {
  const [form, setForm] = useState({ name: '', id: '', key: '', secret: '' });
  const [status, setStatus] = useState(null);
  const set = (field) => (e) => setForm({ ...form, [field]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    const body = {};
    for (const [field, value] of Object.entries(form)) if (value.trim() !== '') body[field] = value.trim();
    try {
      const created = await api('/console/api/apps', token, { method: 'POST', body: JSON.stringify(body) });
      setForm({ name: '', id: '', key: '', secret: '' });
      setStatus(null);
      onCreated(created);
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  return html`<section class="panel" aria-labelledby="create-h"><h2 id="create-h">Create an app</h2>
    <form class="stack" onSubmit=${submit}>
      <label>App name <input value=${form.name} onInput=${set('name')} maxlength="200" placeholder="Chat" /></label>
      <details><summary>Choose the id, key or secret (generated when left empty)</summary>
        <div class="stack">
          <label>App id <input value=${form.id} onInput=${set('id')} pattern="[A-Za-z0-9_.\\-]{1,64}" placeholder="generated: 7 digits" /></label>
          <label>Key <input value=${form.key} onInput=${set('key')} pattern="[A-Za-z0-9_.\\-]{1,128}" placeholder="generated: 20 hex characters" /></label>
          <label>Secret <input value=${form.secret} onInput=${set('secret')} minlength="8" autocomplete="off" placeholder="generated: 32 hex characters" /></label>
        </div></details>
      <button class="primary" type="submit">Create app</button>
      <${Status} status=${status} />
    </form></section>`;
}

export function ConfirmDelete({ app, onConfirm, onCancel }) {
  const [typed, setTyped] = useState('');
  return html`<div class="confirm" role="alertdialog" aria-labelledby=${`del-${app.id}`}>
    <p id=${`del-${app.id}`}>Delete <strong>${app.name}</strong>? Its connections are closed (4001) and its usage history is deleted. This cannot be undone.</p>
    <label>Type the app id <code>${app.id}</code> to confirm <input value=${typed} onInput=${(e) => setTyped(e.target.value)} /></label>
    <div class="filters"><button class="danger" disabled=${typed !== app.id} onClick=${onConfirm}>Delete permanently</button><button onClick=${onCancel}>Cancel</button></div>
  </div>`;
}

export function Apps({ token, session, onOpen, onChanged }) {
  const [state, setState] = useState({ apps: [], scope: 'node' });
  const [revealed, setRevealed] = useState(null);
  const [deleting, setDeleting] = useState(null);
  const [status, setStatus] = useState(null);
  const load = () => api('/console/api/apps', token).then(setState).catch((err) => setStatus({ ok: false, text: err.message }));
  useEffect(() => {
    load();
    const t = setInterval(load, 3000);
    return () => clearInterval(t);
  }, []);
  const changed = () => {
    load();
    onChanged();
  };
  const setEnabled = async (app, enabled) => {
    try {
      await api(`/console/api/apps/${enc(app.id)}`, token, { method: 'PATCH', body: JSON.stringify({ enabled }) });
      setStatus({ ok: true, text: `${app.name} ${enabled ? 'enabled' : 'disabled'}` });
      changed();
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  const remove = async (app) => {
    try {
      await api(`/console/api/apps/${enc(app.id)}`, token, { method: 'DELETE' });
      setDeleting(null);
      setStatus({ ok: true, text: `Deleted ${app.name}` });
      changed();
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  return html`<div class="stackpage">
    ${revealed && html`<${SecretOnce} credentials=${revealed.credentials} where=${serverLocation(session.wsPath)} title=${`App ${revealed.app.name ?? revealed.app.id} created`}
      onDone=${() => { setRevealed(null); changed(); }} />`}
    <section class="panel" aria-labelledby="apps-h"><h2 id="apps-h">Apps <${ScopeNote} scope=${state.scope} /></h2>
      ${state.storeError && html`<p class="warn" role="alert">App store unavailable: ${state.storeError}</p>`}
      <table data-testid="apps-table"><thead><tr><th>Name</th><th>App id</th><th>Key</th><th>Status</th><th>Connections</th><th>Source</th><th></th></tr></thead><tbody>
        ${state.apps.map((a) => html`<tr key=${a.id} data-testid="app-row">
          <td><button class="link" onClick=${() => onOpen(a.id)} data-testid="app-name">${a.name}</button></td>
          <td><code>${a.id}</code></td><td><code>${a.key}</code></td>
          <td><span class=${a.enabled ? 'badge ok' : 'badge bad'}>${a.enabled ? 'enabled' : 'disabled'}</span></td>
          <td data-testid="app-connections">${a.connections}</td>
          <td>${a.source === 'config' ? html`<span class="muted" title="Defined in configuration: read-only here">configuration</span>` : 'store'}</td>
          <td class="actions">${a.source === 'store' && html`
            <button onClick=${() => setEnabled(a, !a.enabled)}>${a.enabled ? 'Disable' : 'Enable'}</button>
            <button class="danger" onClick=${() => setDeleting(a.id)}>Delete</button>`}</td></tr>
          ${deleting === a.id && html`<tr key=${`${a.id}-confirm`}><td colspan="7"><${ConfirmDelete} app=${a} onConfirm=${() => remove(a)} onCancel=${() => setDeleting(null)} /></td></tr>`}`)}
        ${state.apps.length === 0 && html`<tr><td colspan="7" class="muted">No apps yet</td></tr>`}
      </tbody></table>
      <${Status} status=${status} />
    </section>
    <${CreateApp} token=${token} onCreated=${(created) => { setRevealed(created); setStatus(null); load(); }} />
  </div>`;
}
