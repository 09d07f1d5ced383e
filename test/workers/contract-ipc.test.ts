/**
 * The cluster-state contract (test/scaling/contract.ts) against a worker's IPC backend and the
 * hub's per-worker state: the same answers a one-process node, Redis or NATS give. The "dead
 * node" of the reaping test is a worker whose process the hub sees exit (hub.detach, as the
 * supervisor does on a worker's exit).
 */
import { EventEmitter } from 'node:events';
import { NodeHub } from '../../src/workers/hub.js';
import { IpcPeer, type IpcEndpoint } from '../../src/platform/ipc.js';
import { IpcClusterState } from '../../src/workers/ipc-cluster-state.js';
import { clusterContract, type ContractBackend } from '../scaling/contract.js';

function channel(): [IpcEndpoint, IpcEndpoint] {
  const a = new EventEmitter() as IpcEndpoint & EventEmitter;
  const b = new EventEmitter() as IpcEndpoint & EventEmitter;
  a.send = (m) => (setImmediate(() => b.emit('message', structuredClone(m))), true);
  b.send = (m) => (setImmediate(() => a.emit('message', structuredClone(m))), true);
  return [a, b];
}

function worker(hub: NodeHub, node: string): ContractBackend {
  const [hubSide, workerSide] = channel();
  hub.attach(node, new IpcPeer(hubSide));
  hub.ready(node);
  const state = new IpcClusterState(new IpcPeer(workerSide), node);
  return { membership: state, users: state, cache: state, node: state, close: async () => undefined };
}

clusterContract(
  'workers (IPC)',
  async () => {
    const hub = new NodeHub(() => Promise.reject(new Error('no store')));
    const backend = worker(hub, 'w1');
    return { ...backend, close: async () => hub.stop() };
  },
  async () => {
    const hub = new NodeHub(() => Promise.reject(new Error('no store')));
    const dead = worker(hub, 'dead');
    const survivor = worker(hub, 'survivor');
    // The suite's last step before waiting is the survivor's join: the dead worker's process
    // exits right after it.
    const membership = survivor.membership as IpcClusterState;
    const join = membership.join.bind(membership);
    survivor.membership = Object.assign(Object.create(membership) as IpcClusterState, {
      join: async (...args: Parameters<typeof join>) => {
        const result = await join(...args);
        hub.detach('dead', true);
        return result;
      },
    });
    return { dead, survivor: { ...survivor, close: async () => hub.stop() } };
  },
);
