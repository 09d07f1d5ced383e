/** Capability modules started with every Herald, in order. Add yours here (one line each). */
import type { HeraldModule } from './module.js';
import { storageModule } from '../storage/module.js';

export function defaultModules(): HeraldModule[] {
  return [
    storageModule(),
  ];
}
