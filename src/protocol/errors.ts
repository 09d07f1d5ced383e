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
  /** Herald: a frame was not valid JSON or not a known event; Pusher sends code null here. */
  InvalidMessage: null,
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
