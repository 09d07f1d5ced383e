/** The stock pusher-js Node build (CommonJS; its default export is the Pusher class). */
import PusherJsClass from 'pusher-js';
import type { Options } from 'pusher-js';

export const PusherJs = PusherJsClass;
export type PusherJs = PusherJsClass;
export type PusherJsOptions = Options;
