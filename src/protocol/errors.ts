/**
 * Pusher protocol error and close codes (spec A.5). Close codes drive pusher-js reconnect
 * behaviour: 4000–4099 and 4300+ make it give up, 4100–4199 back off, 4200–4299 retry at once.
 */
export const CloseCode = {
  TlsOnly: 4000,
  AppNotFound: 4001,
  AppDisabled: 4003,
  OverConnectionQuota: 4004,
  PathNotFound: 4005,
  InvalidVersion: 4006,
  UnsupportedProtocol: 4007,
  NoProtocol: 4008,
  Unauthorized: 4009,
  OverCapacity: 4100,
  ReconnectImmediately: 4200,
  PongNotReceived: 4201,
  ClosedAfterInactivity: 4202,
} as const;

/** Codes sent inside `pusher:error` frames that never close the socket. */
export const ErrorCode = {
  ClientEventRateLimit: 4301,
  WatchlistLimit: 4302,
  /**
   * Every other refusal of a frame (invalid JSON, unsupported event, bad channel name, client event
   * not allowed, limits): seed 001 gives every `pusher:error` a numeric code from Pusher's documented
   * ranges, and 4300–4399 is "any other type of error". pusher-js only reports these (a `pusher:error`
   * closes nothing once connected), so any code in the range keeps it working.
   */
  Generic: 4300,
  /** A private/presence/encrypted subscription with a wrong signature: 4009 "connection is unauthorized". */
  SubscriptionUnauthorized: 4009,
} as const;

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly code: number | null = null,
    readonly channel?: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
