/**
 * Admission (CONTRACTS §3): everything that decides whether a send request becomes a message,
 * before anything is created. The same function serves the HTTP API and the Node client (which
 * calls the API), so both refuse the same requests with the same codes, and the admit stage runs it
 * on raw `Queue.add` jobs. It sits in admission/, at the pipeline's level under the api role,
 * because both the API and the worker's admit stage call it (layering, DESIGN §3).
 *
 * Order: validation and key policy (allowed countries, the callback URL's SSRF check) in process;
 * then one Lua call for the idempotency replay check, the opt-out list, the rate limits and the
 * record. A replay is answered before any limit is looked at, so it never counts; a refusal writes
 * nothing but its audit-stream entry (and an accepted request's entry is written in the same call).
 */
import { createHash } from 'node:crypto';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { Channel, ProviderAdapter, ProviderId } from '../../providers/provider.ts';
import type { Config } from '../config/config.schema.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { phoneToken, userToken } from '../security/hmac.ts';
import type { KeyRing } from '../security/master-key.ts';
import type { SsrfGuard } from '../security/ssrf-guard.ts';
import type { AuditTrail } from '../policy/audit-trail.ts';
import type { AuditEntry } from '../store/audit.store.ts';
import type { SuppressionStore } from '../store/suppression.store.ts';
import { deriveEvents } from '../domain/events.ts';
import { newMessageId } from '../domain/ids.ts';
import type { MessageRecord } from '../domain/message.ts';
import { firstWatchAt } from '../domain/watch-plan.ts';
import type { QueueSet } from '../queues/queue-set.ts';
import type { IdempotencyRecord, IntakeLimit, MessageStore } from '../store/message.store.ts';
import type { ApiPrincipal } from '../security/api-keys.ts';
import { ApiError } from '../domain/error-catalogue.ts';
import { otpRequestSchema, type SendMessageBody } from './message-request.schema.ts';
import { CODE_PLACEHOLDER, renderTemplate, type TemplateCatalogue } from '../domain/template-render.ts';
import { channelProviders } from '../routing/channel-providers.ts';

/** A replay of the same key and body within this window is still being admitted. */
const IN_FLIGHT_MS = 5_000;

export interface AdmissionDeps {
  config: Config;
  store: MessageStore;
  queues: QueueSet;
  adapters: ReadonlyMap<ProviderId, ProviderAdapter>;
  keyRing: KeyRing;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** Vets `callbackUrl` (no DNS here; deliveries re-check after resolving). */
  ssrf: SsrfGuard;
  /** Opt-out list: its key for the number is a block inside the intake call. */
  suppression: SuppressionStore;
  /** Admission decisions go to the audit stream. */
  audit: AuditTrail;
}

const HOUR_MS = 3_600_000;

/**
 * The admission limits of one request (CONTRACTS §3): every message counts against its key's
 * per-second limit; OTP messages also against the per-user and per-number hourly limits.
 * Transactional messages are not OTPs and never count against those. Numbers and user ids appear
 * in the Redis keys only as HMAC tokens.
 */
export function admissionLimits(
  deps: Pick<AdmissionDeps, 'config' | 'keyRing' | 'store'>,
  principal: ApiPrincipal,
  doc: MessageRecord,
): IntakeLimit[] {
  const rl = principal.policy.rateLimits;
  const keys = deps.store.keys;
  const limits: IntakeLimit[] = [
    { name: 'requests_per_second', key: keys.rateLimit('key', principal.name), max: rl.requestsPerSecond, windowMs: 1_000, enforce: true },
  ];
  if (doc.purpose === 'otp') {
    const enforce = deps.config.rateLimits.otpMode === 'enforce';
    limits.push({
      name: 'otp_per_number',
      key: keys.rateLimit('otp-number', principal.name, phoneToken(deps.keyRing, doc.to)),
      max: rl.otpPerNumberPerHour,
      windowMs: HOUR_MS,
      enforce,
    });
    if (doc.userId !== undefined) {
      limits.push({
        name: 'otp_per_user',
        key: keys.rateLimit('otp-user', principal.name, userToken(deps.keyRing, principal.name, doc.userId)),
        max: rl.otpPerUserPerHour,
        windowMs: HOUR_MS,
        enforce,
      });
    }
  }
  return limits;
}

