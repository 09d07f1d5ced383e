/**
 * The usage window rule shared by GET /admin/apps/{id}/usage, the console and GraphQL's appUsage:
 * from/to (inclusive UTC days) or days=N ending today; 30 days by default, at most the retention.
 */
import { USAGE_RETENTION_DAYS, utcDay } from './usage-store.js';
import { invalid } from '../platform/errors.js';

/** The caller's raw parameters (query-string values or GraphQL arguments as text). */
export interface UsageWindowParams {
  from?: string | undefined;
  to?: string | undefined;
  days?: string | undefined;
}

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

function dayParam(params: UsageWindowParams, name: 'from' | 'to'): string | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (!DAY_PATTERN.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw invalid(`${name} must be a date as YYYY-MM-DD (UTC)`);
  }
  return value;
}

function shiftDay(day: string, days: number): string {
  return utcDay(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000);
}

/** The window to report; an `invalid` DomainError when the parameters break the rule. */
export function usageWindow(params: UsageWindowParams): { from: string; to: string } {
  const to = dayParam(params, 'to') ?? utcDay();
  let from = dayParam(params, 'from');
  if (from === undefined) {
    const days = params.days === undefined ? 30 : Number(params.days);
    if (!Number.isInteger(days) || days < 1 || days > USAGE_RETENTION_DAYS) {
      throw invalid(`days must be a whole number from 1 to ${USAGE_RETENTION_DAYS}`);
    }
    from = shiftDay(to, -(days - 1));
  }
  if (from > to) throw invalid('from must not be after to');
  if (from < shiftDay(to, -(USAGE_RETENTION_DAYS - 1))) throw invalid(`At most ${USAGE_RETENTION_DAYS} days per request`);
  return { from, to };
}
