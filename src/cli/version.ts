/** `herald --version`: the package version, read from package.json (src/cli and dist/cli are both two levels below it). */
import { readFileSync } from 'node:fs';

export function heraldVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
