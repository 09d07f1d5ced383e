/**
 * Configuration files are checked like flags: a key the schema does not know (`logleval:`, an app's
 * `clientevents:`) is refused with its path and the closest known key, instead of being silently
 * dropped by the schema.
 */
import type { z } from 'zod';

interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  valueType?: z.ZodType;
  in?: z.ZodType;
}

const defOf = (schema: z.ZodType): ZodDef => (schema as unknown as { _zod: { def: ZodDef } })._zod.def;

/** The object/array/record schema under optional, default, nullable and pipe wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let i = 0; i < 10; i++) {
    const def = defOf(current);
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!inner) return current;
    current = inner;
  }
  return current;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The known key closest to `key` (case-insensitive edit distance), when close enough to be a typo. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Every key in `value` that `schema` does not declare, as `path: unknown key "x"; did you mean "y"?`. */
export function unknownKeys(value: unknown, schema: z.ZodType, path: string[] = []): string[] {
  const def = defOf(unwrap(schema));
  if (def.type === 'object' && def.shape && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const known = Object.keys(def.shape);
    const problems: string[] = [];
    for (const [key, child] of Object.entries(value)) {
      const at = [...path, key];
      if (!Object.hasOwn(def.shape, key)) {
        const suggestion = closestKey(key, known);
        problems.push(`${at.join('.')}: unknown key${suggestion ? `; did you mean "${[...path, suggestion].join('.')}"?` : ` (known here: ${known.join(', ')})`}`);
      } else {
        problems.push(...unknownKeys(child, def.shape[key]!, at));
      }
    }
    return problems;
  }
  if (def.type === 'array' && def.element && Array.isArray(value)) {
    return value.flatMap((item, i) => unknownKeys(item, def.element!, [...path, String(i)]));
  }
  if (def.type === 'record' && def.valueType && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([key, item]) => unknownKeys(item, def.valueType!, [...path, key]));
  }
  return [];
}
