/**
 * MessageBird HLR lookups (reference §3.4) through our own client, normalised to `NumberInfo`
 * (DESIGN §6.2). An HLR is asynchronous: `POST /hlr {msisdn, reference}` answers 201 with status
 * `sent`, and the network's answer lands on the resource later, so the lookup polls
 * `GET /hlr/{id}` every `hlrPollIntervalMs` for at most `hlrMaxWaitMs` (1.5 s by default) and
 * then settles for "unknown" rather than hold the OTP any longer.
 *
 * What an HLR can say, and how it maps — an HLR is the *mobile* network's subscriber register, so
 * it only ever answers for mobiles:
 * - `active` — a known mobile subscriber, attached → `valid`, `mobile`;
 * - `absent` — a known mobile subscriber, currently unreachable (phone off, no coverage) →
 *   `valid`, `mobile`: the number is right, an SMS will wait in the SMSC;
 * - `unknown` — the network could not tell → `valid`, `unknown`;
 * - `failed` — no HLR answered. That is what a landline, VoIP or toll-free number gets, but also
 *   what a transient network failure gets, and the two cannot be told apart → `valid`, `unknown`
 *   (never `landline`: calling every failed HLR a landline would push mobiles to voice);
 * - still `sent` when the wait ends → `valid`, `unknown`.
 * `network` (MCC+MNC as an integer) gives `mcc`/`mnc` of the *current* network (after porting),
 * `details` gives `ported`, `roaming` and the country. HLR has no line types beyond mobile, no
 * carrier name and no SIM swap data. A number MessageBird refuses as invalid (422 code 10 on
 * `msisdn`) is `{valid:false}`.
 */
import { randomBytes } from 'node:crypto';
import { ProviderError, isProviderError } from '../errors.ts';
import type { NumberInfo, ProviderDeps } from '../provider.ts';
import { MessageBirdApiError } from './messagebird.client.ts';
import type { MessageBirdClient, MessageBirdHlr } from './messagebird.client.ts';
import type { MessageBirdConfig } from './messagebird.config.ts';
import { classifyMessageBirdError } from './messagebird.errors.ts';

/** HLR statuses that mean the network has answered (anything but `sent`). */
export const MESSAGEBIRD_HLR_FINAL_STATUSES: ReadonlySet<string> = new Set(['active', 'absent', 'unknown', 'failed']);

function flag(value: number | boolean | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  return value === true || value === 1;
}

/**
 * Maps an HLR to `NumberInfo` per the table in the file comment. Pure. `cost` is what the HLR
 * cost (charged whatever its outcome, once created).
 */
export function normalizeMessageBirdHlr(hlr: MessageBirdHlr, cost?: { amount: number; currency: string }): NumberInfo {
  const mobile = hlr.status === 'active' || hlr.status === 'absent';
  const info: NumberInfo = { valid: true, lineType: mobile ? 'mobile' : 'unknown' };
  const country = hlr.details?.country_iso;
  if (country !== undefined && /^[A-Za-z]{2}$/.test(country)) info.country = country.toUpperCase();
  if (hlr.network !== null && Number.isInteger(hlr.network) && hlr.network >= 10_000) {
    const digits = String(hlr.network);
    info.mcc = digits.slice(0, 3);
    info.mnc = digits.slice(3);
  }
  const ported = flag(hlr.details?.ported);
  const roaming = flag(hlr.details?.roaming);
  if (ported !== undefined) info.ported = ported;
  if (roaming !== undefined) info.roaming = roaming;
  if (cost !== undefined && cost.amount > 0) info.cost = cost;
  return info;
}

/** 422 with code 10 on `msisdn`: MessageBird says the number cannot exist. */
function invalidMsisdn(err: unknown): boolean {
  return err instanceof MessageBirdApiError && err.status === 422 && err.errors.some((e) => e.code === 10 && e.parameter === 'msisdn');
}

/** A classified error, with "timed out" spelled out when our own deadline fired without an answer. */
function classify(err: unknown, signal: AbortSignal, what: string): ProviderError {
  const classified = classifyMessageBirdError(err);
  if (classified.httpStatus === undefined && signal.aborted) {
    return new ProviderError(`messagebird: ${what} timed out`, { kind: 'retryable', ambiguous: true, provider: 'messagebird', cause: err });
  }
  return classified;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Builds the MessageBird lookup function. Each lookup: create the HLR (`deps.timeoutMs`), then
 * poll until a final status or `hlrMaxWaitMs` after creation. Rejects only with `ProviderError`:
 * the create's failures as classified for sends (5xx/network/timeout → `retryable`, 401 →
 * `auth`, 429 → `rate_limited`); a poll's retryable failure is retried at the next tick, and
 * thrown only when it was the last poll before the deadline; any other poll failure is thrown at
 * once. A deadline reached with the HLR still `sent` resolves `{valid:true, lineType:'unknown'}`
 * with the HLR's cost.
 */
export function createMessageBirdLookup(
  client: MessageBirdClient,
  config: MessageBirdConfig,
  deps: ProviderDeps,
): (e164: string) => Promise<NumberInfo> {
  const cost = { amount: config.hlrPriceUsd, currency: 'USD' };
  return async (e164) => {
    const msisdn = e164.replace(/^\+/, '');
    if (!/^[1-9]\d{1,14}$/.test(msisdn)) return { valid: false, lineType: 'unknown' };
    const createSignal = AbortSignal.timeout(deps.timeoutMs);
    let hlr: MessageBirdHlr;
    try {
      hlr = await client.createHlr({ msisdn, reference: `sb-lookup-${randomBytes(8).toString('hex')}` }, createSignal);
    } catch (err) {
      if (invalidMsisdn(err)) return { valid: false, lineType: 'unknown' };
      throw classify(err, createSignal, 'HLR create');
    }
    const deadline = Date.now() + config.hlrMaxWaitMs;
    let lastFailure: ProviderError | undefined;
    while (!MESSAGEBIRD_HLR_FINAL_STATUSES.has(hlr.status)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      await sleep(Math.min(config.hlrPollIntervalMs, remaining));
      const pollSignal = AbortSignal.timeout(Math.max(50, Math.min(deps.timeoutMs, deadline - Date.now())));
      try {
        hlr = await client.getHlr(hlr.id, pollSignal);
        lastFailure = undefined;
      } catch (err) {
        const failure = isProviderError(err) ? err : classify(err, pollSignal, 'HLR poll');
        if (failure.kind !== 'retryable' && failure.kind !== 'rate_limited') throw failure;
        lastFailure = failure;
      }
    }
    if (lastFailure !== undefined && !MESSAGEBIRD_HLR_FINAL_STATUSES.has(hlr.status)) throw lastFailure;
    return normalizeMessageBirdHlr(hlr, cost);
  };
}
