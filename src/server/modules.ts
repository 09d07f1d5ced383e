/**
 * Capability modules started with every Herald. Add yours here (one line each). Start order comes
 * from each module's declarations (provides/needs/optional/after, src/platform/module-graph.ts);
 * this order only breaks ties, and already satisfies them (test/server/module-plan.test.ts).
 */
import type { HeraldModule } from '../core/module.js';
import { consoleModule } from '../console/module.js';
import { storageModule } from '../app-store/database-module.js';
import { appsModule } from '../app-store/module.js';
import { metricsModule } from '../metrics/module.js';
import { webhooksModule } from '../webhooks/module.js';
import { beamsModule } from '../beams/module.js';
import { graphqlModule } from '../graphql/module.js';
import { xhrTransportsModule } from '../transports/xhr/module.js';

export function defaultModules(): HeraldModule[] {
  return [
    storageModule(),
    appsModule(),
    webhooksModule(),
    beamsModule(),
    graphqlModule(),
    consoleModule(),
    xhrTransportsModule(),
    metricsModule(),
  ];
}
