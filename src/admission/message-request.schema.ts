/**
 * The request schemas of the messages API (CONTRACTS §3). Strict objects: an unknown field is a
 * 400, because a misspelt option silently ignored is how an OTP goes out on the wrong channel.
 */
import { z } from 'zod';
import { providerRegistry } from '../../providers/index.ts';

export const channelSchema = z.enum(['push', 'whatsapp', 'rcs', 'sms', 'voice']);
/** A registered provider's id (`?provider=` filters, the `provider` fields of responses). */
export const providerIdSchema = z.enum(providerRegistry.ids);

const metadataSchema = z
  .record(z.string().max(64), z.unknown())
  .refine((m) => Buffer.byteLength(JSON.stringify(m), 'utf8') <= 2048, 'metadata must be at most 2 KB as JSON');

/** `otp` settings; `{}` gives the defaults a template holding `{{code}}` implies. */
export const otpRequestSchema = z.strictObject({
  length: z.number().int().min(4).max(10).default(6),
  ttlSeconds: z.number().int().min(30).max(86_400).default(300),
  /** Unset: the key's, else `otp.deliveryTimeoutMs` (20 s). */
  deliveryTimeoutMs: z.number().int().min(5_000).max(300_000).optional(),
});

export const sendMessageBodySchema = z
  .strictObject({
    to: z.string().min(3).max(32),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, upper case')
      .optional(),
    channels: z
      .array(channelSchema)
      .min(1)
      .max(5)
      .refine((c) => new Set(c).size === c.length, 'channels must not repeat')
      .default(['sms']),
    body: z.string().min(1).max(1600).optional(),
    template: z.string().min(1).max(64).optional(),
    locale: z
      .string()
      .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'a locale such as en or pt-BR')
      .optional(),
    vars: z.record(z.string().max(64), z.union([z.string().max(256), z.number()])).optional(),
    otp: otpRequestSchema.optional(),
    purpose: z.enum(['otp', 'transactional']).optional(),
    push: z
      .strictObject({
        token: z.string().min(1).max(4096).optional(),
        enabled: z.boolean().default(true),
        ackTimeoutMs: z.number().int().min(500).max(60_000).default(5_000),
      })
      .optional(),
    userId: z.string().min(1).max(128).optional(),
    callbackUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    metadata: metadataSchema.optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    idempotencyKey: z.string().min(1).max(255).optional(),
  })
  .refine((b) => b.body !== undefined || b.template !== undefined || b.otp !== undefined, {
    message: 'give body, template or otp',
    path: ['body'],
  })
  .refine((b) => !(b.body !== undefined && b.template !== undefined), { message: 'give body or template, not both', path: ['template'] });

export type SendMessageBody = z.infer<typeof sendMessageBodySchema>;

export const messageIdParamsSchema = z.strictObject({ id: z.string().regex(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/, 'not a message id') });

const timeParam = z
  .union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{10,13}$/)])
  .transform((v) => (/^\d+$/.test(v) ? Number(v.length === 10 ? Number(v) * 1000 : v) : Date.parse(v)));

export const listMessagesQuerySchema = z.strictObject({
  status: z.enum(['accepted', 'queued', 'sent', 'delivered', 'undelivered', 'failed', 'expired']).optional(),
  channel: channelSchema.optional(),
  provider: providerIdSchema.optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z
    .string()
    .regex(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/, 'not a cursor')
    .optional(),
});

/** `POST /v1/messages/:id/verify`: the code as the user typed it, digits only (leading zeros matter). */
export const verifyBodySchema = z.strictObject({
  code: z.string().regex(/^\d{4,10}$/, 'the code is 4-10 digits, as a string'),
});

/** `POST /v1/messages/:id/conversion`: whether the login with the upstream's own code succeeded. */
export const conversionBodySchema = z.strictObject({ verified: z.boolean() });