const LIMIT_TEXT: Record<string, string> = {
  requests_per_second: 'messages per second for this API key',
  otp_per_number: 'OTP messages per hour to this number',
  otp_per_user: 'OTP messages per hour for this userId',
};

/** A policy or rate-limit refusal at admission: `messages_total{outcome="refused"}` and `policy_blocks_total{reason}` (CONTRACTS §7). */
function refused(
  deps: AdmissionDeps,
  country: string,
  reason: 'country_not_allowed' | 'rate_limited' | 'opted_out' | 'callback_url',
): void {
  deps.metrics.messages.inc({ channel: 'none', provider: 'none', country: country || 'ZZ', outcome: 'refused' });
  deps.metrics.policyBlocks.inc({ reason });
}

/** The audit entry of a refusal: who, to which number token, refused with which code (no message id: none exists). */
async function auditRefusal(
  deps: AdmissionDeps,
  principal: ApiPrincipal,
  e164: string,
  country: string,
  code: string,
  now: number,
): Promise<void> {
  const entry: AuditEntry = {
    at: new Date(now).toISOString(),
    decision: 'refused',
    key: principal.name,
    phone: deps.audit.phoneToken(e164),
    country: country || 'ZZ',
    code,
  };
  await deps.audit.append(entry);
}

export interface AdmissionResult {
  id: string;
  status: 'accepted';
  replayed: boolean;
}

/** Stable JSON (sorted keys) so the same request always has the same fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export function normalizeRecipient(to: string, country: string | undefined): { e164: string; country: string } {
  const parsed = parsePhoneNumberFromString(to, country !== undefined ? { defaultCountry: country as CountryCode } : undefined);
  if (!parsed || !parsed.isValid()) {
    throw new ApiError(
      'SB_VALIDATION_PHONE_NUMBER',
      country === undefined && !to.startsWith('+')
        ? '`to` is not E.164; give +<country code><number>, or add `country`'
        : '`to` is not a valid phone number',
      { details: [{ path: 'to', message: 'invalid phone number' }] },
    );
  }
  return { e164: parsed.number, country: parsed.country ?? 'ZZ' };
}

/** The text a request sends and the OTP settings it gets (a template holding `{{code}}` implies `otp`). */
interface ResolvedText {
  text: string;
  otp: SendMessageBody['otp'];
}

/**
 * The text of a request (CONTRACTS §3 "Templates"): `body` as given, or the named template (the
 * `otp` template when only `otp` is given) rendered with `vars`. `{{code}}` must appear exactly
 * when an OTP is generated, so the literal text `{{code}}` never reaches a carrier.
 */
export function resolveText(templates: TemplateCatalogue, body: SendMessageBody): ResolvedText {
  if (body.body !== undefined) {
    if (body.vars !== undefined) {
      throw new ApiError('SB_VALIDATION_TEMPLATE', '`vars` fill a `template`; a `body` is sent as given', {
        details: [{ path: 'vars', message: 'only with template' }],
      });
    }
    const hasCode = body.body.includes(CODE_PLACEHOLDER);
    if (body.otp !== undefined && !hasCode) {
      throw new ApiError('SB_VALIDATION_CODE_PLACEHOLDER', '`body` must hold {{code}} when `otp` is given', {
        details: [{ path: 'body', message: 'missing {{code}}' }],
      });
    }
    if (body.otp === undefined && hasCode) {
      throw new ApiError(
        'SB_VALIDATION_CODE_PLACEHOLDER',
        '`body` holds {{code}} but no code is generated; add `otp` (e.g. `"otp": {}`) or remove {{code}}',
        {
          details: [{ path: 'otp', message: 'required when body holds {{code}}' }],
        },
      );
    }
    return { text: body.body, otp: body.otp };
  }
  const name = body.template ?? 'otp';
  const rendered = renderTemplate(templates, name, body.locale, body.vars);
  if (!rendered.ok) throw new ApiError('SB_VALIDATION_TEMPLATE', rendered.message, { details: rendered.problems });
  if (!rendered.otp && body.otp !== undefined) {
    throw new ApiError('SB_VALIDATION_CODE_PLACEHOLDER', `template "${name}" holds no {{code}}, so it cannot carry \`otp\``, {
      details: [{ path: 'otp', message: 'template has no {{code}}' }],
    });
  }
  return { text: rendered.text, otp: rendered.otp ? (body.otp ?? otpRequestSchema.parse({})) : undefined };
}

