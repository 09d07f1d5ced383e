/**
 * The query explorer served at GET /graphql (Accept: text/html): one self-contained page, no CDN.
 * Queries and mutations are POSTed; subscriptions open a WebSocket speaking the graphql-ws protocol
 * (graphql-transport-ws: connection_init → subscribe → next…). Credentials stay in the page: they
 * are never stored.
 */

const STYLE = `
  body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
  header{padding:10px 16px;background:#1d2330;color:#fff;display:flex;gap:12px;align-items:center}
  header h1{font-size:16px;margin:0;font-weight:600}
  main{display:grid;grid-template-columns:1fr 1fr;gap:12px;padding:12px}
  section{display:flex;flex-direction:column;gap:6px;min-width:0}
  label{font-weight:600;font-size:12px;text-transform:uppercase;color:#555}
  textarea,input,select{font:13px/1.4 ui-monospace,monospace;padding:6px;border:1px solid #c8ccd4;border-radius:4px;background:#fff}
  textarea{resize:vertical}
  #query{min-height:260px}#variables{min-height:80px}
  pre{margin:0;padding:8px;background:#fff;border:1px solid #c8ccd4;border-radius:4px;min-height:420px;overflow:auto;white-space:pre-wrap;word-break:break-word}
  .row{display:flex;gap:6px;align-items:center;flex-wrap:wrap}
  button{padding:6px 14px;border:0;border-radius:4px;background:#3056d3;color:#fff;font-weight:600;cursor:pointer}
  button.secondary{background:#6b7280}
  #status{font-size:12px;color:#555}
`;

const SCRIPT = `
const $ = (id) => document.getElementById(id);
const endpoint = document.body.dataset.endpoint;
let socket;
for (const id of ['query', 'variables']) {
  const saved = localStorage.getItem('herald-graphql-' + id);
  if (saved) $(id).value = saved;
  $(id).addEventListener('input', () => localStorage.setItem('herald-graphql-' + id, $(id).value));
}
function authorization() {
  const mode = $('mode').value;
  if (mode === 'basic') return 'Basic ' + btoa(unescape(encodeURIComponent($('user').value + ':' + $('secret').value)));
  if (mode === 'bearer') return 'Bearer ' + $('secret').value;
  return '';
}
function show(value) { $('result').textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2); }
function append(value) { $('result').textContent += JSON.stringify(value, null, 2) + '\\n'; }
function status(text) { $('status').textContent = text; }
function variables() {
  const text = $('variables').value.trim();
  if (!text) return undefined;
  return JSON.parse(text);
}
function stop() { if (socket) { socket.close(1000, 'stopped'); socket = undefined; status('subscription stopped'); } }
async function run() {
  stop();
  let vars;
  try { vars = variables(); } catch (e) { return show('Variables are not valid JSON: ' + e.message); }
  const query = $('query').value;
  if (/^\\s*subscription\\b/.test(query.replace(/#[^\\n]*/g, ''))) return subscribe(query, vars);
  status('running…');
  const headers = { 'Content-Type': 'application/json' };
  const auth = authorization();
  if (auth) headers.Authorization = auth;
  try {
    const res = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify({ query, variables: vars }) });
    status('HTTP ' + res.status);
    show(await res.json());
  } catch (e) { status('failed'); show(String(e)); }
}
function subscribe(query, vars) {
  const url = location.origin.replace(/^http/, 'ws') + endpoint;
  socket = new WebSocket(url, 'graphql-transport-ws');
  show('');
  status('connecting…');
  socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: authorization() } }));
  socket.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === 'connection_ack') { status('subscribed — waiting for events'); socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: vars } })); }
    else if (msg.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
    else if (msg.type === 'next') append(msg.payload);
    else if (msg.type === 'error') { append({ errors: msg.payload }); status('error'); }
    else if (msg.type === 'complete') status('complete');
  };
  socket.onclose = (e) => status('closed' + (e.code !== 1000 ? ' (' + e.code + ' ' + e.reason + ')' : ''));
}
async function schema() {
  const q = '{ __schema { queryType { fields { name description } } mutationType { fields { name description } } subscriptionType { fields { name description } } } }';
  const res = await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query: q }) });
  const body = await res.json();
  if (!body.data) return show(body);
  const s = body.data.__schema;
  const lines = [];
  for (const [title, type] of [['Queries', s.queryType], ['Mutations', s.mutationType], ['Subscriptions', s.subscriptionType]]) {
    lines.push('# ' + title);
    for (const f of type.fields) lines.push('  ' + f.name + ' — ' + (f.description || '').split('\\n')[0]);
    lines.push('');
  }
  show(lines.join('\\n') + 'Full schema: src/graphql/schema.graphql (docs/graphql.md)');
}
$('mode').addEventListener('change', () => { $('user').style.display = $('mode').value === 'basic' ? '' : 'none'; });
$('run').addEventListener('click', run);
$('stop').addEventListener('click', stop);
$('schema').addEventListener('click', schema);
document.addEventListener('keydown', (e) => { if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') run(); });
`;

const DEFAULT_QUERY = `# Ctrl+Enter runs. Queries and mutations use HTTP POST; subscriptions use graphql-ws.
query {
  app {
    id
    name
    cluster { name version broker }
  }
  channels(first: 20) {
    totalCount
    channels { name type occupancy { subscriptionCount userCount } }
  }
}`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function explorerHtml(endpoint: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Herald GraphQL explorer</title>
<style>${STYLE}</style>
</head>
<body data-endpoint="${escapeHtml(endpoint)}">
<header><h1>Herald GraphQL explorer</h1><span id="status"></span></header>
<main>
  <section>
    <label for="mode">Authorization</label>
    <div class="row">
      <select id="mode" aria-label="Credential type">
        <option value="basic">App key + secret (or Beams instance id + secret key)</option>
        <option value="bearer">Admin token</option>
        <option value="none">None (introspection only)</option>
      </select>
      <input id="user" placeholder="app key / instance id" autocomplete="off" size="18">
      <input id="secret" type="password" placeholder="secret / token" autocomplete="off" size="24">
    </div>
    <label for="query">Query</label>
    <textarea id="query" spellcheck="false">${escapeHtml(DEFAULT_QUERY)}</textarea>
    <label for="variables">Variables (JSON)</label>
    <textarea id="variables" spellcheck="false" placeholder='{"appId": "…"}'></textarea>
    <div class="row">
      <button id="run" type="button">Run</button>
      <button id="stop" type="button" class="secondary">Stop subscription</button>
      <button id="schema" type="button" class="secondary">List operations</button>
    </div>
  </section>
  <section>
    <label for="result">Result</label>
    <pre id="result" aria-live="polite"></pre>
  </section>
</main>
<script>${SCRIPT}</script>
</body>
</html>`;
}
