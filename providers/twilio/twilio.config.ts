/**
 * Twilio's configuration. The schema is the single place where this provider's config is
 * validated; the gateway's config loader hands the `providers.twilio` section to it.
 */
import { z } from 'zod';

/**
 * `accountSid` must start with `AC`: the SDK refuses anything else at construction time
 * (https://www.twilio.com/docs/iam/api/account), so we fail at config load instead of at the
 * first send. `from` defaults to Twilio's magic test sender `+15005550006`, which the sandbox
 * accepts. With `messagingServiceSid` set, sends go through the Messaging Service (sender pool,
 * RCS fallback) instead of `from`.
 *
 * Voice OTP calls (`twilio.voice.ts`) use `voiceFrom`, else `from`: a caller ID must be a
 * voice-capable Twilio number or a verified caller ID, never a Messaging Service or an
 * alphanumeric sender, so set `voiceFrom` in live mode when `from` is not a phone number.
 * `voiceRingTimeoutSeconds` is how long the phone rings before Twilio gives up (`no-answer`);
 * Twilio's default is 60 s, but an OTP call that rings for a minute usually reaches voicemail.
 *
 * Lookups (`twilio.lookup.ts`) ask Lookup v2 for Line Type Intelligence, plus SIM Swap unless
 * `lookupSimSwap` is false (SIM Swap needs carrier approval per country and costs more). Twilio
 * bills each package per request, so `lookupPricesUsd` prices them: the defaults are illustrative
 * list prices (LTI 0.008 USD, SIM Swap 0.04 USD, https://www.twilio.com/en-us/user-authentication-identity/pricing/lookup);
 * set your contract's. A lookup costs the sum of the packages that answered.
 *
 * RCS (reference §1.6) uses `rcsSenderId`, the RCS sender (agent) of the account, without or with
 * its `rcs:` prefix. Sends then go **RCS only** — `From=rcs:<rcsSenderId>`, `To=rcs:+…`, never the
 * Messaging Service, whose sender pool would fall back to SMS by itself (Switchboard owns the
 * fallback, DESIGN §6.3). Without `rcsSenderId` the adapter does not offer `rcs`.
 *
 * WhatsApp (`twilio.whatsapp.ts`) needs both `whatsappFrom`, the WhatsApp sender of the account
 * (its E.164 number, with or without `whatsapp:`), and `whatsappContentSid`, the `HX…` Content
 * API template of category authentication that Meta approved (the code is its `{{1}}`): an OTP
 * opens a conversation, which WhatsApp allows only with an approved template. With both set the
 * adapter offers `whatsapp`; without them it does not.
 */
export const twilioConfigSchema = z
  .object({
    accountSid: z.string().startsWith('AC', { message: 'a Twilio Account SID starts with "AC"' }),
    authToken: z.string().min(1),
    from: z.string().min(1).default('+15005550006'),
    messagingServiceSid: z.string().startsWith('MG', { message: 'a Messaging Service SID starts with "MG"' }).optional(),
    voiceFrom: z
      .string()
      .regex(/^\+[1-9]\d{1,14}$/, { message: 'a caller ID is an E.164 phone number' })
      .optional(),
    voiceRingTimeoutSeconds: z.number().int().min(5).max(600).default(30),
    rcsSenderId: z
      .string()
      .regex(/^(rcs:)?[A-Za-z0-9][A-Za-z0-9_.-]*$/, { message: 'an RCS sender id (letters, digits, _ . -), optionally prefixed rcs:' })
      .optional(),
    whatsappFrom: z
      .string()
      .regex(/^(whatsapp:)?\+[1-9]\d{1,14}$/, { message: 'a WhatsApp sender is an E.164 number, optionally prefixed whatsapp:' })
      .optional(),
    whatsappContentSid: z
      .string()
      .regex(/^HX[0-9a-fA-F]{32}$/, { message: 'a Content API template SID is HX followed by 32 hex digits' })
      .optional(),
    lookupSimSwap: z.boolean().default(true),
    lookupPricesUsd: z
      .object({
        lineTypeIntelligence: z.number().min(0).default(0.008),
        simSwap: z.number().min(0).default(0.04),
      })
      .prefault({}),
  })
  .refine((c) => (c.whatsappFrom === undefined) === (c.whatsappContentSid === undefined), {
    message: 'WhatsApp needs whatsappFrom and whatsappContentSid together (or neither)',
    path: ['whatsappFrom'],
  });

/** Validated Twilio configuration (defaults applied). */
export type TwilioConfig = z.output<typeof twilioConfigSchema>;
