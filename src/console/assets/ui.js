// Shared pieces of the console pages: the API client, messages, copy buttons, client snippets,
// charts. Every user-controlled string is rendered as a text node or an attribute value by Preact
// (never as HTML), so channel names, event data and app names cannot inject markup.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

/** Calls the console API with the admin token; rejects with the server's message. */
export async function api(path, token, options = {}) {
  const res = await fetch(path, { ...options, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(options.headers || {}) } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(body.error || body.description || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

export const enc = encodeURIComponent;

/** A result line: role=status so screen readers (and tests) find it. */
export function Status({ status }) {
  if (!status) return null;
  return html`<p role="status" class=${status.ok ? 'ok' : 'bad'}>${status.text}</p>`;
}

export function CopyButton({ text, label = 'Copy' }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard access needs a secure context; fall back to a selection the user can copy.
      const area = document.createElement('textarea');
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  };
  return html`<button type="button" class="copy" onClick=${copy}>${done ? 'Copied' : label}</button>`;
}

/** One value with a copy button (app id, key, secret). */
export function CopyField({ label, value, testId }) {
  return html`<div class="copyfield"><span class="muted">${label}</span><code data-testid=${testId}>${value}</code><${CopyButton} text=${value} label=${`Copy ${label.toLowerCase()}`} /></div>`;
}

/** Where clients reach this server: the page's own origin (the console is served by Herald). */
export function serverLocation(wsPath) {
  const secure = location.protocol === 'https:';
  const port = location.port || (secure ? '443' : '80');
  return { host: location.hostname, port, secure, wsPath: wsPath || '', origin: location.origin };
}

/** Ready-to-paste client and server configuration for an app's credentials. */
export function snippets(credentials, where) {
  const { appId, key, secret } = credentials;
  const s = (v) => JSON.stringify(v);
  const wsPath = where.wsPath ? `\n  wsPath: ${s(where.wsPath)},` : '';
  return [
    {
      name: 'pusher-js',
      code: `import Pusher from 'pusher-js';

const pusher = new Pusher(${s(key)}, {
  cluster: 'herald', // required by pusher-js, ignored by Herald
  wsHost: ${s(where.host)},
  wsPort: ${where.port},
  wssPort: ${where.port},
  forceTLS: ${where.secure},${wsPath}
  enabledTransports: ['ws', 'wss'],
});
pusher.subscribe('my-channel').bind('my-event', (data) => console.log(data));`,
    },
    {
      name: 'Laravel Echo',
      code: `import Echo from 'laravel-echo';
import Pusher from 'pusher-js';
window.Pusher = Pusher;

window.Echo = new Echo({
  broadcaster: 'pusher',
  key: ${s(key)},
  cluster: 'herald',
  wsHost: ${s(where.host)},
  wsPort: ${where.port},
  wssPort: ${where.port},
  forceTLS: ${where.secure},${wsPath}
  enabledTransports: ['ws', 'wss'],
});

# .env of the Laravel app (config/broadcasting.php, pusher driver)
PUSHER_APP_ID=${appId}
PUSHER_APP_KEY=${key}
PUSHER_APP_SECRET=${secret}
PUSHER_HOST=${where.host}
PUSHER_PORT=${where.port}
PUSHER_SCHEME=${where.secure ? 'https' : 'http'}`,
    },
    {
      name: 'pusher (Node SDK)',
      code: `import Pusher from 'pusher';

const pusher = new Pusher({
  appId: ${s(appId)},
  key: ${s(key)},
  secret: ${s(secret)},
  host: ${s(where.host)},
  port: ${s(where.port)},
  useTLS: ${where.secure},
});
await pusher.trigger('my-channel', 'my-event', { message: 'hello' });`,
    },
  ];
}

/**
 * A secret shown exactly once (after create or rotate): copy buttons and snippets, then it is gone.
 * Nothing keeps it: the server will not send it again and the page drops it on "Done".
 */
export function SecretOnce({ credentials, where, title, onDone }) {
  const [tab, setTab] = useState(0);
  const list = snippets(credentials, where);
  return html`<section class="panel reveal" aria-labelledby="reveal-h" data-testid="secret-once">
    <h2 id="reveal-h">${title}</h2>
    <p class="warn">Copy the secret now: it is shown only this once and cannot be displayed again (rotate it if it is lost).</p>
    <${CopyField} label="App ID" value=${credentials.appId} testId="new-app-id" />
    <${CopyField} label="Key" value=${credentials.key} testId="new-app-key" />
    <${CopyField} label="Secret" value=${credentials.secret} testId="new-app-secret" />
    <div class="filters" role="tablist" aria-label="Snippets">
      ${list.map((sn, i) => html`<button type="button" role="tab" aria-selected=${tab === i} onClick=${() => setTab(i)}>${sn.name}</button>`)}
    </div>
    <pre class="snippet" data-testid="snippet">${list[tab].code}</pre>
    <div class="filters"><${CopyButton} text=${list[tab].code} label="Copy snippet" /><button class="primary" type="button" onClick=${onDone}>Done, I saved the secret</button></div>
  </section>`;
}

/** A line chart of `values` (numbers) with a label for assistive technology. */
export function LineChart({ values, label, height = 90 }) {
  const max = Math.max(1, ...values);
  const w = 300;
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const y = (v) => (height - 2 - (v / max) * (height - 10)).toFixed(1);
  const path = values.map((v, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${y(v)}`).join(' ');
  return html`<svg class="chart" viewBox=${`0 0 300 ${height}`} style=${`height:${height}px`} preserveAspectRatio="none" role="img" aria-label=${`${label}: latest ${values[values.length - 1] ?? 0}, peak ${max}`}>
    <path d=${path || `M0,${height - 2} L300,${height - 2}`} fill="none" stroke="var(--accent)" stroke-width="2" vector-effect="non-scaling-stroke" /></svg>`;
}

/** A bar chart with one bar per day and the day under the first and last bar. */
export function BarChart({ days, field, label, testId }) {
  const values = days.map((d) => d[field] ?? 0);
  const max = Math.max(1, ...values);
  const width = Math.max(1, values.length);
  const bar = 300 / width;
  return html`<figure class="bars" data-testid=${testId}>
    <svg viewBox="0 0 300 120" preserveAspectRatio="none" role="img" aria-label=${`${label}: total ${values.reduce((a, b) => a + b, 0)}, peak ${Math.max(0, ...values)}`}>
      ${values.map((v, i) => html`<rect x=${(i * bar + bar * 0.1).toFixed(2)} y=${(118 - (v / max) * 110).toFixed(2)} width=${(bar * 0.8).toFixed(2)} height=${((v / max) * 110).toFixed(2)} fill="var(--accent)"><title>${days[i].date}: ${v}</title></rect>`)}
    </svg>
    <figcaption class="muted"><span>${days[0]?.date ?? ''}</span><span>peak ${Math.max(0, ...values).toLocaleString()}</span><span>${days[days.length - 1]?.date ?? ''}</span></figcaption>
  </figure>`;
}

export function formatTime(ms) {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

/** "in 12 s", "now", "3 min ago" for a Unix ms time. */
export function relative(ms) {
  if (ms === null || ms === undefined) return '';
  const s = Math.round((ms - Date.now()) / 1000);
  if (Math.abs(s) < 2) return 'now';
  const abs = Math.abs(s);
  const text = abs < 90 ? `${abs} s` : abs < 5400 ? `${Math.round(abs / 60)} min` : `${Math.round(abs / 3600)} h`;
  return s > 0 ? `in ${text}` : `${text} ago`;
}

export function ScopeNote({ scope }) {
  if (scope === 'cluster') return html`<span class="scope muted" data-testid="scope" title="Every node of the cluster (and every worker)">all nodes</span>`;
  if (scope !== 'node') return null;
  return html`<span class="scope muted" data-testid="scope" title="Only the node serving this page; other nodes are not included">this node</span>`;
}
