/**
 * The shapes the API answers with, as zod schemas, so the OpenAPI document describes responses
 * from code rather than prose. Requests are described by the schemas that validate them
 * (message-request.schema.ts and the route files); responses are built by plain functions
 * (message-view.ts), so test/integration/openapi.test.ts parses real answers with these strict
 * schemas: a field added to a view without documenting it fails that test.
 */
import { z } from 'zod';
import { ERROR_CATALOGUE, type ErrorCode } from '../../domain/error-catalogue.ts';
import { channelSchema, providerIdSchema } from '../../admission/message-request.schema.ts';
import { QUEUE_STATES } from '../routes/admin-queue-counts.ts';

const isoTime = z.string().describe('RFC 3339 timestamp (UTC)');
const attemptStatus = z.enum(['queued', 'sent', 'delivered', 'undelivered', 'failed']);
export const messageStatusSchema = z.enum(['accepted', 'queued', 'sent', 'delivered', 'undelivered', 'failed', 'expired']);

/** `error` of a message or attempt. */
export const errorInfoSchema = z.strictObject({
  code: z.string().describe('an `SB_*` code from the error table'),
  message: z.string(),
  providerCode: z.string().optional().describe("the carrier's own error code, when it gave one"),
});

export const moneySchema = z.strictObject({ amount: z.number(), currency: z.string() });

export const attemptViewSchema = z.strictObject({
  n: z.number().int().min(1),
  channel: channelSchema,
  provider: providerIdSchema,
  providerMessageId: z.string().optional(),
  status: attemptStatus,
  error: errorInfoSchema.optional(),
  startedAt: isoTime,
  sentAt: isoTime.optional(),
  deliveredAt: isoTime.optional(),
  cost: moneySchema.optional(),
});

export const routingDecisionSchema = z.strictObject({
  provider: providerIdSchema,
  reason: z
    .string()
    .describe(
      'cheapest, healthiest, health, conversion (the conversion term changed ' +
        'the winner), tie_order, only_candidate, all_breakers_open, none',
    ),
  candidates: z.array(
    z.strictObject({
      provider: providerIdSchema,
      price: z.number().optional(),
      effectivePrice: z.number().optional(),
      health: z.number().optional().describe('health multiplier of the price (1 = neutral)'),
      conversion: z
        .number()
        .optional()
        .describe('conversion multiplier of the price: (1 / verified-per-delivered OTP ratio)^weight, 1 below the sample threshold'),
      score: z.number().optional().describe('effectivePrice × health × conversion; lowest wins'),
      excluded: z.string().optional(),
    }),
  ),
});

export const timelineEntrySchema = z.strictObject({
  at: isoTime,
  type: z
    .string()
    .describe(
      'what happened: accepted, lookup, attempt, carrier_accepted, carrier_error, ambiguous_resend, ' +
        'callback, reconciled (a carrier status read applied like a callback that never came), fallback (detail ' +
        'starts with the reason, e.g. `ack_timeout`), ack, late_ack, failed, expired, verified, conversion',
    ),
  channel: channelSchema.optional(),
  provider: providerIdSchema.optional(),
  detail: z.string().optional(),
});

/** `GET /v1/messages/:id` (CONTRACTS §3): masked number, never the code. */
export const messageViewSchema = z.strictObject({
  id: z.string().regex(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/),
  status: messageStatusSchema,
  channel: channelSchema.nullable().describe('the delivering attempt’s channel, else the latest'),
  provider: providerIdSchema.nullable(),
  to: z.string().describe('the recipient, masked (+1415***0100)'),
  createdAt: isoTime,
  updatedAt: isoTime,
  expiresAt: isoTime.nullable(),
  verifiedAt: isoTime.optional(),
  error: errorInfoSchema.optional(),
  cost: moneySchema,
  attempts: z.array(attemptViewSchema),
  routing: routingDecisionSchema.optional(),
  timeline: z.array(timelineEntrySchema),
  metadata: z.record(z.string(), z.unknown()),
});