/**
 * Validates and records a send request, then queues its job. Throws `ApiError` for refusals;
 * nothing is written unless the request is admitted.
 */
export async function admitMessage(
  deps: AdmissionDeps,
  principal: ApiPrincipal,
  body: SendMessageBody,
  headerIdempotencyKey: string | undefined,
): Promise<AdmissionResult> {
  if (headerIdempotencyKey !== undefined && body.idempotencyKey !== undefined && headerIdempotencyKey !== body.idempotencyKey) {
    throw new ApiError('SB_VALIDATION_FAILED', 'Idempotency-Key header and idempotencyKey field differ', {
      details: [{ path: 'idempotencyKey' }],
    });
  }
  const idemKey = headerIdempotencyKey ?? body.idempotencyKey;
  if (idemKey !== undefined && (idemKey.length === 0 || idemKey.length > 255)) {
    throw new ApiError('SB_VALIDATION_FAILED', 'Idempotency-Key must be 1-255 characters', { details: [{ path: 'Idempotency-Key' }] });
  }
  const { e164, country } = normalizeRecipient(body.to, body.country);
  const allowed = principal.policy.allowedCountries;
  if (allowed !== undefined && !allowed.has(country)) {
    refused(deps, country, 'country_not_allowed');
    await auditRefusal(deps, principal, e164, country, 'SB_POLICY_COUNTRY_NOT_ALLOWED', deps.now());
    throw new ApiError('SB_POLICY_COUNTRY_NOT_ALLOWED', `this API key may not send to ${country === 'ZZ' ? 'this number' : country}`, {
      details: [{ path: 'to', country }],
    });
  }
  const callback = body.callbackUrl ?? principal.callbackUrl;
  const callbackRefusal = callback !== undefined ? deps.ssrf.checkUrl(callback) : undefined;
  if (callbackRefusal !== undefined) {
    refused(deps, country, 'callback_url');
    await auditRefusal(deps, principal, e164, country, 'SB_POLICY_CALLBACK_URL', deps.now());
    throw new ApiError('SB_POLICY_CALLBACK_URL', `callbackUrl is not allowed: ${callbackRefusal.reason}`, {
      details: [{ path: body.callbackUrl !== undefined ? 'callbackUrl' : 'apiKey.callbackUrl', reason: callbackRefusal.reason }],
    });
  }
  const { text, otp } = resolveText(deps.config.templates, body);
  const usable = body.channels.filter((c: Channel) => channelProviders(c, country, deps.config, deps.adapters).length > 0);
  if (usable.length === 0) {
    throw new ApiError('SB_VALIDATION_UNSUPPORTED', `no enabled provider serves ${body.channels.join(', ')} yet (available: sms)`, {
      details: [{ path: 'channels' }],
    });
  }
  const now = deps.now();
  let expiresMs = body.expiresAt !== undefined ? Date.parse(body.expiresAt) : undefined;
  if (expiresMs !== undefined && expiresMs <= now) {
    throw new ApiError('SB_VALIDATION_FAILED', '`expiresAt` is in the past', { details: [{ path: 'expiresAt' }] });
  }
  if (otp !== undefined) expiresMs = Math.min(expiresMs ?? Infinity, now + otp.ttlSeconds * 1000);

  const createdAt = new Date(now).toISOString();
  const id = newMessageId(now);
  const callbackUrl = body.callbackUrl ?? principal.callbackUrl;
  const doc: MessageRecord = {
    id,
    keyName: principal.name,
    status: 'accepted',
    to: e164,
    country,
    channels: body.channels,
    ...(body.push !== undefined
      ? {
          push: {
            enabled: body.push.enabled,
            ackTimeoutMs: body.push.ackTimeoutMs,
            ...(body.push.token !== undefined ? { token: body.push.token } : {}),
          },
        }
      : {}),
    ...(body.locale !== undefined ? { locale: body.locale } : {}),
    purpose: body.purpose ?? (otp !== undefined ? 'otp' : 'transactional'),
    // The key's policies travel with the message, so workers apply them without a key store.
    policy: { lookup: principal.policy.lookup, simSwap: principal.policy.simSwap, autoUpgradeRcs: principal.policy.autoUpgradeRcs },
    body: text,
    ...(otp !== undefined
      ? {
          otp: {
            length: otp.length,
            ttlSeconds: otp.ttlSeconds,
            deliveryTimeoutMs: otp.deliveryTimeoutMs ?? principal.policy.otpDeliveryTimeoutMs ?? deps.config.otp.deliveryTimeoutMs,
          },
        }
      : {}),
    ...(body.userId !== undefined ? { userId: body.userId } : {}),
    ...(callbackUrl !== undefined ? { callbackUrl } : {}),
    ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
    createdAt,
    updatedAt: createdAt,
    ...(expiresMs !== undefined ? { expiresAt: new Date(expiresMs).toISOString() } : {}),
    attempts: [],
    timeline: [{ at: createdAt, type: 'accepted' }],
    final: false,
  };

  // The request's fingerprint matters only to a keyed request (a replay must carry the same body).
  const { idempotencyKey: _ignored, ...fingerprinted } = body;
  const idem = idemKey !== undefined ? { keyHash: sha256(idemKey), requestHash: sha256(canonicalJson(fingerprinted)) } : undefined;
  const limits = admissionLimits(deps, principal, doc);
  const token = phoneToken(deps.keyRing, e164);
  const events = deriveEvents(undefined, doc, now);
  const extras = {
    blocks: [{ name: 'opted_out', key: deps.suppression.keyOf(token) }],
    audit: deps.audit.auditStore.forIntake(
      deps.audit.entryFor(doc, 'accepted', createdAt, { detail: `${doc.purpose} via ${doc.channels.join('>')}` }),
    ),
    watchAt: firstWatchAt(doc, {
      reconcileAfterMs: deps.config.dlr.reconcileAfterMs,
      deliveryTimeoutMs: deps.config.otp.deliveryTimeoutMs,
    }),
  };
  // An unkeyed message's job rides in the send batch of this tick; the record names that batch.
  const slot = idem === undefined ? deps.queues.reserveSend() : undefined;
  if (slot !== undefined) doc.sendJob = slot.jobId;
  const result = await deps.store.intake(doc, idem, events, limits, extras).catch((err: unknown) => {
    slot?.release();
    throw err;
  });
  if (result.created) slot?.admit(id);
  else slot?.release();
  if (!result.created) {
    if ('existing' in result) return replay(result.existing, idem?.requestHash ?? '', now);
    if ('blocked' in result) {
      refused(deps, country, 'opted_out');
      await auditRefusal(deps, principal, e164, country, 'SB_POLICY_OPTED_OUT', now);
      throw new ApiError('SB_POLICY_OPTED_OUT', 'the recipient opted out (replied STOP); sending resumes when they reply START', {
        details: [{ path: 'to', reason: 'opted_out' }],
      });
    }
    refused(deps, country, 'rate_limited');
    await auditRefusal(deps, principal, e164, country, 'SB_RATE_LIMITED', now);
    const seconds = Math.max(1, Math.ceil(result.limited.retryAfterMs / 1000));
    throw new ApiError('SB_RATE_LIMITED', `too many ${LIMIT_TEXT[result.limited.name] ?? 'requests'}; retry in ${seconds} s`, {
      headers: { 'retry-after': String(seconds) },
      details: [{ limit: result.limited.name, retryAfterSeconds: seconds }],
    });
  }
  if (result.shadowed !== undefined) {
    // Shadow mode (rateLimits.otpMode): what would have been refused, for tuning before enforcing.
    deps.log.warn({ messageId: id, key: principal.name, limits: result.shadowed }, 'admission limit exceeded (shadow mode: admitted)');
  }

  if (idem !== undefined) {
    // A keyed request's replay answers from the idempotency record, which says its job is queued.
    await deps.queues.addSend(id);
    const record: IdempotencyRecord = { hash: idem.requestHash, id, state: 'pending', at: now };
    await deps.store.markIdempotencyDone(principal.name, idem.keyHash, record);
  }
  return { id, status: 'accepted', replayed: false };
}

function replay(existing: IdempotencyRecord, requestHash: string, now: number): AdmissionResult {
  if (existing.hash !== requestHash) {
    throw new ApiError('SB_IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was used with a different request body');
  }
  if (existing.state === 'pending' && now - existing.at < IN_FLIGHT_MS) {
    throw new ApiError('SB_IDEMPOTENCY_IN_FLIGHT', 'the first request with this Idempotency-Key is still in flight', {
      headers: { 'retry-after': '1' },
    });
  }
  return { id: existing.id, status: 'accepted', replayed: true };
}
