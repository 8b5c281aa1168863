/**
 * Sinch's configuration. The schema is the single place where this provider's config is
 * validated; the gateway's config loader hands the `providers.sinch` section to it.
 */
import { z } from 'zod';

/** SMS regions of the Sinch REST API (reference §2.1); each has its own host `{region}.sms.api.sinch.com`. */
export const SINCH_SMS_REGIONS = ['us', 'eu', 'au', 'br', 'ca'] as const;

/** Conversation API regions (reference §2.5): `https://{region}.conversation.api.sinch.com`. */
export const SINCH_CONVERSATION_REGIONS = ['us', 'eu', 'br'] as const;

/**
 * Service-plan credentials (`servicePlanId` + `apiToken`, Bearer auth on every region) rather
 * than OAuth2: OAuth2 for SMS only works in `us`/`eu` (reference §2.1) and needs a token round
 * trip before the first send. `region` picks the host; in sandbox mode the base URL replaces it.
 * `from` defaults to the sandbox's magic sender; set a real number, short code or alphanumeric
 * sender in live mode. `callbackUsername`/`callbackPassword` are the HTTP Basic credentials Sinch
 * presents on `/webhooks/sinch` (set up through the Sinch account manager, reference §2.2).
 *
 * Number Lookup (`sinch.lookup.ts`) needs OAuth2 project credentials — `projectId`, `keyId`,
 * `keySecret` (an access key of the Sinch project; reference §2.4) — which SMS does not use. They
 * are optional: set all three to get `adapter.lookup`, or none to leave Sinch SMS-only.
 * `lookupSimSwap` adds the SimSwap feature to LineType. Sinch bills each feature per lookup;
 * `lookupPricesUsd` prices them (illustrative defaults: LineType 0.005 USD, SimSwap 0.03 USD —
 * set your contract's), and a lookup costs the features that answered without an error.
 *
 * RCS (`sinch.conversation.ts`, reference §2.5) goes through the Conversation API with the same
 * OAuth2 credentials plus `appId` — the Conversation app that owns the RCS sender — and
 * `conversationWebhookSecret`, the HMAC secret Sinch signs delivery receipts with (the app's
 * `secret_for_overridden_callback_urls`, since every send overrides `callback_url`; reference
 * §2.3). Set `appId` (with the secret and the OAuth2 trio) to add the `rcs` channel; leave it out
 * to keep Sinch SMS-only. `conversationRegion` picks `https://{region}.conversation.api.sinch.com`.
 *
 * WhatsApp (`sinch.whatsapp.ts`) goes through the same Conversation app, whose WhatsApp sender
 * Sinch provisions on the app (no `from` per message), and needs `whatsappTemplateId`: the name of
 * the WhatsApp authentication template Meta approved for that sender (an OTP opens a
 * conversation, which WhatsApp allows only with an approved template).
 * `whatsappTemplateLanguages` are the languages it is approved in (WhatsApp's underscored codes,
 * `en`, `pt_BR`): a message's locale picks among them, else the first. With `appId` and
 * `whatsappTemplateId` the adapter offers `whatsapp`.
 */
export const sinchConfigSchema = z
  .object({
    servicePlanId: z.string().min(1),
    apiToken: z.string().min(1),
    from: z.string().min(1).default('+15005550006'),
    region: z.enum(SINCH_SMS_REGIONS).default('us'),
    callbackUsername: z.string().min(1),
    callbackPassword: z.string().min(1),
    projectId: z.string().min(1).optional(),
    keyId: z.string().min(1).optional(),
    keySecret: z.string().min(1).optional(),
    appId: z.string().min(1).optional(),
    conversationWebhookSecret: z.string().min(1).optional(),
    conversationRegion: z.enum(SINCH_CONVERSATION_REGIONS).default('us'),
    whatsappTemplateId: z
      .string()
      .regex(/^[a-z0-9_]{1,512}$/, { message: 'a WhatsApp template name: lower-case letters, digits and _' })
      .optional(),
    whatsappTemplateLanguages: z
      .array(z.string().regex(/^[a-z]{2,3}(_[A-Za-z]{2,4})?$/, { message: 'a WhatsApp language code such as en or pt_BR' }))
      .min(1)
      .default(['en']),
    lookupSimSwap: z.boolean().default(true),
    lookupPricesUsd: z
      .object({
        lineType: z.number().min(0).default(0.005),
        simSwap: z.number().min(0).default(0.03),
      })
      .prefault({}),
  })
  .refine(
    (c) =>
      [c.projectId, c.keyId, c.keySecret].every((v) => v === undefined) ||
      [c.projectId, c.keyId, c.keySecret].every((v) => v !== undefined),
    {
      message: 'Number Lookup needs projectId, keyId and keySecret together (or none of them)',
      path: ['projectId'],
    },
  )
  .refine((c) => c.whatsappTemplateId === undefined || c.appId !== undefined, {
    message:
      'WhatsApp through the Conversation API needs the Conversation app (appId, conversationWebhookSecret and the OAuth2 credentials)',
    path: ['whatsappTemplateId'],
  })
  .refine((c) => c.appId === undefined || (c.projectId !== undefined && c.conversationWebhookSecret !== undefined), {
    message:
      'RCS through the Conversation API needs appId, conversationWebhookSecret ' +
      'and the OAuth2 credentials (projectId, keyId, keySecret) together',
    path: ['appId'],
  });

/** Validated Sinch configuration (defaults applied). */
export type SinchConfig = z.output<typeof sinchConfigSchema>;
