/**
 * Which provider×country an OTP outcome is credited to (the conversion term of the routing
 * score, conversion-score.ts). Pure decisions over one saved change `before → after`, plus the
 * observer that applies the verify side.
 *
 * Each OTP message (a code Switchboard generated) counts at most once in each counter:
 * - delivered: when the message first becomes `delivered` through a carrier's report, unless it
 *   was verified before (then the verify already counted the delivery);
 * - verified: when `verifiedAt` is first set (a verify, or the upstream's conversion report)
 *   before the code's expiry, credited to the attempt that delivered the code. A verify with no
 *   delivery report yet proves the delivery itself, so it credits both counters to the latest
 *   carrier attempt the carrier accepted.
 * Push is left out: its delivery is the app's ack, not a carrier's claim, and push skipping has
 * its own per-token model (push-skip.stage.ts).
 */
import type { Attempt, MessageRecord, ProviderId } from '../domain/message.ts';
import type { Logger } from '../logger.ts';
import type { ChangeObserver } from '../store/message-recorder.ts';
import type { ConversionCredit, HealthStore } from './health.store.ts';

/**
 * Codes Switchboard generated: their only check is our verify (or the upstream's report), so an
 * unverified delivery means an untyped code. Codes the upstream made itself and may never report
 * on are left out, or a silent key would drag every carrier's ratio down.
 */
const isOtp = (m: MessageRecord): boolean => m.otp !== undefined;

/** Whether this change is the first carrier-reported delivery of an OTP not yet verified. */
export function countsAsOtpDelivery(before: MessageRecord, after: MessageRecord): boolean {
  if (!isOtp(after) || before.status === 'delivered' || after.status !== 'delivered') return false;
  if (before.verifiedAt !== undefined) return false;
  const delivering = after.attempts.find((a) => a.status === 'delivered');
  return delivering !== undefined && delivering.channel !== 'push';
}

/** What a change that verified an OTP credits, or undefined (not an OTP, not a verify, late, push). */
export function verifyCredit(
  before: MessageRecord,
  after: MessageRecord,
): { provider: ProviderId; country: string; credit: ConversionCredit } | undefined {
  if (!isOtp(after) || before.verifiedAt !== undefined || after.verifiedAt === undefined) return undefined;
  if (after.expiresAt !== undefined && Date.parse(after.verifiedAt) > Date.parse(after.expiresAt)) return undefined;
  const delivered = after.attempts.find((a) => a.status === 'delivered');
  if (delivered)
    return delivered.channel === 'push'
      ? undefined
      : { provider: delivered.provider, country: after.country || 'ZZ', credit: { delivered: 0, verified: 1 } };
  const accepted = [...after.attempts].reverse().find((a: Attempt) => a.providerMessageId !== undefined && a.channel !== 'push');
  return accepted ? { provider: accepted.provider, country: after.country || 'ZZ', credit: { delivered: 1, verified: 1 } } : undefined;
}

/** Credits verifies to the conversion counters, after their change was saved (the API's verify and conversion routes). */
export class ConversionCreditObserver implements ChangeObserver {
  private readonly health: Pick<HealthStore, 'recordConversion'>;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(health: Pick<HealthStore, 'recordConversion'>, log: Logger, now: () => number) {
    this.health = health;
    this.log = log;
    this.now = now;
  }

  async record(before: MessageRecord, after: MessageRecord): Promise<void> {
    const credit = verifyCredit(before, after);
    if (!credit) return;
    await this.health.recordConversion(credit.provider, credit.country, credit.credit, this.now()).catch((err: unknown) => {
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err), provider: credit.provider },
        'could not credit a verified OTP to its route',
      );
    });
  }
}
