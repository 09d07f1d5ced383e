/**
 * herald/sdk: typed server SDK for Herald (and Pusher) Channels and Beams.
 * Runs on Node 20+, Deno, Bun and edge runtimes (fetch + Web Crypto). Guide: docs/sdk.md.
 */
export { ChannelsClient } from './channels-client.js';
export { BeamsClient } from './beams-client.js';
export type { BeamsConfig, BeamsClientOptions, PublishPayload, PublishResult, PublishToInterestsParams, PublishToUsersParams } from './beams-client.js';
export type { ChannelsConfig, ProviderConfiguration } from './config.js';
export type * from './types.js';
export type { QueryParams, QueryValue } from './signing.js';
export type { FetchLike, FetchResponseLike, RuntimeName } from './runtime.js';
export type { ValidateWebhookParams, WebhookEvent, WebhookHeaders, WebhookPayload, WebhookToken, WebhookValidationResult } from './webhook.js';
export {
  BeamsHttpError,
  HeraldConfigurationError,
  HeraldHttpError,
  HeraldNetworkError,
  HeraldResponseError,
  HeraldSdkError,
  HeraldTimeoutError,
  HeraldValidationError,
} from './errors.js';
export type { HeraldSdkErrorCode } from './errors.js';
export { md5Hex } from './md5.js';
export { SDK_VERSION } from './transport.js';
