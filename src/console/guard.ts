/**
 * The console API's guards: the admin token on every route, JSON object bodies, and a budget for
 * changes (every write the page can make goes through `write`).
 */
import { safeEqual } from '../protocol/signatures.js';
import { TokenBuckets } from '../platform/token-buckets.js';
import type { HttpContext } from '../platform/router.js';
import { forbidden, invalid, rateLimited, unauthorized } from '../platform/errors.js';

/** Changes (create, update, rotate, delete, test sends…) per second for the whole console. */
export const CONSOLE_WRITES_PER_SECOND = 20;

export interface ConsoleGuard {
  /** 403 without a configured admin token, 401 without the right one. */
  admin(http: HttpContext): void;
  /** admin() plus the write budget: `rate_limited` (429 with Retry-After) when it is spent. */
  write(http: HttpContext): void;
}

export function consoleGuard(adminToken: string | undefined): ConsoleGuard {
  const writes = new TokenBuckets(1);
  const admin = (http: HttpContext) => {
    if (!adminToken) throw forbidden('The console is disabled: set HERALD_ADMIN_TOKEN to enable it');
    const header = http.req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!safeEqual(token, adminToken)) throw unauthorized('Invalid admin token');
    http.res.setHeader('Cache-Control', 'no-store');
  };
  return {
    admin,
    write(http) {
      admin(http);
      if (!writes.take('console', CONSOLE_WRITES_PER_SECOND)) {
        throw rateLimited(`Too many changes: the console allows ${CONSOLE_WRITES_PER_SECOND} per second`);
      }
    },
  };
}

/** JSON bodies must be objects: `null`, arrays and scalars answer 400 instead of failing later. */
export async function objectBody(http: HttpContext, allowEmpty = false): Promise<Record<string, unknown>> {
  if (allowEmpty && (await http.body()).length === 0) return {};
  const body = await http.json<unknown>();
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('The request body must be a JSON object');
  return body as Record<string, unknown>;
}
