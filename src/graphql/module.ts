/**
 * The GraphQL capability: schema.graphql + resolvers over the same services as the HTTP APIs,
 * served at /graphql over HTTP (with the explorer page) and graphql-ws. See docs/graphql.md.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import type { HeraldModule, ModuleContext } from '../core/module.js';
import { webhookSettings } from '../webhooks/settings.js';
import type { GraphQLDeps } from './context/auth.js';
import { registerGraphqlHttp } from './http.js';
import { OperationRateLimiter } from './limits.js';
import { API_RATE_LIMITER_SERVICE, type TokenBuckets } from '../platform/token-buckets.js';
import { allResolvers } from './resolvers/index.js';
import { buildExecutableSchema, loadSchemaText } from './schema.js';
import { EngineStreams } from './subscriptions.js';
import type { ObserverRelay } from '../workers/observer-relay.js';
import { OBSERVER_RELAY_SERVICE } from '../workers/services.js';
import { startGraphqlWebSocket, type GraphqlWebSocket } from './transport-ws.js';

/** ctx.services key: the executable schema and live streams, for other modules (console). */
export const GRAPHQL_SERVICE = 'graphql';

export interface GraphqlService {
  schema: GraphQLSchema;
  streams: EngineStreams;
}

function heraldVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function graphqlModule(): HeraldModule {
  let streams: EngineStreams | undefined;
  let socketServer: GraphqlWebSocket | undefined;
  return {
    name: 'graphql',
    start(ctx: ModuleContext) {
      const schema = buildExecutableSchema(loadSchemaText(), allResolvers());
      const relay = ctx.services.get(OBSERVER_RELAY_SERVICE) as ObserverRelay | undefined;
      streams = new EngineStreams(ctx.engine, ctx.apps, webhookSettings(ctx.config).vacateDelayMs, undefined, relay);
      const deps: GraphQLDeps = {
        config: ctx.config,
        apps: ctx.apps,
        engine: ctx.engine,
        broker: ctx.broker,
        hooks: ctx.hooks,
        services: ctx.services,
        logger: ctx.logger.child({ module: 'graphql' }),
        streams,
        version: heraldVersion(),
        port: () => {
          const address = ctx.server.address();
          return address && typeof address === 'object' ? (address as AddressInfo).port : ctx.config.port;
        },
      };
      const limiter = new OperationRateLimiter(ctx.services.get(API_RATE_LIMITER_SERVICE) as TokenBuckets | undefined);
      registerGraphqlHttp(ctx.router, schema, deps, limiter);
      socketServer = startGraphqlWebSocket(schema, deps, limiter);
      ctx.services.set(GRAPHQL_SERVICE, { schema, streams } satisfies GraphqlService);
    },
    async stop() {
      await socketServer?.close();
      socketServer = undefined;
      streams?.close();
      streams = undefined;
    },
  };
}
