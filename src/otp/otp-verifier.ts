/**
 * OTP verification and conversion reports (CONTRACTS §3):
 * `POST /v1/messages/:id/verify {code}` and `POST /v1/messages/:id/conversion {verified}`.
 *
 * The presented code is HMAC'd under the `otp-hmac` subkey and compared in constant time with the
 * HMAC the worker stored when it generated the code; the API never decrypts a code. Wrong guesses
 * are counted atomically in Redis (see `OtpAttemptStore`). A success sets `verifiedAt` through the
 * MessageRecorder, so the `message.verified` webhook is written with the change. The code itself
 * never appears in a response, a log line or an error.
 *
 * Decisions where the contract is silent:
 * - The 5th wrong code still answers `{valid:false, attemptsLeft:0}`; every later try (right or
 *   wrong) answers `429 SB_OTP_LOCKED`.
 * - After a success every further verify answers `409 SB_OTP_ALREADY_VERIFIED` (counted as
 *   `invalid`): a code logs in once.
 * - Expiry wins over the lock: past `expiresAt` (which admission sets from the OTP TTL) or once the
 *   message is `expired`, the answer is `410 SB_OTP_EXPIRED` and nothing is counted.
 * - A code not generated yet (the worker has not run) cannot match: the guess counts as wrong.
 * - A successful verify is also a conversion (`conversion.verified = true`), so the pumping guard
 *   sees Switchboard's own codes and the upstream's alike.
 */
import type { Config } from '../config/config.schema.ts';
import type { MessageRecord } from '../domain/message.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { MessageRecorder } from '../store/message-recorder.ts';
import type { KeyRing } from '../security/master-key.ts';
import type { ConversionStore } from '../store/conversion.store.ts';
import type { OtpAttemptStore } from '../store/otp-attempts.store.ts';
import { codeHmac, codeMatches, decryptCode } from './otp-codec.ts';

/** The verification state stays this long after the code expired (late guesses still see 410 from the record). */
const STATE_GRACE_MS = 3_600_000;

/** What verification needs: injected so the route and tests share one set of real stores. */
export interface OtpVerifierDeps {
  config: Pick<Config, 'otp'>;
  recorder: MessageRecorder;
  attempts: OtpAttemptStore;
  conversions: ConversionStore;
  keyRing: KeyRing;
  metrics: Metrics;
  now: () => number;
}

/** What a verify answers; the route maps the refusals to their `SB_*` codes. */
export type VerifyOutcome =
  | { kind: 'valid' }
  | { kind: 'invalid'; attemptsLeft: number }
  | { kind: 'locked' }
  | { kind: 'expired' }
  | { kind: 'already_verified' }
  | { kind: 'no_otp' };

/** Whether the code's time is over: past `expiresAt` (admission sets it from the OTP TTL) or expired. */
export function otpExpired(msg: MessageRecord, nowMs: number): boolean {
  if (msg.status === 'expired') return true;
  return msg.expiresAt !== undefined && Date.parse(msg.expiresAt) <= nowMs;
}

/** Constant-time check of `presented` against the code the worker generated for `msg`. */
function matches(ring: KeyRing, msg: MessageRecord, presented: string): boolean {
  const otp = msg.otp;
  if (otp === undefined) return false;
  if (otp.codeHmac !== undefined) return codeMatches(ring.subkey('otp-hmac'), msg.id, presented, otp.codeHmac);
  if (otp.codeEnc === undefined) return false;
  // Records written before HMACs were stored: derive the HMAC from the sealed code, then compare the same way.
  const stored = codeHmac(ring.subkey('otp-hmac'), msg.id, decryptCode(ring.subkey('otp-encryption'), msg.id, otp.codeEnc));
  return codeMatches(ring.subkey('otp-hmac'), msg.id, presented, stored);
}

/** Sets `verifiedAt` (→ `message.verified`) and the conversion flag; counts the conversion once. */
async function markVerified(deps: OtpVerifierDeps, id: string, at: number): Promise<void> {
  const iso = new Date(at).toISOString();
  const res = await deps.recorder.update(id, (d) => {
    if (d.verifiedAt !== undefined) return false;
    const previous = d.conversion?.verified;
    d.verifiedAt = iso;
    d.conversion = { verified: true, at: iso };
    d.updatedAt = iso;
    d.timeline.push({ at: iso, type: 'verified' });
    return { previous };
  });
  if (res) await deps.conversions.record(res.after, res.result.previous, true, at);
}

/**
 * Verifies `presented` against the code of `msg` (already authorised for the caller). Counts
 * `switchboard_otp_verifications_total{result}` once per call that reaches a decision.
 */
export async function verifyOtp(deps: OtpVerifierDeps, msg: MessageRecord, presented: string): Promise<VerifyOutcome> {
  const now = deps.now();
  const count = (result: 'valid' | 'invalid' | 'locked' | 'expired'): void => deps.metrics.otpVerifications.inc({ result });
  if (msg.otp === undefined) return { kind: 'no_otp' };
  if (msg.verifiedAt !== undefined) {
    count('invalid');
    return { kind: 'already_verified' };
  }
  if (otpExpired(msg, now)) {
    count('expired');
    return { kind: 'expired' };
  }
  const expiresAt = msg.expiresAt !== undefined ? Date.parse(msg.expiresAt) : Date.parse(msg.createdAt) + msg.otp.ttlSeconds * 1000;
  const outcome = await deps.attempts.attempt(
    msg.id,
    matches(deps.keyRing, msg, presented),
    deps.config.otp.maxVerifyAttempts,
    Math.max(expiresAt, now) + STATE_GRACE_MS,
  );
  switch (outcome.result) {
    case 'valid':
      await markVerified(deps, msg.id, now);
      count('valid');
      return { kind: 'valid' };
    case 'invalid':
      count('invalid');
      return { kind: 'invalid', attemptsLeft: outcome.attemptsLeft };
    case 'locked':
      count('locked');
      return { kind: 'locked' };
    case 'already':
      // Verified in Redis but the record lacks it (a crash between the two): repair, then refuse.
      await markVerified(deps, msg.id, now);
      count('invalid');
      return { kind: 'already_verified' };
  }
}

/**
 * Records the upstream's report on a code it made itself (`POST …/conversion`). The message keeps
 * the latest report with its time; `verified: true` also sets `verifiedAt` (once). Repeating the
 * same report changes nothing and counts nothing.
 */
export async function recordConversion(
  deps: Pick<OtpVerifierDeps, 'recorder' | 'conversions' | 'now'>,
  msg: MessageRecord,
  verified: boolean,
): Promise<void> {
  const now = deps.now();
  const iso = new Date(now).toISOString();
  const res = await deps.recorder.update(msg.id, (d) => {
    const previous = d.conversion?.verified;
    if (previous === verified) return false;
    d.conversion = { verified, at: iso };
    if (verified && d.verifiedAt === undefined) d.verifiedAt = iso;
    d.updatedAt = iso;
    d.timeline.push({ at: iso, type: 'conversion', detail: verified ? 'verified' : 'not verified' });
    return { previous };
  });
  if (res) await deps.conversions.record(res.after, res.result.previous, verified, now);
}
