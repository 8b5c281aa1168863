/**
 * MessageBird's configuration. The schema is the single place where this provider's config is
 * validated; the gateway's config loader hands the `providers.messagebird` section to it.
 */
import { z } from 'zod';

/** MessageBird's REST host (reference §3.1); the frozen SDK hard-codes it, our client reads it from config. */
export const MESSAGEBIRD_DEFAULT_BASE_URL = 'https://rest.messagebird.com';

/** A phone number (optional `+`, up to 15 digits) or an alphanumeric sender of at most 11 characters (reference §3.1). */
const ORIGINATOR = /^(\+?[1-9]\d{1,14}|[A-Za-z0-9 ]{1,11})$/;

/**
 * `accessKey` authenticates REST calls (`Authorization: AccessKey …`); `signingKey` verifies the
 * `MessageBird-Signature-JWT` of status reports — two different secrets from the dashboard.
 * `from` (sent as `originator`) defaults to the sandbox's magic sender; set a real number or
 * alphanumeric sender in live mode. `baseUrl` exists because every base URL comes from config
 * (DESIGN §5); in sandbox mode the gateway's sandbox URL replaces it.
 *
 * Lookups are HLR queries (`messagebird.lookup.ts`, reference §3.4), which MessageBird answers
 * asynchronously: the lookup polls every `hlrPollIntervalMs` for at most `hlrMaxWaitMs` (DESIGN
 * §6.2: poll ≤ 1.5 s, then "unknown"). `hlrPriceUsd` is what one HLR costs (illustrative default
 * 0.005 USD; set your contract's), charged once the HLR was created.
 */
export const messagebirdConfigSchema = z.object({
  accessKey: z.string().min(1),
  signingKey: z.string().min(1),
  from: z
    .string()
    .regex(ORIGINATOR, { message: 'a phone number or an alphanumeric sender of at most 11 characters' })
    .default('+15005550006'),
  baseUrl: z.url({ protocol: /^https?$/ }).default(MESSAGEBIRD_DEFAULT_BASE_URL),
  hlrPollIntervalMs: z.number().int().min(50).max(5_000).default(250),
  hlrMaxWaitMs: z.number().int().min(0).max(10_000).default(1_500),
  hlrPriceUsd: z.number().min(0).default(0.005),
});

/** Validated MessageBird configuration (defaults applied). */
export type MessageBirdConfig = z.output<typeof messagebirdConfigSchema>;
