/** Three Herald nodes on one Redis (HERALD_BROKER=redis): test/scaling/cluster-behaviour.ts. */
import { clusterBehaviour } from './cluster-behaviour.js';

clusterBehaviour('redis');
