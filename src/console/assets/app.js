// Herald live debug console. Preact + htm, no build step. Data: /console/api/* with the admin token.
import { h, render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const TOKEN_KEY = 'herald-console-token';
const MAX_LOG = 500;
const KINDS = ['connection', 'subscription', 'channel', 'presence', 'client_event', 'api_event', 'webhook'];

async function api(path, token, options = {}) {
  const res = await fetch(path, { ...options, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(options.headers || {}) } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || body.description || `HTTP ${res.status}`);
  return body;
}

/** Reads a server-sent-events stream with fetch (EventSource cannot send an Authorization header). */
function openStream(path, token, onEvent) {
  const controller = new AbortController();
  (async () => {
    while (!controller.signal.aborted) {
      try {
        const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, signal: controller.signal });
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const chunk = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let event = 'message';
            let data = '';
            for (const line of chunk.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data) onEvent(event, JSON.parse(data));
          }
        }
      } catch (err) {
        if (controller.signal.aborted) return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return () => controller.abort();
}

function SignIn({ onToken, error }) {
  const [value, setValue] = useState('');
  return html`<main><section class="panel signin">
    <h2>Sign in to the Herald console</h2>
    <form class="stack" onSubmit=${(e) => { e.preventDefault(); onToken(value.trim()); }}>
      <label>Admin token <input id="token" type="password" autocomplete="current-password" value=${value} onInput=${(e) => setValue(e.target.value)} required /></label>
      ${error && html`<p class="bad" role="alert">${error}</p>`}
      <button class="primary" type="submit">Sign in</button>
      <p class="muted">The token is <code>HERALD_ADMIN_TOKEN</code>. It stays in this tab only.</p>
    </form></section></main>`;
}

function Chart({ points, field, label }) {
  // A fixed 60-second window, padded with zeros, so the chart is a line from the first second.
  const recent = points.slice(-60).map((p) => (p ? p[field] : 0));
  const values = [...new Array(Math.max(0, 60 - recent.length)).fill(0), ...recent];
  const max = Math.max(1, ...values);
  const w = 300;
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const path = values.map((v, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(88 - (v / max) * 80).toFixed(1)}`).join(' ');
  return html`<svg class="chart" viewBox="0 0 300 90" preserveAspectRatio="none" role="img" aria-label=${`${label}: latest ${values[values.length - 1] ?? 0}, peak ${max}`}>
    <path d=${path || 'M0,88 L300,88'} fill="none" stroke="var(--accent)" stroke-width="2" vector-effect="non-scaling-stroke" /></svg>`;
}

function Overview({ stats }) {
  const history = stats?.history ?? [];
  const last = history[history.length - 1];
  return html`<div class="grid2">
    <section class="panel" aria-labelledby="conn-h"><h2 id="conn-h">Connections</h2>
      <div class="stat" data-testid="connections">${stats?.connections ?? 0}</div><${Chart} points=${history} field="connections" label="connections" /></section>
    <section class="panel" aria-labelledby="msg-h"><h2 id="msg-h">Messages / s</h2>
      <div class="stat" data-testid="messages-per-second">${last?.delivered ?? 0}</div>
      <div class="muted">${last?.published ?? 0} published / s</div><${Chart} points=${history} field="delivered" label="messages per second" /></section>
  </div>`;
}

function Channels({ token, appId }) {
  const [channels, setChannels] = useState([]);
  const [members, setMembers] = useState(null);
  const [prefix, setPrefix] = useState('');
  const load = () => api(`/console/api/apps/${encodeURIComponent(appId)}/channels?prefix=${encodeURIComponent(prefix)}`, token).then((b) => setChannels(b.channels)).catch(() => {});
  useEffect(() => { load(); const t = setInterval(load, 2000); return () => clearInterval(t); }, [appId, prefix]);
  const showMembers = (name) => api(`/console/api/apps/${encodeURIComponent(appId)}/channels/${encodeURIComponent(name)}/members`, token).then((b) => setMembers({ name, list: b.members }));
  return html`<section class="panel" aria-labelledby="ch-h"><h2 id="ch-h">Channels</h2>
    <div class="filters"><label>Prefix <input value=${prefix} onInput=${(e) => setPrefix(e.target.value)} /></label></div>
    <table><thead><tr><th>Channel</th><th>Subscribers</th><th>Users</th><th></th></tr></thead><tbody>
      ${channels.map((c) => html`<tr key=${c.name}><td data-testid="channel-name">${c.name}</td><td>${c.subscriptionCount}</td><td>${c.userCount ?? ''}</td>
        <td>${c.name.startsWith('presence-') ? html`<button onClick=${() => showMembers(c.name)}>Members</button>` : ''}</td></tr>`)}
      ${channels.length === 0 && html`<tr><td colspan="4" class="muted">No occupied channels</td></tr>`}
    </tbody></table>
    ${members && html`<h2>Members of ${members.name}</h2><ul data-testid="members">${members.list.map((m) => html`<li key=${m.id}>${m.id} <span class="muted">${JSON.stringify(m.userInfo ?? null)}</span></li>`)}</ul>`}
  </section>`;
}

function EventLog({ entries, dropped, paused, setPaused, clear }) {
  const [kinds, setKinds] = useState(new Set(KINDS));
  const [text, setText] = useState('');
  const shown = useMemo(() => entries.filter((e) => kinds.has(e.kind) && (!text || JSON.stringify(e).includes(text))), [entries, kinds, text]);
  const toggle = (k) => { const next = new Set(kinds); next.has(k) ? next.delete(k) : next.add(k); setKinds(next); };
  return html`<section class="panel" aria-labelledby="log-h"><h2 id="log-h">Live events</h2>
    <div class="filters">
      <button onClick=${() => setPaused(!paused)} aria-pressed=${paused}>${paused ? 'Resume' : 'Pause'}</button>
      <button onClick=${clear}>Clear</button>
      <label>Filter <input value=${text} onInput=${(e) => setText(e.target.value)} placeholder="channel, event, socket…" /></label>
      ${KINDS.map((k) => html`<label key=${k}><input type="checkbox" checked=${kinds.has(k)} onChange=${() => toggle(k)} /> ${k.replace('_', ' ')}</label>`)}
      ${dropped > 0 && html`<span class="warn" title="Sampled to keep the page responsive">${dropped} sampled out</span>`}
    </div>
    <div class="log" aria-live="off"><ul data-testid="event-log">
      ${shown.map((e, i) => html`<li key=${e.at + ':' + i}><span class="muted">${new Date(e.at).toLocaleTimeString()}</span>
        <span class=${`tag ${e.kind}`}>${e.kind.replace('_', ' ')}</span><span>${e.text}</span>
        ${e.socketId && html`<span class="muted">${e.socketId}</span>`}${e.data && html`<code>${e.data}</code>`}</li>`)}
    </ul></div></section>`;
}

function SendEvent({ token, appId }) {
  const [channel, setChannel] = useState('my-channel');
  const [event, setEvent] = useState('test-event');
  const [data, setData] = useState('{"hello":"world"}');
  const [status, setStatus] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    try {
      await api(`/console/api/apps/${encodeURIComponent(appId)}/events`, token, { method: 'POST', body: JSON.stringify({ channel, event, data }) });
      setStatus({ ok: true, text: `Sent ${event} to ${channel}` });
    } catch (err) { setStatus({ ok: false, text: err.message }); }
  };
  return html`<section class="panel" aria-labelledby="send-h"><h2 id="send-h">Send a test event</h2>
    <form class="stack" onSubmit=${submit}>
      <label>Channel <input name="channel" value=${channel} onInput=${(e) => setChannel(e.target.value)} required /></label>
      <label>Event <input name="event" value=${event} onInput=${(e) => setEvent(e.target.value)} required /></label>
      <label>Data <textarea name="data" rows="4" value=${data} onInput=${(e) => setData(e.target.value)}></textarea></label>
      <button class="primary" type="submit">Send event</button>
      ${status && html`<p role="status" class=${status.ok ? 'ok' : 'bad'}>${status.text}</p>`}
    </form></section>`;
}

function Webhooks({ token, appId }) {
  const [state, setState] = useState({ available: true, deliveries: [] });
  useEffect(() => { const load = () => api(`/console/api/apps/${encodeURIComponent(appId)}/webhooks`, token).then(setState).catch(() => {}); load(); const t = setInterval(load, 3000); return () => clearInterval(t); }, [appId]);
  return html`<section class="panel" aria-labelledby="wh-h"><h2 id="wh-h">Webhook deliveries</h2>
    ${!state.available ? html`<p class="muted">Webhooks are not enabled on this server.</p>` : html`
    <table><thead><tr><th>Time</th><th>URL</th><th>Status</th><th>Latency</th><th>Events</th></tr></thead><tbody>
      ${state.deliveries.map((d, i) => html`<tr key=${i}><td>${new Date(d.at ?? d.createdAt ?? d.time ?? Date.now()).toLocaleTimeString()}</td><td>${d.url}</td>
        <td class=${d.status === 'delivered' ? 'ok' : 'bad'}>${d.status}${d.httpStatus ? ` (${d.httpStatus})` : ''}</td><td>${d.latencyMs ?? ''} ms</td><td>${d.eventCount ?? ''}</td></tr>`)}
      ${state.deliveries.length === 0 && html`<tr><td colspan="5" class="muted">No deliveries yet</td></tr>`}
    </tbody></table>`}</section>`;
}

function Settings({ token, appId }) {
  const [app, setApp] = useState(null);
  useEffect(() => { api(`/console/api/apps/${encodeURIComponent(appId)}`, token).then((b) => setApp(b.app)).catch(() => {}); }, [appId]);
  if (!app) return html`<section class="panel"><p class="muted">Loading…</p></section>`;
  return html`<section class="panel" aria-labelledby="set-h"><h2 id="set-h">Settings of ${app.name ?? app.id}</h2>
    <p class="muted">Change settings with <code>herald apps update</code> or the admin API; secrets are never shown here.</p>
    <pre style="white-space:pre-wrap">${JSON.stringify(app, null, 2)}</pre></section>`;
}

function Beams({ token }) {
  const [state, setState] = useState({ available: true, instances: [] });
  const [form, setForm] = useState({ instance: '', interest: 'hello', title: 'Hello', body: 'From the Herald console' });
  const [status, setStatus] = useState(null);
  useEffect(() => { api('/console/api/beams/instances', token).then(setState).catch(() => setState({ available: false, instances: [] })); }, []);
  if (!state.available) return html`<section class="panel"><h2>Beams</h2><p class="muted">Beams is not enabled on this server.</p></section>`;
  const submit = async (e) => {
    e.preventDefault();
    try {
      const id = form.instance || state.instances[0]?.id;
      const r = await api(`/console/api/beams/instances/${encodeURIComponent(id)}/publish`, token, { method: 'POST', body: JSON.stringify({ interest: form.interest, title: form.title, body: form.body }) });
      setStatus({ ok: true, text: `Published ${r.publishId}` });
    } catch (err) { setStatus({ ok: false, text: err.message }); }
  };
  return html`<section class="panel" aria-labelledby="beams-h"><h2 id="beams-h">Beams instances</h2>
    <table><thead><tr><th>Instance</th><th>Devices</th></tr></thead><tbody>
      ${state.instances.map((i) => html`<tr key=${i.id}><td>${i.id}</td><td>${i.devices ?? ''}</td></tr>`)}
      ${state.instances.length === 0 && html`<tr><td colspan="2" class="muted">No instances</td></tr>`}</tbody></table>
    <h2>Publish a test notification</h2>
    <form class="stack" onSubmit=${submit}>
      <label>Instance <select value=${form.instance} onChange=${(e) => setForm({ ...form, instance: e.target.value })}>${state.instances.map((i) => html`<option value=${i.id}>${i.id}</option>`)}</select></label>
      <label>Interest <input value=${form.interest} onInput=${(e) => setForm({ ...form, interest: e.target.value })} required /></label>
      <label>Title <input value=${form.title} onInput=${(e) => setForm({ ...form, title: e.target.value })} /></label>
      <label>Body <input value=${form.body} onInput=${(e) => setForm({ ...form, body: e.target.value })} /></label>
      <button class="primary" type="submit" disabled=${state.instances.length === 0}>Publish</button>
      ${status && html`<p role="status" class=${status.ok ? 'ok' : 'bad'}>${status.text}</p>`}
    </form></section>`;
}

const TABS = ['Overview', 'Channels', 'Events', 'Send event', 'Webhooks', 'Settings', 'Beams'];

function Console({ token, onSignOut }) {
  const [apps, setApps] = useState([]);
  const [appId, setAppId] = useState(null);
  const [tab, setTab] = useState('Overview');
  const [stats, setStats] = useState({});
  const [entries, setEntries] = useState([]);
  const [dropped, setDropped] = useState(0);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  pausedRef.current = paused;

  useEffect(() => { api('/console/api/apps', token).then((b) => { setApps(b.apps); setAppId((cur) => cur ?? b.apps[0]?.id ?? null); }).catch(onSignOut); }, []);
  useEffect(() => {
    if (!appId) return undefined;
    setEntries([]); setStats({});
    return openStream(`/console/api/stream?app=${encodeURIComponent(appId)}`, token, (kind, payload) => {
      if (kind === 'stats') {
        setStats((prev) => {
          const next = { ...prev };
          if (payload.latest) {
            for (const [id, s] of Object.entries(payload.latest)) {
              const history = [...(prev[id]?.history ?? []), s.point].filter(Boolean).slice(-120);
              next[id] = { connections: s.connections, history };
            }
          } else Object.assign(next, payload);
          return next;
        });
      } else if (kind === 'batch' && !pausedRef.current) {
        setEntries((prev) => [...payload.entries.reverse(), ...prev].slice(0, MAX_LOG));
        if (payload.dropped) setDropped((d) => d + payload.dropped);
      }
    });
  }, [appId]);

  return html`<div>
    <header><h1>Herald console</h1>
      <label>App <select id="app" value=${appId ?? ''} onChange=${(e) => setAppId(e.target.value)}>
        ${apps.map((a) => html`<option value=${a.id} key=${a.id}>${a.name} (${a.id})</option>`)}</select></label>
      <span class="spacer"></span><button onClick=${onSignOut}>Sign out</button></header>
    <nav role="tablist" aria-label="Console sections">
      ${TABS.map((t) => html`<button role="tab" key=${t} aria-selected=${tab === t} onClick=${() => setTab(t)}>${t}</button>`)}</nav>
    <main role="tabpanel" aria-label=${tab}>
      ${!appId ? html`<p class="muted">No apps configured.</p>` : null}
      ${appId && tab === 'Overview' && html`<${Overview} stats=${stats[appId]} />`}
      ${appId && tab === 'Channels' && html`<${Channels} token=${token} appId=${appId} />`}
      ${appId && tab === 'Events' && html`<${EventLog} entries=${entries} dropped=${dropped} paused=${paused} setPaused=${setPaused} clear=${() => { setEntries([]); setDropped(0); }} />`}
      ${appId && tab === 'Send event' && html`<${SendEvent} token=${token} appId=${appId} />`}
      ${appId && tab === 'Webhooks' && html`<${Webhooks} token=${token} appId=${appId} />`}
      ${appId && tab === 'Settings' && html`<${Settings} token=${token} appId=${appId} />`}
      ${tab === 'Beams' && html`<${Beams} token=${token} />`}
    </main></div>`;
}

function Root() {
  const [token, setToken] = useState(sessionStorage.getItem(TOKEN_KEY));
  const [error, setError] = useState(null);
  const signIn = async (candidate) => {
    try {
      await api('/console/api/session', candidate);
      sessionStorage.setItem(TOKEN_KEY, candidate);
      setError(null);
      setToken(candidate);
    } catch (err) { setError(err.message); }
  };
  const signOut = () => { sessionStorage.removeItem(TOKEN_KEY); setToken(null); };
  return token ? html`<${Console} token=${token} onSignOut=${signOut} />` : html`<${SignIn} onToken=${signIn} error=${error} />`;
}

const root = document.getElementById('root');
root.textContent = ''; // drop the boot message before Preact takes over
render(html`<${Root} />`, root);
