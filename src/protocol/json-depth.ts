/**
 * The nesting limit of JSON input (request bodies, GraphQL variables and JSON values). JavaScript
 * parses deep JSON fine, but serializing it again recurses, and 100 000 levels overflow the stack:
 * such input is refused up front with a clear 400, not a 500 from deep inside.
 */

/** Objects and arrays nested inside each other, at most. */
export const MAX_JSON_DEPTH = 100;

export const JSON_DEPTH_MESSAGE = `JSON nested too deeply: objects and arrays may nest at most ${MAX_JSON_DEPTH} levels`;

/** True when JSON text nests objects/arrays deeper than `max` (a scan outside strings, no parse). */
export function jsonTextTooDeep(text: string, max: number = MAX_JSON_DEPTH): boolean {
  // Nesting deeper than `max` takes more than `max` characters: short text (most client frames) is done.
  if (text.length <= max) return false;
  // Text with at most `max` opening brackets cannot nest deeper than `max`. Counting them with
  // indexOf (a native search) costs a fraction of the character loop below, which then only runs
  // for the rare body with many brackets: this check runs on every API request body.
  let openers = 0;
  for (let i = text.indexOf('{'); i >= 0 && openers <= max; i = text.indexOf('{', i + 1)) openers++;
  for (let i = text.indexOf('['); i >= 0 && openers <= max; i = text.indexOf('[', i + 1)) openers++;
  if (openers <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return false;
}

/** True when a parsed value nests objects/arrays deeper than `max` (iterative: no recursion). */
export function valueTooDeep(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(current) ? current : Object.values(current as object);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}