export const sendAcceptedSchema = z.strictObject({ id: z.string(), status: z.literal('accepted') });

export const messageListSchema = z.strictObject({
  items: z.array(messageViewSchema),
  nextCursor: z.string().nullable().describe('pass back as `?cursor=` for the next (older) page; null at the end'),
});

export const verifyResultSchema = z.union([
  z.strictObject({ valid: z.literal(true) }),
  z.strictObject({ valid: z.literal(false), attemptsLeft: z.number().int().min(0) }),
]);

export const deadLetterSchema = z.strictObject({
  eventId: z.string(),
  messageId: z.string(),
  type: z.string(),
  url: z.string(),
  keyName: z.string(),
  failedAt: isoTime,
  attempts: z.number().int(),
  lastError: z.string(),
});

export const deadLetterListSchema = z.strictObject({ items: z.array(deadLetterSchema) });

/** `GET /v1/templates`: the named templates, their locales and vars (CONTRACTS §3). */
export const templateListSchema = z.strictObject({
  items: z.array(
    z.strictObject({
      name: z.string(),
      locales: z.array(z.string()),
      vars: z.array(z.string()).describe('names a request must give in `vars` (`{{code}}` excluded: it is generated)'),
      otp: z.boolean().describe('the text holds `{{code}}`: using the template generates an OTP'),
    }),
  ),
});

/** `GET /v1/webhooks/endpoints`: every endpoint in use, with its state (CONTRACTS §3). */
export const webhookEndpointListSchema = z.strictObject({
  items: z.array(
    z.strictObject({
      url: z.string(),
      state: z.enum(['enabled', 'disabled']),
      disabledAt: isoTime.optional().describe('while disabled: when'),
      reason: z.string().optional().describe('while disabled: why, e.g. `HTTP 410 Gone`'),
    }),
  ),
});

export const replayQueuedSchema = z.strictObject({ eventId: z.string(), status: z.literal('queued') });

export const queueCountsListSchema = z.strictObject({
  queues: z.array(
    z.strictObject({
      name: z.enum(['send', 'dlr', 'events']),
      paused: z.boolean(),
      counts: z.strictObject(
        Object.fromEntries(QUEUE_STATES.map((s) => [s, z.number().int().min(0)])) as Record<(typeof QUEUE_STATES)[number], z.ZodNumber>,
      ),
    }),
  ),
});

/**
 * `GET /v1/audit`. Entries are `z.object`, not strict: the audit stream may gain fields
 * without breaking readers, and the documented ones are what clients may rely on.
 */
export const auditListSchema = z.strictObject({
  items: z.array(
    z.object({
      id: z.string().describe('stream id `<ms>-<seq>`'),
      at: isoTime,
      decision: z
        .string()
        .describe('accepted, refused, sent, delivered, undelivered, failed, expired, verified, flagged, opted_out, opted_in'),
      key: z.string().optional().describe('API key name (who)'),
      phone: z.string().optional().describe('phone token of the recipient (an HMAC, never the number)'),
      messageId: z.string().optional(),
      country: z.string().optional(),
      channel: z.string().optional(),
      provider: z.string().optional(),
      code: z.string().optional().describe('`SB_*` code of a refusal or failure'),
      detail: z.string().optional(),
    }),
  ),
});

export const healthSchema = z.strictObject({ status: z.literal('ok') });
export const readinessSchema = z.strictObject({ status: z.enum(['ready', 'unavailable']), redis: z.enum(['up', 'down']) });

const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as [ErrorCode, ...ErrorCode[]];

/** CONTRACTS §1: every refusal is `{"error":{code,message,details?}}`. */
export const errorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.enum(ERROR_CODES).describe('see the error table in the description of this API'),
    message: z.string(),
    details: z.unknown().optional().describe('validation errors: a list of `{path, message}`'),
  }),
});
