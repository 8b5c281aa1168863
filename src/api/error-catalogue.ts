/**
 * Every `SB_*` code Switchboard can answer or record, with its HTTP status and what the caller
 * should do next. The README's error table is generated from the same facts and a test keeps
 * them in sync (CONTRACTS §1), so clients can rely on the list.
 */
export interface CatalogueEntry {
  /** HTTP status for API refusals; for codes recorded on a message (`message.error`) the status is 0. */
  status: number;
  /** What happened and what to do next. */
  description: string;
}

export const ERROR_CATALOGUE = {
  SB_AUTH_UNAUTHORIZED: { status: 401, description: 'No API key, or an unknown one. Send `Authorization: Bearer <key>`.' },
  SB_AUTH_FORBIDDEN: { status: 403, description: 'The key lacks the scope this route needs (send, read, verify, admin).' },
  SB_VALIDATION_FAILED: { status: 400, description: 'The body, query or path failed validation; `details` lists every field. Fix and resend.' },
  SB_VALIDATION_JSON: { status: 400, description: 'The body is not valid JSON.' },
  SB_VALIDATION_PHONE_NUMBER: { status: 400, description: '`to` is not a valid phone number (E.164, or national with `country`).' },
  SB_VALIDATION_CODE_PLACEHOLDER: { status: 400, description: '`otp` was given with a `body` that lacks `{{code}}`.' },
  SB_VALIDATION_UNSUPPORTED: { status: 400, description: 'The request asks for something this deployment cannot do yet (e.g. a channel with no provider).' },
  SB_PAYLOAD_TOO_LARGE: { status: 413, description: 'The body exceeds 64 KB.' },
  SB_UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'Send `Content-Type: application/json`.' },
  SB_IDEMPOTENCY_CONFLICT: { status: 409, description: 'This Idempotency-Key was used with a different body. Use a new key.' },
  SB_IDEMPOTENCY_IN_FLIGHT: { status: 409, description: 'The first request with this Idempotency-Key is still being admitted; retry after `Retry-After` seconds.' },
  SB_MESSAGE_NOT_FOUND: { status: 404, description: 'No such message for this key (or it is past retention).' },
  SB_WEBHOOK_DEAD_LETTER_NOT_FOUND: { status: 404, description: 'No dead letter with that event id (already replayed, or past retention).' },
  SB_NOT_FOUND: { status: 404, description: 'No such route.' },
  SB_METHOD_NOT_ALLOWED: { status: 405, description: 'The route exists but not with this method.' },
  SB_WEBHOOK_SIGNATURE_INVALID: { status: 401, description: 'A carrier callback failed signature verification; nothing was changed.' },
  SB_UNAVAILABLE: { status: 503, description: 'Redis (or the queue) is unreachable; nothing was created. Retry with backoff.' },
  SB_INTERNAL: { status: 500, description: 'An unexpected error; nothing is promised about state. Retry with the same Idempotency-Key.' },
  SB_SANDBOX_UNKNOWN_PROVIDER: { status: 404, description: 'Carrier sandbox only: no provider with that id (twilio, sinch, messagebird, fcm, rbm).' },
  SB_CARRIER_REJECTED: { status: 0, description: 'Recorded on a message: the carrier refused the recipient (invalid, opted out); `providerCode` has its code. Not retried.' },
  SB_DELIVERY_FAILED: { status: 0, description: 'Recorded on a message: the carrier reported the message undelivered or failed.' },
  SB_ROUTE_UNAVAILABLE: { status: 0, description: 'Recorded on a message: every provider for every channel failed or was unavailable until the job gave up.' },
  SB_ROUTE_NONE: { status: 0, description: 'Recorded on a message: no provider is configured (routing.yaml, pricing.yaml) for its channel and country.' },
  SB_CHANNEL_UNSUPPORTED: { status: 0, description: 'Recorded on a message: none of the requested channels can reach this number.' },
  SB_MESSAGE_EXPIRED: { status: 0, description: 'Recorded on a message: `expiresAt` or the OTP TTL passed before any delivery.' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An API refusal: the error handler turns it into `{"error":{code,message,details?}}`. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, opts: { details?: unknown; headers?: Record<string, string>; status?: number } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = opts.status ?? ERROR_CATALOGUE[code].status;
    this.details = opts.details;
    this.headers = opts.headers ?? {};
  }
}
