/** WebSocket close reasons within RFC 6455's limit. Pure. */

/** RFC 6455 §5.5: a close frame's reason is at most 123 bytes of UTF-8. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A close reason cut to 123 bytes on a character boundary. Reasons may echo what the client sent
 * (an unknown app key, a protocol value, a graphql-ws operation id), and ws throws on a longer one:
 * from the upgrade handler that exception took the whole process down.
 */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = reason.slice(0, MAX_CLOSE_REASON_BYTES);
  while (Buffer.byteLength(cut) > MAX_CLOSE_REASON_BYTES) cut = cut.slice(0, -1);
  // Never end on the first half of a surrogate pair (it would be encoded as U+FFFD).
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}
