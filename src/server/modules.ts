/** Capability modules started with every Herald, in order. Add yours here. */
import type { HeraldModule } from './module.js';

export function defaultModules(): HeraldModule[] {
  return [];
}
