/**
 * Item `index % items.length`: how a client or event index picks its URL or channel. An
 * empty list is a run-configuration mistake, reported by `what` rather than read as undefined.
 */
export function roundRobin<T>(items: readonly T[], index: number, what: string): T {
  const item = items[index % items.length];
  if (item === undefined) throw new Error(`${what}: the list is empty`);
  return item;
}
