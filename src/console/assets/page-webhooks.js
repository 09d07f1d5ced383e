// The Webhooks page of one app: endpoints with their event filters (add, edit, test-send, remove),
// each endpoint's queue (waiting events, next retry, attempts) with "Retry now", and the delivery
// log. Header values are write-only here: they often carry credentials.
import { useEffect, useState } from 'preact/hooks';
import { api, enc, formatTime, html, relative, Status } from './ui.js';

const EMPTY = { url: '', allEvents: true, events: [], channelPrefix: '', headers: '' };

/** "Name: value" lines → object; undefined when left empty (on edit: keep the stored headers). */
function parseHeaders(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) return undefined;
  const out = {};
  for (const line of lines) {
    const cut = line.indexOf(':');
    if (cut <= 0) throw new Error(`Header "${line.slice(0, 60)}" must be written Name: value`);
    out[line.slice(0, cut).trim()] = line.slice(cut + 1).trim();
  }
  return out;
}

function EndpointForm({ token, appId, types, editing, onDone }) {
  const [form, setForm] = useState(editing
    ? { url: editing.url, allEvents: editing.events === null, events: editing.events ?? [], channelPrefix: editing.channelPrefix ?? '', headers: '' }
    : EMPTY);
  const [status, setStatus] = useState(null);
  const toggle = (type) => setForm({ ...form, events: form.events.includes(type) ? form.events.filter((t) => t !== type) : [...form.events, type] });
  const submit = async (e) => {
    e.preventDefault();
    try {
      const endpoint = { url: form.url.trim(), events: form.allEvents ? null : form.events, channelPrefix: form.channelPrefix || null };
      const headers = parseHeaders(form.headers);
      if (headers) endpoint.headers = headers;
      if (editing) await api(`/console/api/apps/${enc(appId)}/webhooks/update`, token, { method: 'POST', body: JSON.stringify({ url: editing.url, endpoint }) });
      else await api(`/console/api/apps/${enc(appId)}/webhooks`, token, { method: 'POST', body: JSON.stringify({ endpoint }) });
      onDone(editing ? `Updated ${endpoint.url}` : `Added ${endpoint.url}`);
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  return html`<form class="stack" onSubmit=${submit} aria-label=${editing ? 'Edit endpoint' : 'Add endpoint'}>
    <label>Endpoint URL <input type="url" value=${form.url} onInput=${(e) => setForm({ ...form, url: e.target.value })} required placeholder="https://example.com/pusher/webhooks" /></label>
    <fieldset><legend>Events</legend>
      <label><input type="checkbox" checked=${form.allEvents} onChange=${(e) => setForm({ ...form, allEvents: e.target.checked })} /> all event types</label>
      ${!form.allEvents && html`<div class="filters">${types.map((t) => html`<label key=${t}><input type="checkbox" checked=${form.events.includes(t)} onChange=${() => toggle(t)} /> ${t}</label>`)}</div>`}
    </fieldset>
    <label>Channel prefix (optional) <input value=${form.channelPrefix} onInput=${(e) => setForm({ ...form, channelPrefix: e.target.value })} placeholder="private-" /></label>
    <label>Extra headers, one "Name: value" per line ${editing?.headerNames.length ? html`<span class="muted">(stored: ${editing.headerNames.join(', ')}; leave empty to keep them)</span>` : ''}
      <textarea rows="2" value=${form.headers} onInput=${(e) => setForm({ ...form, headers: e.target.value })} placeholder="Authorization: Bearer …" autocomplete="off"></textarea></label>
    <div class="filters"><button class="primary" type="submit">${editing ? 'Save endpoint' : 'Add endpoint'}</button>${editing && html`<button type="button" onClick=${() => onDone(null)}>Cancel</button>`}</div>
    <${Status} status=${status} />
  </form>`;
}

function outcomeClass(outcome) {
  return outcome === 'delivered' ? 'ok' : outcome === 'failed' ? 'warn' : 'bad';
}

export function Webhooks({ token, appId }) {
  const [state, setState] = useState({ available: true, endpoints: [], deliveries: [] });
  const [types, setTypes] = useState([]);
  const [editing, setEditing] = useState(null);
  const [formKey, setFormKey] = useState(0);
  const [removing, setRemoving] = useState(null);
  const [status, setStatus] = useState(null);
  const load = () => api(`/console/api/apps/${enc(appId)}/webhooks`, token).then(setState).catch((err) => setStatus({ ok: false, text: err.message }));
  useEffect(() => {
    load();
    api('/console/api/app-schema', token).then((b) => setTypes(b.schema.properties.webhooks.items.properties.events.items.enum ?? [])).catch(() => {});
    const t = setInterval(load, 3000);
    return () => clearInterval(t);
  }, [appId]);
  const act = async (path, url, done) => {
    try {
      const result = await api(`/console/api/apps/${enc(appId)}/webhooks/${path}`, token, { method: 'POST', body: JSON.stringify({ url }) });
      setStatus({ ok: true, text: done(result) });
      load();
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  const finished = (text) => {
    setEditing(null);
    setFormKey((k) => k + 1); // a fresh, empty form
    if (text) setStatus({ ok: true, text });
    load();
  };
  if (!state.available) return html`<section class="panel"><h2>Webhooks</h2><p class="muted">Webhooks are not enabled on this server.</p></section>`;
  const byUrl = new Map(state.endpoints.map((e) => [e.url, e]));
  return html`<div class="stackpage">
    <section class="panel" aria-labelledby="ep-h"><h2 id="ep-h">Webhook endpoints</h2>
      <table data-testid="endpoints"><thead><tr><th>URL</th><th>Events</th><th>Queue</th><th></th></tr></thead><tbody>
        ${state.endpoints.map((e) => html`<tr key=${e.url} data-testid="endpoint-row"><td><code>${e.url}</code>
            ${e.channelPrefix && html`<div class="muted">channels starting with <code>${e.channelPrefix}</code></div>`}
            ${e.headerNames.length > 0 && html`<div class="muted">headers: ${e.headerNames.join(', ')}</div>`}</td>
          <td>${e.events === null ? html`<span class="muted">all</span>` : e.events.length === 0 ? html`<span class="warn">none</span>` : e.events.join(', ')}</td>
          <td>${e.pending > 0 ? html`<span>${e.pending} waiting · next attempt ${relative(e.nextAttemptAt)} · ${e.attempts} failed attempt${e.attempts === 1 ? '' : 's'}</span>
            ${e.lastError && html`<div class="bad">${e.lastError}</div>`}` : html`<span class="muted">empty</span>`}</td>
          <td class="actions">
            <button onClick=${() => act('test', e.url, (r) => `Test delivery to ${e.url}: ${r.delivery.outcome}${r.delivery.status_code ? ` (HTTP ${r.delivery.status_code})` : ''}${r.delivery.error ? ` — ${r.delivery.error}` : ''}`)}>Test</button>
            ${e.pending > 0 && html`<button onClick=${() => act('retry', e.url, (r) => `Retrying ${r.retried} waiting event${r.retried === 1 ? '' : 's'} now`)}>Retry now</button>`}
            <button onClick=${() => { setEditing(e); setRemoving(null); }}>Edit</button>
            ${removing === e.url
              ? html`<button class="danger" onClick=${() => { setRemoving(null); act('remove', e.url, () => `Removed ${e.url}`); }}>Remove (its ${e.pending} waiting events are dropped)</button><button onClick=${() => setRemoving(null)}>Keep</button>`
              : html`<button class="danger" onClick=${() => setRemoving(e.url)}>Remove…</button>`}
          </td></tr>`)}
        ${state.endpoints.length === 0 && html`<tr><td colspan="4" class="muted">No endpoints</td></tr>`}
      </tbody></table>
      <${Status} status=${status} />
    </section>
    <section class="panel" aria-labelledby="epf-h"><h2 id="epf-h">${editing ? 'Edit endpoint' : 'Add an endpoint'}</h2>
      <${EndpointForm} key=${editing ? `edit:${editing.url}` : `new:${formKey}`} token=${token} appId=${appId} types=${types} editing=${editing} onDone=${finished} /></section>
    <section class="panel" aria-labelledby="wh-h"><h2 id="wh-h">Recent deliveries</h2>
      <table data-testid="deliveries"><thead><tr><th>Time</th><th>URL</th><th>Outcome</th><th>Attempt</th><th>Events</th><th>Latency</th><th></th></tr></thead><tbody>
        ${state.deliveries.map((d) => html`<tr key=${d.id} data-testid="delivery-row"><td>${formatTime(d.time_ms)}</td><td><code>${d.url}</code></td>
          <td class=${outcomeClass(d.outcome)}>${d.outcome}${d.status_code ? ` (HTTP ${d.status_code})` : ''}${d.error ? html`<div class="muted">${d.error}</div>` : ''}</td>
          <td>${d.attempt}</td><td title=${d.sample.map((s) => `${s.name} ${s.channel}`).join('\n')}>${d.events} <span class="muted">${d.sample.slice(0, 3).map((s) => s.name).join(', ')}</span></td>
          <td>${d.latency_ms ?? ''}${d.latency_ms !== null ? ' ms' : ''}</td>
          <td>${d.outcome === 'failed' && (byUrl.get(d.url)?.pending ?? 0) > 0 && html`<button onClick=${() => act('retry', d.url, (r) => `Retrying ${r.retried} waiting event${r.retried === 1 ? '' : 's'} now`)}>Retry</button>`}</td></tr>`)}
        ${state.deliveries.length === 0 && html`<tr><td colspan="7" class="muted">No deliveries yet</td></tr>`}
      </tbody></table></section>
  </div>`;
}
