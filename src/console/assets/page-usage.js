// The Usage page of one app: messages per day and peak connections per day over a chosen range
// (the daily counters the apps capability stores, UTC days), today's numbers and quotas.
import { useEffect, useState } from 'preact/hooks';
import { api, BarChart, enc, html, Status } from './ui.js';

const RANGES = [7, 30, 90, 365];

/** One entry per UTC day from `from` to `to`: days without stored usage count zero. */
function everyDay(from, to, days) {
  const byDate = new Map(days.map((d) => [d.date, d]));
  const out = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    const date = new Date(t).toISOString().slice(0, 10);
    out.push(byDate.get(date) ?? { date, messages: 0, messagesSent: 0, messagesDelivered: 0, connections: 0, peakConnections: 0 });
  }
  return out;
}

export function Usage({ token, appId }) {
  const [range, setRange] = useState({ days: 30, from: '', to: '' });
  const [data, setData] = useState(null);
  const [status, setStatus] = useState(null);
  const query = range.from && range.to ? `from=${enc(range.from)}&to=${enc(range.to)}` : `days=${range.days}`;
  useEffect(() => {
    api(`/console/api/apps/${enc(appId)}/usage?${query}`, token).then((b) => { setData(b); setStatus(null); }).catch((err) => setStatus({ ok: false, text: err.message }));
  }, [appId, query]);
  const days = data ? everyDay(data.from, data.to, data.days) : [];
  const total = (field) => days.reduce((sum, d) => sum + (d[field] ?? 0), 0);
  const quota = data?.stats?.quotas;
  return html`<div class="stackpage">
    <section class="panel" aria-labelledby="usage-h"><h2 id="usage-h">Usage</h2>
      <div class="filters">
        ${RANGES.map((n) => html`<button key=${n} aria-pressed=${!range.from && range.days === n} onClick=${() => setRange({ days: n, from: '', to: '' })}>${n} days</button>`)}
        <label>From <input type="date" value=${range.from} onInput=${(e) => setRange({ ...range, from: e.target.value })} /></label>
        <label>To <input type="date" value=${range.to} onInput=${(e) => setRange({ ...range, to: e.target.value })} /></label>
        ${data && html`<span class="muted">${data.from} – ${data.to} (UTC days)</span>`}
      </div>
      <${Status} status=${status} />
      <div class="grid2">
        <div><h3>Messages per day</h3><${BarChart} days=${days} field="messages" label="messages per day" testId="messages-chart" />
          <p class="muted">${total('messages').toLocaleString()} messages (${total('messagesSent').toLocaleString()} sent, ${total('messagesDelivered').toLocaleString()} delivered)</p></div>
        <div><h3>Peak connections per day</h3><${BarChart} days=${days} field="peakConnections" label="peak connections per day" testId="connections-chart" />
          <p class="muted">highest: ${Math.max(0, ...days.map((d) => d.peakConnections ?? 0)).toLocaleString()} · ${total('connections').toLocaleString()} connections opened</p></div>
      </div>
    </section>
    ${data?.stats && html`<section class="panel" aria-labelledby="today-h"><h2 id="today-h">Today (UTC)</h2>
      <table><tbody>
        <tr><th>Messages</th><td data-testid="today-messages">${data.stats.today.messages.toLocaleString()}</td></tr>
        <tr><th>API calls</th><td>${data.stats.today.apiCalls.toLocaleString()}</td></tr>
        <tr><th>Webhooks sent</th><td>${data.stats.today.webhooksSent.toLocaleString()}</td></tr>
        <tr><th>Connections now / peak today</th><td>${data.stats.connections.current} / ${data.stats.connections.peakToday}</td></tr>
        <tr><th>Daily message quota</th><td>${quota.dailyMessages.limit ? `${quota.dailyMessages.used.toLocaleString()} of ${quota.dailyMessages.limit.toLocaleString()}` : 'unlimited'}</td></tr>
        <tr><th>Connection quota</th><td>${quota.maxConnections.limit ? `${quota.maxConnections.current} of ${quota.maxConnections.limit}` : 'unlimited'}</td></tr>
      </tbody></table></section>`}
  </div>`;
}
