// Live pages of one app: Overview (connections, messages per second), Channels (with presence
// members), Events (the live feed) and Send event.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, enc, html, LineChart, relative, ScopeNote, Status } from './ui.js';

export const KINDS = ['connection', 'subscription', 'channel', 'presence', 'client_event', 'api_event', 'webhook'];

function windowed(points, field) {
  // A fixed 60-second window, padded with zeros, so the chart is a line from the first second.
  const recent = points.slice(-60).map((p) => (p ? p[field] : 0));
  return [...new Array(Math.max(0, 60 - recent.length)).fill(0), ...recent];
}

/** The nodes the numbers come from (`cluster` info), with this app's and all connections. */
function Nodes({ token, appId }) {
  const [state, setState] = useState(null);
  useEffect(() => {
    const load = () => api(`/console/api/cluster?app=${enc(appId)}`, token).then(setState).catch(() => {});
    load();
    const t = setInterval(load, 3000);
    return () => clearInterval(t);
  }, [appId]);
  if (!state || state.nodes.length === 0) return null;
  return html`<section class="panel wide" aria-labelledby="nodes-h"><h2 id="nodes-h">Nodes <span class="muted" data-testid="node-count">${state.nodes.length}</span> <${ScopeNote} scope=${state.scope} /></h2>
    <table data-testid="cluster-nodes"><thead><tr><th>Node</th><th>This app</th><th>All apps</th><th>Reported</th></tr></thead><tbody>
      ${state.nodes.map((n) => html`<tr key=${n.id}><td><code>${n.id}</code>${n.self ? html` <span class="badge">serving this page</span>` : ''}</td>
        <td>${n.appConnections ?? ''}</td><td>${n.connections}</td><td>${relative(n.reportedAt)}</td></tr>`)}
    </tbody></table></section>`;
}

export function Overview({ stats, scope, token, appId }) {
  const history = stats?.history ?? [];
  const last = history[history.length - 1];
  return html`<div class="grid2">
    <section class="panel" aria-labelledby="conn-h"><h2 id="conn-h">Connections <${ScopeNote} scope=${scope?.connections} /></h2>
      <div class="stat" data-testid="connections">${stats?.connections ?? 0}</div><${LineChart} values=${windowed(history, 'connections')} label="connections" /></section>
    <section class="panel" aria-labelledby="msg-h"><h2 id="msg-h">Messages / s <${ScopeNote} scope=${scope?.feed} /></h2>
      <div class="stat" data-testid="messages-per-second">${last?.delivered ?? 0}</div>
      <div class="muted">${last?.published ?? 0} published / s</div><${LineChart} values=${windowed(history, 'delivered')} label="messages per second" /></section>
    ${token && html`<${Nodes} token=${token} appId=${appId} />`}
  </div>`;
}

export function Channels({ token, appId }) {
  const [state, setState] = useState({ channels: [], scope: 'node', total: 0 });
  const [members, setMembers] = useState(null);
  const [prefix, setPrefix] = useState('');
  useEffect(() => {
    const load = () => api(`/console/api/apps/${enc(appId)}/channels?prefix=${enc(prefix)}`, token).then(setState).catch(() => {});
    load();
    const t = setInterval(load, 2000);
    return () => clearInterval(t);
  }, [appId, prefix]);
  const showMembers = (name) => api(`/console/api/apps/${enc(appId)}/channels/${enc(name)}/members`, token).then((b) => setMembers({ name, list: b.members }));
  const { channels } = state;
  return html`<section class="panel" aria-labelledby="ch-h"><h2 id="ch-h">Channels <${ScopeNote} scope=${state.scope} /></h2>
    <div class="filters"><label>Prefix <input value=${prefix} onInput=${(e) => setPrefix(e.target.value)} /></label>
      ${state.total > channels.length && html`<span class="muted">showing ${channels.length} of ${state.total}</span>`}</div>
    <table><thead><tr><th>Channel</th><th>Subscribers</th><th>Users</th><th></th></tr></thead><tbody>
      ${channels.map((c) => html`<tr key=${c.name}><td data-testid="channel-name">${c.name}</td><td>${c.subscriptionCount}</td><td>${c.userCount ?? ''}</td>
        <td>${c.name.startsWith('presence-') ? html`<button onClick=${() => showMembers(c.name)}>Members</button>` : ''}</td></tr>`)}
      ${channels.length === 0 && html`<tr><td colspan="4" class="muted">No occupied channels</td></tr>`}
    </tbody></table>
    ${members && html`<h2>Members of ${members.name}</h2><ul data-testid="members">${members.list.map((m) => html`<li key=${m.id}>${m.id} <span class="muted">${JSON.stringify(m.userInfo ?? null)}</span></li>`)}</ul>`}
  </section>`;
}

export function EventLog({ entries, dropped, paused, setPaused, clear, scope }) {
  const [kinds, setKinds] = useState(new Set(KINDS));
  const [text, setText] = useState('');
  const shown = useMemo(() => entries.filter((e) => kinds.has(e.kind) && (!text || JSON.stringify(e).includes(text))), [entries, kinds, text]);
  const toggle = (k) => {
    const next = new Set(kinds);
    if (next.has(k)) next.delete(k);
    else next.add(k);
    setKinds(next);
  };
  return html`<section class="panel" aria-labelledby="log-h"><h2 id="log-h">Live events <${ScopeNote} scope=${scope?.feed} /></h2>
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
        ${e.socketId && html`<span class="muted">${e.socketId}</span>`}${e.node && html`<span class="muted node" data-testid="entry-node" title="Node">@${e.node}</span>`}${e.data && html`<code>${e.data}</code>`}</li>`)}
    </ul></div></section>`;
}

export function SendEvent({ token, appId }) {
  const [channel, setChannel] = useState('my-channel');
  const [event, setEvent] = useState('test-event');
  const [data, setData] = useState('{"hello":"world"}');
  const [status, setStatus] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    try {
      await api(`/console/api/apps/${enc(appId)}/events`, token, { method: 'POST', body: JSON.stringify({ channel, event, data }) });
      setStatus({ ok: true, text: `Sent ${event} to ${channel}` });
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  return html`<section class="panel" aria-labelledby="send-h"><h2 id="send-h">Send a test event</h2>
    <form class="stack" onSubmit=${submit}>
      <label>Channel <input name="channel" value=${channel} onInput=${(e) => setChannel(e.target.value)} required /></label>
      <label>Event <input name="event" value=${event} onInput=${(e) => setEvent(e.target.value)} required /></label>
      <label>Data <textarea name="data" rows="4" value=${data} onInput=${(e) => setData(e.target.value)}></textarea></label>
      <button class="primary" type="submit">Send event</button>
      <${Status} status=${status} />
    </form></section>`;
}
