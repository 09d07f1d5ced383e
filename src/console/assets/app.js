// Herald console: the shell (sign-in, app picker, tabs, live stream). Preact + htm, no build step.
// Data: /console/api/* with the admin token (docs/console.md). Pages live in page-*.js.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, enc, html } from './ui.js';
import { Apps } from './page-apps.js';
import { Beams } from './page-beams.js';
import { Channels, EventLog, Overview, SendEvent } from './page-live.js';
import { Settings } from './page-settings.js';
import { Usage } from './page-usage.js';
import { Webhooks } from './page-webhooks.js';

const TOKEN_KEY = 'herald-console-token';
const MAX_LOG = 500;

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
      } catch {
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

/** Tabs; `app: true` ones are about the app picked in the header. */
const TABS = [
  { name: 'Apps' },
  { name: 'Overview', app: true },
  { name: 'Channels', app: true },
  { name: 'Events', app: true },
  { name: 'Send event', app: true },
  { name: 'Webhooks', app: true },
  { name: 'Usage', app: true },
  { name: 'Settings', app: true },
  { name: 'Beams' },
];

function Console({ token, session, onSignOut }) {
  const [apps, setApps] = useState([]);
  const [appId, setAppId] = useState(null);
  const [tab, setTab] = useState('Apps');
  const [stats, setStats] = useState({});
  const [entries, setEntries] = useState([]);
  const [dropped, setDropped] = useState(0);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  pausedRef.current = paused;

  const loadApps = () =>
    api('/console/api/apps', token)
      .then((b) => {
        setApps(b.apps);
        setAppId((cur) => (cur && b.apps.some((a) => a.id === cur) ? cur : b.apps[0]?.id ?? null));
      })
      .catch((err) => (err.status === 401 ? onSignOut() : undefined));
  useEffect(() => { loadApps(); }, []);
  useEffect(() => {
    if (!appId || !apps.some((a) => a.id === appId && a.served)) return undefined;
    setEntries([]);
    setStats({});
    return openStream(`/console/api/stream?app=${enc(appId)}`, token, (kind, payload) => {
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
  }, [appId, apps.some((a) => a.id === appId && a.served)]);

  const open = (id) => {
    setAppId(id);
    setTab('Overview');
  };
  const current = apps.find((a) => a.id === appId);
  const needsApp = TABS.find((t) => t.name === tab)?.app;
  const pageProps = { token, appId, session };
  return html`<div>
    <header><h1>Herald console</h1>
      <label>App <select id="app" value=${appId ?? ''} onChange=${(e) => setAppId(e.target.value)}>
        ${apps.map((a) => html`<option value=${a.id} key=${a.id}>${a.name} (${a.id})${a.enabled ? '' : ' — disabled'}</option>`)}</select></label>
      <span class="spacer"></span><button onClick=${onSignOut}>Sign out</button></header>
    <nav role="tablist" aria-label="Console sections">
      ${TABS.map((t) => html`<button role="tab" key=${t.name} aria-selected=${tab === t.name} onClick=${() => setTab(t.name)}>${t.name}</button>`)}</nav>
    <main role="tabpanel" aria-label=${tab}>
      ${needsApp && !appId ? html`<p class="muted">No apps yet: create one on the Apps tab.</p>` : null}
      ${needsApp && current && !current.served ? html`<p class="warn">This app is not being served (it clashes with a configured app, or the store has not loaded it yet).</p>` : null}
      ${tab === 'Apps' && html`<${Apps} token=${token} session=${session} onOpen=${open} onChanged=${loadApps} />`}
      ${appId && tab === 'Overview' && html`<${Overview} stats=${stats[appId]} scope=${session.scope} token=${token} appId=${appId} />`}
      ${appId && tab === 'Channels' && html`<${Channels} ...${pageProps} />`}
      ${appId && tab === 'Events' && html`<${EventLog} entries=${entries} dropped=${dropped} paused=${paused} setPaused=${setPaused} scope=${session.scope} clear=${() => { setEntries([]); setDropped(0); }} />`}
      ${appId && tab === 'Send event' && html`<${SendEvent} ...${pageProps} />`}
      ${appId && tab === 'Webhooks' && html`<${Webhooks} ...${pageProps} />`}
      ${appId && tab === 'Usage' && html`<${Usage} ...${pageProps} />`}
      ${appId && tab === 'Settings' && html`<${Settings} key=${appId} ...${pageProps} onChanged=${loadApps} onDeleted=${() => { setAppId(null); setTab('Apps'); loadApps(); }} />`}
      ${tab === 'Beams' && html`<${Beams} token=${token} />`}
    </main></div>`;
}

function Root() {
  const [token, setToken] = useState(sessionStorage.getItem(TOKEN_KEY));
  const [session, setSession] = useState(null);
  const [error, setError] = useState(null);
  const signIn = async (candidate) => {
    try {
      const info = await api('/console/api/session', candidate);
      sessionStorage.setItem(TOKEN_KEY, candidate);
      setError(null);
      setSession(info);
      setToken(candidate);
    } catch (err) {
      setError(err.message);
    }
  };
  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    setSession(null);
  };
  useEffect(() => {
    // A token kept from earlier in this tab: check it and fetch the session again.
    if (token && !session) api('/console/api/session', token).then(setSession).catch(signOut);
  }, []);
  if (token && session) return html`<${Console} token=${token} session=${session} onSignOut=${signOut} />`;
  if (token) return html`<p class="boot">Loading the Herald console…</p>`;
  return html`<${SignIn} onToken=${signIn} error=${error} />`;
}

const root = document.getElementById('root');
root.textContent = ''; // drop the boot message before Preact takes over
render(html`<${Root} />`, root);
