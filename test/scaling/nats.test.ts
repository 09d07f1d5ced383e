/** Three Herald nodes on one NATS with JetStream (HERALD_BROKER=nats): test/scaling/cluster-behaviour.ts. */
import { clusterBehaviour } from './cluster-behaviour.js';

clusterBehaviour('nats');
