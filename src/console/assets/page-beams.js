// The Beams page: instances (list, create, rotate the secret key), provider credentials (APNs,
// FCM, VAPID), recent publishes and their status, and a test publish. Secret keys and provider
// private keys are write-only here: a secret key is shown once, when it is issued.
import { useEffect, useState } from 'preact/hooks';
import { api, CopyField, enc, formatTime, html, Status } from './ui.js';

function KeyOnce({ instanceId, secretKey, onDone }) {
  return html`<section class="panel reveal" data-testid="beams-secret-once"><h2>Secret key of ${instanceId}</h2>
    <p class="warn">Copy it now: it is shown only this once.</p>
    <${CopyField} label="Instance ID" value=${instanceId} /><${CopyField} label="Secret key" value=${secretKey} testId="beams-secret" />
    <button class="primary" onClick=${onDone}>Done, I saved the key</button></section>`;
}

function CreateInstance({ token, onCreated }) {
  const [form, setForm] = useState({ id: '', name: '' });
  const [status, setStatus] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const body = {};
    if (form.id.trim()) body.id = form.id.trim();
    if (form.name.trim()) body.name = form.name.trim();
    try {
      onCreated(await api('/console/api/beams/instances', token, { method: 'POST', body: JSON.stringify(body) }));
      setForm({ id: '', name: '' });
      setStatus(null);
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  return html`<form class="stack" onSubmit=${submit} aria-label="Create a Beams instance">
    <label>Instance id (optional, a UUID is generated) <input value=${form.id} onInput=${(e) => setForm({ ...form, id: e.target.value })} /></label>
    <label>Name <input value=${form.name} onInput=${(e) => setForm({ ...form, name: e.target.value })} maxlength="200" /></label>
    <button class="primary" type="submit">Create instance</button><${Status} status=${status} /></form>`;
}

/** Provider credentials: each form sends only its provider; private keys are never shown back. */
function Providers({ token, instance, onSaved }) {
  const [apns, setApns] = useState({ keyId: instance.apns?.keyId ?? '', teamId: instance.apns?.teamId ?? '', topic: instance.apns?.topic ?? '', environment: instance.apns?.environment ?? 'production', privateKey: '' });
  const [fcm, setFcm] = useState('');
  const [vapid, setVapid] = useState({ vapidSubject: instance.web?.vapidSubject ?? '', vapidPublicKey: '', vapidPrivateKey: '' });
  const [status, setStatus] = useState(null);
  const patch = async (body, what) => {
    try {
      await api(`/console/api/beams/instances/${enc(instance.id)}`, token, { method: 'PATCH', body: JSON.stringify(body) });
      setStatus({ ok: true, text: `${what} saved` });
      onSaved();
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  const saveApns = (e) => {
    e.preventDefault();
    const body = { keyId: apns.keyId, teamId: apns.teamId, environment: apns.environment, privateKey: apns.privateKey };
    if (apns.topic) body.topic = apns.topic;
    patch({ apns: body }, 'APNs credentials');
  };
  const saveFcm = (e) => {
    e.preventDefault();
    let serviceAccount;
    try {
      serviceAccount = JSON.parse(fcm);
    } catch {
      return setStatus({ ok: false, text: 'The FCM service account must be the JSON file Firebase generated' });
    }
    patch({ fcm: { serviceAccount } }, 'FCM credentials');
  };
  const saveVapid = (e) => {
    e.preventDefault();
    const web = { vapidSubject: vapid.vapidSubject };
    if (vapid.vapidPublicKey || vapid.vapidPrivateKey) Object.assign(web, { vapidPublicKey: vapid.vapidPublicKey.trim(), vapidPrivateKey: vapid.vapidPrivateKey.trim() });
    patch({ web }, 'Web Push settings');
  };
  return html`<div><div class="grid2">
    <form class="stack" onSubmit=${saveApns} aria-label="APNs credentials"><h3>APNs ${instance.apns ? html`<span class="badge ok">configured</span>` : html`<span class="badge">not set</span>`}</h3>
      <label>Key ID <input value=${apns.keyId} onInput=${(e) => setApns({ ...apns, keyId: e.target.value })} required /></label>
      <label>Team ID <input value=${apns.teamId} onInput=${(e) => setApns({ ...apns, teamId: e.target.value })} required /></label>
      <label>Topic (bundle id, optional) <input value=${apns.topic} onInput=${(e) => setApns({ ...apns, topic: e.target.value })} /></label>
      <label>Environment <select value=${apns.environment} onChange=${(e) => setApns({ ...apns, environment: e.target.value })}><option value="production">production</option><option value="development">development</option></select></label>
      <label>Private key (.p8 contents) <textarea rows="3" value=${apns.privateKey} onInput=${(e) => setApns({ ...apns, privateKey: e.target.value })} required autocomplete="off" placeholder="-----BEGIN PRIVATE KEY-----"></textarea></label>
      <div class="filters"><button type="submit">Save APNs</button>${instance.apns && html`<button type="button" class="danger" onClick=${() => patch({ apns: null }, 'APNs removal')}>Remove APNs</button>`}</div></form>
    <div class="stack">
      <form class="stack" onSubmit=${saveFcm} aria-label="FCM credentials"><h3>FCM ${instance.fcm ? html`<span class="badge ok">${instance.fcm.projectId}</span>` : html`<span class="badge">not set</span>`}</h3>
        <label>Service account JSON <textarea rows="3" value=${fcm} onInput=${(e) => setFcm(e.target.value)} required autocomplete="off" placeholder='{"type":"service_account", …}'></textarea></label>
        <div class="filters"><button type="submit">Save FCM</button>${instance.fcm && html`<button type="button" class="danger" onClick=${() => patch({ fcm: null }, 'FCM removal')}>Remove FCM</button>`}</div></form>
      <form class="stack" onSubmit=${saveVapid} aria-label="Web Push (VAPID)"><h3>Web Push (VAPID)</h3>
        <${CopyField} label="VAPID public key" value=${instance.web?.vapidPublicKey ?? ''} />
        <label>VAPID subject <input value=${vapid.vapidSubject} onInput=${(e) => setVapid({ ...vapid, vapidSubject: e.target.value })} placeholder="mailto:ops@example.com" /></label>
        <details><summary>Use your own VAPID key pair (base64url; both or neither)</summary><div class="stack">
          <label>New VAPID public key <input value=${vapid.vapidPublicKey} onInput=${(e) => setVapid({ ...vapid, vapidPublicKey: e.target.value })} autocomplete="off" /></label>
          <label>New VAPID private key <input value=${vapid.vapidPrivateKey} onInput=${(e) => setVapid({ ...vapid, vapidPrivateKey: e.target.value })} autocomplete="off" /></label>
        </div></details>
        <button type="submit">Save Web Push</button></form>
    </div></div>
    <${Status} status=${status} />
  </div>`;
}

function Publishes({ token, instanceId }) {
  const [publishes, setPublishes] = useState([]);
  const [form, setForm] = useState({ interest: 'hello', title: 'Hello', body: 'From the Herald console' });
  const [status, setStatus] = useState(null);
  const load = () => api(`/console/api/beams/instances/${enc(instanceId)}/publishes`, token).then((b) => setPublishes(b.publishes)).catch(() => {});
  useEffect(() => {
    load();
    const t = setInterval(load, 3000);
    return () => clearInterval(t);
  }, [instanceId]);
  const submit = async (e) => {
    e.preventDefault();
    try {
      const r = await api(`/console/api/beams/instances/${enc(instanceId)}/publish`, token, { method: 'POST', body: JSON.stringify(form) });
      setStatus({ ok: true, text: `Published ${r.publishId}` });
      load();
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  return html`<div class="grid2">
    <div><h3>Recent publishes</h3><table data-testid="publishes"><thead><tr><th>Time</th><th>Target</th><th>Status</th><th>Devices</th></tr></thead><tbody>
      ${publishes.map((p) => html`<tr key=${p.publishId}><td>${formatTime(Date.parse(p.createdAt))}</td><td>${(p.interests ?? p.users ?? []).join(', ')}</td>
        <td class=${p.status === 'done' ? 'ok' : p.status === 'failed' ? 'bad' : ''}>${p.status}${p.error ? html`<div class="muted">${p.error}</div>` : ''}</td>
        <td>${p.delivered}/${p.devices}${p.failed ? html` <span class="bad">${p.failed} failed</span>` : ''}</td></tr>`)}
      ${publishes.length === 0 && html`<tr><td colspan="4" class="muted">No publishes yet</td></tr>`}</tbody></table></div>
    <form class="stack" onSubmit=${submit} aria-label="Publish a test notification"><h3>Publish a test notification</h3>
      <label>Interest <input value=${form.interest} onInput=${(e) => setForm({ ...form, interest: e.target.value })} required /></label>
      <label>Title <input value=${form.title} onInput=${(e) => setForm({ ...form, title: e.target.value })} /></label>
      <label>Body <input value=${form.body} onInput=${(e) => setForm({ ...form, body: e.target.value })} /></label>
      <button class="primary" type="submit">Publish</button><${Status} status=${status} /></form>
  </div>`;
}

export function Beams({ token }) {
  const [state, setState] = useState({ available: true, instances: [] });
  const [selected, setSelected] = useState(null);
  const [revealed, setRevealed] = useState(null);
  const [status, setStatus] = useState(null);
  const load = () => api('/console/api/beams/instances', token).then((b) => {
    setState(b);
    setSelected((cur) => cur ?? b.instances[0]?.id ?? null);
  }).catch((err) => setStatus({ ok: false, text: err.message }));
  useEffect(() => { load(); }, []);
  if (!state.available) return html`<section class="panel"><h2>Beams</h2><p class="muted">Beams is not enabled on this server.</p></section>`;
  const rotate = async (id) => {
    try {
      const r = await api(`/console/api/beams/instances/${enc(id)}/rotate-secret`, token, { method: 'POST', body: '{}' });
      setRevealed({ instanceId: r.id, secretKey: r.secretKey });
    } catch (err) {
      setStatus({ ok: false, text: err.message });
    }
  };
  const instance = state.instances.find((i) => i.id === selected);
  return html`<div class="stackpage">
    ${revealed && html`<${KeyOnce} ...${revealed} onDone=${() => setRevealed(null)} />`}
    <section class="panel" aria-labelledby="beams-h"><h2 id="beams-h">Beams instances</h2>
      <table data-testid="beams-instances"><thead><tr><th>Instance</th><th>Name</th><th>Devices (APNs / FCM / web)</th><th>Providers</th><th></th></tr></thead><tbody>
        ${state.instances.map((i) => html`<tr key=${i.id} class=${i.id === selected ? 'selected' : ''}><td><button class="link" onClick=${() => setSelected(i.id)}>${i.id}</button></td><td>${i.name}</td>
          <td>${i.devices.apns} / ${i.devices.fcm} / ${i.devices.web}</td><td>${['apns', 'fcm'].filter((p) => i[p]).concat('web').join(', ')}</td>
          <td><button onClick=${() => rotate(i.id)}>Rotate secret key</button></td></tr>`)}
        ${state.instances.length === 0 && html`<tr><td colspan="5" class="muted">No instances</td></tr>`}</tbody></table>
      <${Status} status=${status} />
      <details><summary>Create an instance</summary><${CreateInstance} token=${token} onCreated=${(r) => { setRevealed({ instanceId: r.instance.id, secretKey: r.secretKey }); setSelected(r.instance.id); load(); }} /></details>
    </section>
    ${instance && html`<section class="panel" aria-labelledby="prov-h"><h2 id="prov-h">Provider credentials of ${instance.id}</h2><${Providers} key=${instance.id} token=${token} instance=${instance} onSaved=${load} /></section>
      <section class="panel" aria-labelledby="pub-h"><h2 id="pub-h">Publishes of ${instance.id}</h2><${Publishes} token=${token} instanceId=${instance.id} /></section>`}
  </div>`;
}
