// A tiny TypeScript consumer of the installed package (scripts/check-package.sh compiles it with
// strict tsc against node_modules/herald, then runs it against the packaged `herald start`).
import { BeamsClient, ChannelsClient, HeraldHttpError, type TriggerResult } from 'herald/sdk';

// No @types/node: the SDK's declarations must stand on their own (it also runs on Deno, Bun, edge).
declare const process: { argv: string[] };

const [url, appId, key, secret, beamsInstance, beamsKey] = process.argv.slice(2) as [string, string, string, string, string, string];
const { hostname, port } = new URL(url);

const channels = new ChannelsClient({ appId, key, secret, host: hostname, port: Number(port), useTLS: false });
const result: TriggerResult = await channels.triggerEvent({ channel: 'package-check', event: 'hello', data: { ok: true } });
// @ts-expect-error: the types are real — a channel must be a string
void (() => channels.triggerEvent({ channel: 42, event: 'x', data: 1 }));
const list = await channels.listChannels();

const beams = new BeamsClient({ instanceId: beamsInstance, secretKey: beamsKey, baseUrl: url });
const published = await beams.publishToInterests({ interests: ['package-check'], web: { notification: { title: 'hi' } } });

let refused = false;
try {
  await new ChannelsClient({ appId, key, secret: 'wrong-secret-123', host: hostname, port: Number(port), useTLS: false }).listChannels();
} catch (err) {
  refused = err instanceof HeraldHttpError && err.status === 401;
}
console.log(JSON.stringify({ triggered: result, channels: Object.keys(list.channels ?? {}), publishId: published.publishId, refused }));
