/**
 * Shared helpers for the GraphQL tests: a Herald with every default module, an HTTP GraphQL client
 * (fetch), a graphql-ws client (`createClient` with the `ws` WebSocket), and waits for
 * subscriptions to be registered on the server before events are triggered.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { GRAPHQL_SERVICE, type GraphqlService } from '../../src/graphql/module.js';
import { startTestHerald, type TestHerald, type TestHeraldOptions } from '../helpers/herald.js';
import { PusherJs } from '../helpers/pusher-js.js';
import { eventually, nextEvent, withTimeout } from '../helpers/wait.js';

export const ADMIN_TOKEN = 'graphql-admin-token-0123456789';
export const ADMIN = `Bearer ${ADMIN_TOKEN}`;

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

export function appAuth(h: TestHerald): string {
  return basic(h.app.key, h.app.secret);
}

export async function startGraphqlHerald(options: TestHeraldOptions = {}): Promise<TestHerald> {
  return startTestHerald({ ...options, config: { adminToken: ADMIN_TOKEN, ...options.config } });
}

export interface GqlResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T; errors?: Array<{ message: string; extensions?: Record<string, unknown>; path?: unknown[] }> };
}

/** POSTs one operation to /graphql, as the test app unless `authorization` is given (null: none). */
export async function gql<T = any>(h: TestHerald, query: string, variables?: Record<string, unknown>, authorization?: string | null): Promise<GqlResponse<T>> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const auth = authorization === undefined ? appAuth(h) : authorization;
  if (auth) headers.Authorization = auth;
  const res = await fetch(`${h.httpUrl}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GqlResponse<T>['body'] };
}

/** Data of a successful operation; fails with the errors otherwise. */
export async function gqlData<T = any>(h: TestHerald, query: string, variables?: Record<string, unknown>, authorization?: string): Promise<T> {
  const res = await gql<T>(h, query, variables, authorization ?? appAuth(h));
  if (res.body.errors?.length || res.status !== 200) throw new Error(`GraphQL failed (${res.status}): ${JSON.stringify(res.body.errors)}`);
  return res.body.data as T;
}

/** The `extensions.code` of the first error. */
export function codeOf(res: GqlResponse): unknown {
  return res.body.errors?.[0]?.extensions?.code;
}

/** A graphql-ws client authenticating as the test app unless `authorization` is given (null: none). */
export function wsClient(h: TestHerald, authorization?: string | null, onClosed?: (event: unknown) => void): Client {
  const auth = authorization === undefined ? appAuth(h) : authorization;
  return createClient({
    url: `${h.wsUrl}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: auth ? { authorization: auth } : {},
    retryAttempts: 0,
    lazy: true,
    on: onClosed ? { closed: onClosed } : undefined,
  });
}

export interface Live<T = any> {
  next(ms?: number): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }>;
  stop(): Promise<void>;
}

/** Starts a subscription and resolves once the server has registered it (so no event is missed). */
export async function subscribe<T = any>(h: TestHerald, client: Client, query: string, variables?: Record<string, unknown>): Promise<Live<T>> {
  const before = streamsStarted(h);
  const iterator = client.iterate<T>({ query, variables });
  const first = iterator.next();
  // Either the stream is registered, or the operation ended early with an error (resolved `first`).
  let settled = false;
  void first.then(() => (settled = true), () => (settled = true));
  await eventually(() => settled || streamsStarted(h) > before, 5000, 'the subscription to be registered');
  let pending: typeof first | undefined = first;
  return {
    async next(ms = 5000) {
      const step = pending ?? iterator.next();
      pending = undefined;
      const result = await withTimeout(step, ms, 'a subscription event');
      if (result.done) throw new Error('the subscription ended');
      return result.value as Awaited<ReturnType<Live<T>['next']>>;
    },
    async stop() {
      await iterator.return?.();
    },
  };
}

/** Subscriptions the server has started so far (monotonic, so concurrent clean-ups cannot confuse it). */
export function streamsStarted(h: TestHerald): number {
  // With several workers the client's connection may have reached any of them.
  return h.heralds.reduce((sum, herald) => sum + (herald.services.get(GRAPHQL_SERVICE) as GraphqlService).streams.started, 0);
}

export async function connected(client: PusherJs): Promise<string> {
  if (client.connection.state !== 'connected') await nextEvent(client.connection, 'connected', 10_000);
  return client.connection.socket_id;
}
