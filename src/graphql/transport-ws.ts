/**
 * GraphQL over WebSocket at /graphql with the `graphql-ws` package (protocol graphql-transport-ws),
 * on a `ws` server in noServer mode reached through `hooks.upgrade`. The socket authenticates once
 * with `connectionParams.authorization` (or the upgrade request's Authorization header); every
 * operation re-checks those credentials, and a socket whose app is deleted, disabled or had its
 * secret rotated away is closed with 4403.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { CloseCode, type ConnectionInitMessage } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import { closeReason } from '../protocol/close-reason.js';
import { authenticate, type GraphQLContext, type GraphQLDeps, type Principal } from './context/auth.js';
import { ErrorCode, formatError, gqlError } from './errors.js';
import { admitOperation, chooseOperation, operationCost, parseQuery, validateQuery, variablesOf } from './execution.js';
import { GRAPHQL_PATH } from './http.js';
import { GRAPHQL_LIMITS, type OperationRateLimiter } from './limits.js';

interface SocketAuth {
  header: unknown;
  principal: Principal;
}

/**
 * Largest message a socket may send before its credentials are accepted (connection_init carries
 * an Authorization value of at most 4 KiB). Until then a megabyte of init payload (maxBodyBytes,
 * the limit once acknowledged) cost ~23 ms of unmasking, decoding and JSON parsing per socket, for
 * anyone. Beyond it ws closes the socket with 1009.
 */
export const PRE_AUTH_MAX_MESSAGE_BYTES = 16 * 1024;

/**
 * Sets one socket's message limit. ws has no per-socket option, so this sets its receiver's private
 * `_maxPayload` (read for every frame); if a ws version drops the field, the socket keeps the
 * server's limit (maxBodyBytes: larger, still bounded).
 */
function setMaxPayload(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: number } })._receiver;
  if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytes;
}

/**
 * graphql-ws closes with reasons that echo the client (`Subscriber for <id> already exists`, 4409)
 * and ws throws on a reason over 123 bytes: the socket then closed with 4500 and a stack trace on
 * stderr. Every reason is cut to 123 bytes instead, so the client gets the close code it caused.
 *
 * A client's protocol error (an oversized message: 1009, invalid UTF-8: 1007, a bad frame: 1002) is
 * emitted as 'error' once ws has already closed the socket with its code; graphql-ws would print
 * each one with a stack trace on stderr (console.error), so any client could fill the logs. Those
 * are not passed on.
 */
class GraphqlSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    super.close(code, typeof data === 'string' ? closeReason(data) : data);
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && isClientProtocolError(args[0])) return true;
    return super.emit(event, ...args);
  }
}

function isClientProtocolError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('WS_ERR_');
}

/** How long a client has to send connection_init after the upgrade. */
const CONNECTION_INIT_TIMEOUT_MS = 5000;
const KEEP_ALIVE_MS = 12_000;

export interface GraphqlWebSocket {
  /** Closes every socket (1001) and the ws server. */
  close(): Promise<void>;
  readonly sockets: number;
}

function headerFrom(params: ConnectionInitMessage['payload'], request: IncomingMessage): unknown {
  const fromParams = params?.authorization ?? params?.Authorization;
  return fromParams ?? request.headers.authorization;
}

export function startGraphqlWebSocket(schema: GraphQLSchema, deps: GraphQLDeps, limiter: OperationRateLimiter): GraphqlWebSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.config.maxBodyBytes, WebSocket: GraphqlSocket } as ConstructorParameters<typeof WebSocketServer>[0]);
  const auth = new Map<WebSocket, SocketAuth>();
  const logError = (err: unknown) => deps.logger.error({ err }, 'GraphQL resolver failed');

  useServer<ConnectionInitMessage['payload'], { auth?: SocketAuth }>(
    {
      schema,
      connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
      onConnect: async (ctx) => {
        try {
          const header = headerFrom(ctx.connectionParams, ctx.extra.request);
          const principal = await authenticate(header, deps);
          const entry = { header, principal };
          setMaxPayload(ctx.extra.socket, deps.config.maxBodyBytes);
          ctx.extra.auth = entry;
          auth.set(ctx.extra.socket, entry);
          return true;
        } catch (err) {
          deps.logger.debug({ err: (err as Error).message }, 'GraphQL WebSocket refused');
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      onClose: (ctx) => {
        auth.delete(ctx.extra.socket);
      },
      onSubscribe: async (ctx, _id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        if (Object.keys(ctx.subscriptions).length >= GRAPHQL_LIMITS.maxSubscriptionsPerSocket) {
          return [gqlError(ErrorCode.RateLimited, `Too many operations on this socket (limit ${GRAPHQL_LIMITS.maxSubscriptionsPerSocket})`)];
        }
        const parsed = parseQuery(payload.query);
        if (!parsed.ok) return parsed.errors;
        const chosen = chooseOperation(parsed.value, payload.operationName);
        if (!chosen.ok) return chosen.errors;
        const variables = variablesOf(payload.variables);
        if (!variables.ok) return variables.errors;
        const errors = validateQuery(schema, parsed.value);
        if (errors.length > 0) return errors;
        let principal: Principal;
        try {
          // Re-checked per operation: credentials may have been rotated since the socket opened.
          principal = await authenticate(ctx.extra.auth?.header, deps);
        } catch (err) {
          return [err instanceof GraphQLError ? err : gqlError(ErrorCode.Unauthenticated, 'Authentication failed')];
        }
        const refusal = admitOperation(deps, principal, limiter, operationCost(parsed.value, chosen.value, variables.value));
        if (refusal) return [refusal];
        const contextValue: GraphQLContext = { deps, principal };
        return { schema, document: parsed.value, operationName: chosen.value.name?.value, variableValues: variables.value, contextValue };
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors?.length) return undefined;
        return { ...result, errors: result.errors.map((e) => formatError(e as GraphQLError, logError)) };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e, logError)),
    },
    wss,
    KEEP_ALIVE_MS,
  );

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, path: string): boolean => {
    if (path !== GRAPHQL_PATH) return false;
    if (wss.clients.size >= GRAPHQL_LIMITS.maxSockets) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return true;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      setMaxPayload(ws, Math.min(PRE_AUTH_MAX_MESSAGE_BYTES, deps.config.maxBodyBytes));
      wss.emit('connection', ws, req);
    });
    return true;
  };
  deps.hooks.upgrade.push(upgrade);

  // An app changed (secret rotated, disabled, deleted): sockets whose credentials no longer hold close.
  const stopWatchingApps = deps.apps.onChange((appId) => {
    for (const [socket, entry] of auth) {
      if (entry.principal.kind !== 'app' || entry.principal.appId !== appId) continue;
      authenticate(entry.header, deps).then(
        () => undefined,
        () => socket.close(CloseCode.Forbidden, 'Credentials no longer valid'),
      );
    }
  });

  return {
    get sockets() {
      return wss.clients.size;
    },
    async close() {
      stopWatchingApps();
      const index = deps.hooks.upgrade.indexOf(upgrade);
      if (index >= 0) deps.hooks.upgrade.splice(index, 1);
      const open = [...wss.clients];
      const closed = Promise.all(open.map((ws) => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve())))));
      for (const ws of open) ws.close(1001, 'Server shutting down');
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
