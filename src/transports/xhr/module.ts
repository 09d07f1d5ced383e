/**
 * pusher-js's HTTP fallback transports as a Herald module: routes under `/pusher/app/{key}/…`
 * (pusher-js's default `httpPath`) and, when `wsPath` is set, under `{wsPath}/app/{key}/…` too
 * (pusher-js puts its `httpPath` option in front of both its WebSocket and its HTTP URLs).
 */
import type { HeraldModule } from '../../server/module.js';
import { CloseCode } from '../../protocol/errors.js';
import { XHR_DEFAULTS, XhrGateway, type XhrGatewayOptions } from './gateway.js';

export const XHR_SERVICE = 'xhrTransports';
export const DEFAULT_HTTP_PATH = '/pusher';

export function xhrTransportsModule(overrides: Partial<XhrGatewayOptions> = {}): HeraldModule {
  let gateway: XhrGateway | undefined;
  return {
    name: 'xhr-transports',
    start(ctx) {
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
      for (const prefix of prefixes) {
        const base = `${prefix}/app/:key/:server/:session`;
        ctx.router.add('POST', `${base}/xhr_streaming`, (http) => xhr.receive(http, 'xhr_streaming'));
        ctx.router.add('POST', `${base}/xhr`, (http) => xhr.receive(http, 'xhr_polling'));
        ctx.router.add('POST', `${base}/xhr_send`, async (http) => xhr.send(http, await http.body()));
      }
      // First among the drain hooks: sessions close (4200, reconnect elsewhere) while webhooks and
      // stats can still record it, as WebSockets do before the drain.
      ctx.hooks.drain.unshift(async () => xhr.closeAll(CloseCode.ReconnectImmediately, 'Server shutting down, reconnect'));
      ctx.services.set(XHR_SERVICE, xhr);
      xhr.start();
    },
    stop() {
      gateway?.stop();
    },
  };
}
