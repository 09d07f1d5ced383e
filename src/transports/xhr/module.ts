/**
 * pusher-js's HTTP fallback transports as a Herald module: routes under `/pusher/app/{key}/…`
 * (pusher-js's default `httpPath`) and, when `wsPath` is set, under `{wsPath}/app/{key}/…` too,
 * for clients that set `httpPath` to the same prefix as `wsPath` (pusher-js puts `wsPath` in front
 * of its WebSocket URLs only, and `httpPath` in front of its HTTP ones).
 */
import type { HeraldModule, ModuleContext } from '../../core/module.js';
import { CloseCode } from '../../protocol/errors.js';
import { serviceKey } from '../../platform/module-graph.js';
import type { HttpContext, Router } from '../../platform/router.js';
import { WORKER_SERVICE } from '../../core/worker-services.js';
import { XHR_DEFAULTS, XhrGateway, type XhrGatewayOptions } from './gateway.js';
import { XhrForwarder, type ForwardPeer, type ForwardTable, type LocalXhrHandler } from './forwarding.js';

/** The xhr gateway (its sessions), for tests. */
export const XHR_SERVICE = serviceKey<XhrGateway>('xhrTransports');
/** Reads the number of xhr requests this process forwarded to another worker (metrics). */
export const XHR_FORWARDED_SERVICE = serviceKey<() => number>('xhrForwardedRequests');
export const DEFAULT_HTTP_PATH = '/pusher';

export function xhrTransportsModule(overrides: Partial<XhrGatewayOptions> = {}): HeraldModule {
  let gateway: XhrGateway | undefined;
  let forwarder: XhrForwarder | undefined;
  return {
    name: 'xhr-transports',
    provides: [XHR_SERVICE, XHR_FORWARDED_SERVICE],
    optional: [WORKER_SERVICE],
    async start(ctx) {
      const { config } = ctx;
      const xhr = new XhrGateway(ctx.engine, {
        maxBufferedBytes: config.maxBufferedBytes,
        maxSendBytes: config.maxFrameBytes,
        maxSessionsPerIp: config.maxConnectionsPerIp,
        ...XHR_DEFAULTS,
        ...overrides,
      });
      gateway = xhr;
      const prefixes = [...new Set([DEFAULT_HTTP_PATH, config.wsPath].filter(Boolean))];
      const routes = (router: Router, wrap: (local: LocalXhrHandler) => (http: HttpContext) => unknown) => {
        for (const prefix of prefixes) {
          const base = `${prefix}/app/:key/:server/:session`;
          router.add('POST', `${base}/xhr_streaming`, wrap((http, ip) => xhr.receive(http, 'xhr_streaming', ip)));
          router.add('POST', `${base}/xhr`, wrap((http, ip) => xhr.receive(http, 'xhr_polling', ip)));
          router.add('POST', `${base}/xhr_send`, wrap(async (http, ip) => xhr.send(http, await http.body(), ip)));
        }
      };
      const fwd = (forwarder = await workerForwarder(ctx, routes));
      const clientIp = (http: HttpContext) => http.req.socket.remoteAddress ?? 'unknown';
      // Public requests: handled here, or (multi-worker node) by the worker owning the session.
      routes(ctx.router, (local) => (http) => fwd?.route(http) ?? local(http, clientIp(http)));
      // First among the drain hooks: sessions close (4200, reconnect elsewhere) while webhooks and
      // stats can still record it, as WebSockets do before the drain.
      ctx.hooks.drain.unshift(async () => xhr.closeAll(CloseCode.ReconnectImmediately, 'Server shutting down, reconnect'));
      ctx.provide(XHR_SERVICE, xhr);
      ctx.provide(XHR_FORWARDED_SERVICE, () => forwarder?.forwardedRequests ?? 0);
      xhr.start();
    },
    stop() {
      forwarder?.close();
      gateway?.stop();
    },
  };
}

/** What the xhr module needs of a worker's link to its hub (src/platform/ipc.ts). */
interface HubLink {
  notify(op: string, args?: unknown): void;
  handle(op: string, handler: (args: unknown) => unknown): void;
}

/**
 * On a worker of a multi-worker node (its slot in HERALD_WORKER_SLOT, set by the supervisor):
 * opens the private listener, tells the hub its port, and follows the hub's slot table.
 * Undefined on a one-process node or a one-worker node: nothing is forwarded, no port opened.
 */
async function workerForwarder(ctx: ModuleContext, routes: (router: Router, wrap: (local: LocalXhrHandler) => (http: HttpContext) => unknown) => void): Promise<XhrForwarder | undefined> {
  const hub: HubLink | undefined = ctx.optional(WORKER_SERVICE);
  const slot = Number(process.env.HERALD_WORKER_SLOT);
  if (!hub || !Number.isInteger(slot) || slot < 0) return undefined;
  const forwarder = new XhrForwarder({ slot, maxBodyBytes: ctx.config.maxBodyBytes, routes });
  hub.handle(XHR_PEERS_NOTICE, (table) => forwarder.setTable(table as ForwardTable));
  const peer: ForwardPeer = await forwarder.listen();
  hub.notify(XHR_PEER_NOTICE, { slot, ...peer });
  return forwarder;
}

/** Worker → hub: this slot's private listener. Hub → every worker: the slot table. */
export const XHR_PEER_NOTICE = 'xhr.peer';
export const XHR_PEERS_NOTICE = 'xhr.peers';
