/**
 * The GraphQL capability: schema.graphql + resolvers over the same services as the HTTP APIs,
 * served at /graphql over HTTP (with the explorer page) and graphql-ws. See docs/graphql.md.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import type { HeraldModule, ModuleContext } from '../core/module.js';
import { APPS_SERVICE } from '../app-store/module.js';
import { BEAMS_SERVICE } from '../beams/service.js';
import { CONSOLE_CLUSTER_SERVICE } from '../console/cluster.js';
import { serviceKey } from '../platform/module-graph.js';
import { webhookSettings } from '../webhooks/settings.js';
import type { GraphQLDeps } from './context/auth.js';
import { registerGraphqlHttp } from './http.js';
import { OperationRateLimiter } from './limits.js';
import { allResolvers } from './resolvers/index.js';
import { buildExecutableSchema, loadSchemaText } from './schema.js';
import { EngineStreams } from './subscriptions.js';
import { OBSERVER_RELAY_SERVICE } from '../core/worker-services.js';
import { startGraphqlWebSocket, type GraphqlWebSocket } from './transport-ws.js';

export interface GraphqlService {
  schema: GraphQLSchema;
  streams: EngineStreams;
}

/** The executable schema and live streams, for other modules (and tests). */
export const GRAPHQL_SERVICE = serviceKey<GraphqlService>('graphql');

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
    provides: [GRAPHQL_SERVICE],
    optional: [OBSERVER_RELAY_SERVICE],
    // Read by resolvers, per operation.
    later: [APPS_SERVICE, BEAMS_SERVICE, CONSOLE_CLUSTER_SERVICE],
    start(ctx: ModuleContext) {
      const schema = buildExecutableSchema(loadSchemaText(), allResolvers());
      streams = new EngineStreams(ctx.engine, ctx.apps, webhookSettings(ctx.config).vacateDelayMs, undefined, ctx.optional(OBSERVER_RELAY_SERVICE));
      const deps: GraphQLDeps = {
        config: ctx.config,
        apps: ctx.apps,
        engine: ctx.engine,
        broker: ctx.broker,
        hooks: ctx.hooks,
        services: { apps: ctx.later(APPS_SERVICE), beams: ctx.later(BEAMS_SERVICE), cluster: ctx.later(CONSOLE_CLUSTER_SERVICE) },
        logger: ctx.logger.child({ module: 'graphql' }),
        streams,
        version: heraldVersion(),
        port: () => {
          const address = ctx.server.address();
          return address && typeof address === 'object' ? (address as AddressInfo).port : ctx.config.port;
        },
      };
      const limiter = new OperationRateLimiter(ctx.apiRateLimiter);
      registerGraphqlHttp(ctx.router, schema, deps, limiter);
      socketServer = startGraphqlWebSocket(schema, deps, limiter);
      ctx.provide(GRAPHQL_SERVICE, { schema, streams });
    },
    async stop() {
      await socketServer?.close();
      socketServer = undefined;
      streams?.close();
      streams = undefined;
    },
  };
}
