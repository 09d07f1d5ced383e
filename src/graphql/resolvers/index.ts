/** Every resolver map, merged per type (several files add Query and Mutation fields). */
import type { ResolverMap } from '../schema.js';
import { appResolvers } from './apps.js';
import { beamsDeviceResolvers } from './beams-devices.js';
import { beamsPublishResolvers } from './beams-publish.js';
import { channelResolvers } from './channels.js';
import { eventResolvers } from './events.js';
import { liveResolvers } from './live.js';

export function allResolvers(): ResolverMap {
  const merged: ResolverMap = {};
  for (const map of [appResolvers, channelResolvers, eventResolvers, beamsDeviceResolvers, beamsPublishResolvers, liveResolvers]) {
    for (const [type, fields] of Object.entries(map)) {
      const target = (merged[type] ??= {});
      for (const [field, resolver] of Object.entries(fields)) {
        if (field in target) throw new Error(`GraphQL resolvers: ${type}.${field} is defined twice`);
        (target as Record<string, unknown>)[field] = resolver;
      }
    }
  }
  return merged;
}
