/**
 * Summarises a V8 .cpuprofile (written by the server under `node --cpu-prof`) into the functions
 * with the most self time: a first pointer to what to optimise.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  name: string;
  location: string;
  selfMs: number;
  /** Share of non-idle samples, %. */
  percent: number;
}

export function topSelfTimeOfFile(profilePath: string, root: string, limit = 15): HotFunction[] {
  return topSelfTime(JSON.parse(readFileSync(profilePath, 'utf8')), root, limit);
}

export function topSelfTime(document: unknown, root: string, limit = 15): HotFunction[] {
  const profile = document as CpuProfile;
  const nodeById = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  samples.forEach((nodeId, i) => {
    // timeDeltas[i] is the time before sample i; attribute the following interval to the sample.
    const duration = deltas[i + 1] ?? 0;
    selfMicros.set(nodeId, (selfMicros.get(nodeId) ?? 0) + Math.max(0, duration));
  });
  const byFunction = new Map<string, HotFunction>();
  let total = 0;
  for (const [id, micros] of selfMicros) {
    const node = nodeById.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    total += micros;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.startsWith('file://') ? relative(root, new URL(url).pathname) : url;
    const location = file ? `${file}:${lineNumber + 1}` : '';
    const key = `${functionName}@${location}`;
    const entry = byFunction.get(key) ?? { name: functionName || '(anonymous)', location, selfMs: 0, percent: 0 };
    entry.selfMs += micros / 1000;
    byFunction.set(key, entry);
  }
  const sorted = [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, limit);
  for (const entry of sorted) entry.percent = total > 0 ? ((entry.selfMs * 1000) / total) * 100 : 0;
  return sorted;
}

export function renderHotFunctions(functions: HotFunction[]): string {
  return functions
    .map((f) => `   ${f.percent.toFixed(1).padStart(5)} %  ${f.selfMs.toFixed(0).padStart(6)} ms  ${f.name}  ${f.location}`)
    .join('\n');
}
