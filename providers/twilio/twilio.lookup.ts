/**
 * Twilio Lookup v2 (reference §1.5) through the official SDK, normalised to `NumberInfo`
 * (DESIGN §6.2): `client.lookups.v2.phoneNumbers(e164).fetch({fields})` with Line Type
 * Intelligence and, unless disabled, SIM Swap. Our `BaseUrlRequestClient` already rewrites the
 * `lookups.twilio.com` host to the sandbox, so nothing here knows about sandbox mode.
 *
 * What Twilio reports and what it does not: line type, MCC/MNC and carrier of the *current*
 * network (so a ported number shows its new carrier), the country, and the last SIM swap. It says
 * nothing about porting or roaming, so `ported`/`roaming` stay undefined. An invalid number is a
 * 200 with `valid:false` (no package is billed), not an error.
 */
import type { Twilio } from 'twilio';
import type { NumberInfo } from '../provider.ts';
import type { TwilioConfig } from './twilio.config.ts';
import { classifyTwilioError } from './twilio.errors.ts';
import { runTwilioCall } from './twilio.request-client.ts';
import type { TwilioCallContext } from './twilio.request-client.ts';

/** The Lookup v2 packages Switchboard asks for (reference §1.5 `Fields`). */
export const TWILIO_LOOKUP_FIELDS = { lineTypeIntelligence: 'line_type_intelligence', simSwap: 'sim_swap' } as const;

/**
 * Twilio `line_type_intelligence.type` → our line type. `personal`, `premium`, `sharedCost`,
 * `uan`, `voicemail`, `pager` and anything new are `unknown`: none of them is reliably a handset
 * that takes SMS, nor a line we should call.
 */
const LINE_TYPES: Readonly<Record<string, NumberInfo['lineType']>> = {
  mobile: 'mobile',
  landline: 'landline',
  fixedVoip: 'voip',
  nonFixedVoip: 'voip',
  tollFree: 'tollfree',
};

/** Normalises a Twilio line type (`fixedVoip` → `voip`, `tollFree` → `tollfree`, else `unknown`). */
export function mapTwilioLineType(type: string | null | undefined): NumberInfo['lineType'] {
  if (type === null || type === undefined) return 'unknown';
  return Object.hasOwn(LINE_TYPES, type) ? (LINE_TYPES[type] ?? 'unknown') : 'unknown';
}

/** Parses an ISO 8601 duration such as Twilio's `swapped_period` (`PT24H`, `P7D`) into seconds. */
export function isoDurationSeconds(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value);
  if (m === null || value === 'P' || value.endsWith('T')) return undefined;
  const [, w, d, h, min, s] = m;
  return Number(w ?? 0) * 604_800 + Number(d ?? 0) * 86_400 + Number(h ?? 0) * 3_600 + Number(min ?? 0) * 60 + Math.round(Number(s ?? 0));
}

/** The part of the SDK's `PhoneNumberInstance` this module reads (structural, so tests can build one). */
export interface TwilioLookupPayload {
  valid?: boolean | null;
  countryCode?: string | null;
  lineTypeIntelligence?: {
    type?: string | null;
    mobileCountryCode?: string | null;
    mobileNetworkCode?: string | null;
    carrierName?: string | null;
    errorCode?: number | null;
  } | null;
  simSwap?: {
    /** The SDK leaves this one snake_case (reference §1.5), but a future SDK may not. */
    lastSimSwap?: unknown;
    mobileCountryCode?: string | null;
    mobileNetworkCode?: string | null;
    carrierName?: string | null;
    errorCode?: number | null;
  } | null;
}

/** Per-package prices (USD) a lookup is charged with. */
export interface TwilioLookupPrices {
  lineTypeIntelligence: number;
  simSwap: number;
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function failed(errorCode: number | null | undefined): boolean {
  return errorCode !== null && errorCode !== undefined && errorCode !== 0;
}

/** Reads `last_sim_swap` whether the SDK left it raw (snake_case) or wrapped it (camelCase). */
function lastSimSwapOf(value: unknown): { date?: Date; period?: string; inPeriod?: boolean } {
  if (typeof value !== 'object' || value === null) return {};
  const record = value as Record<string, unknown>;
  const rawDate = record['last_sim_swap_date'] ?? record['lastSimSwapDate'];
  const rawPeriod = record['swapped_period'] ?? record['swappedPeriod'];
  const rawInPeriod = record['swapped_in_period'] ?? record['swappedInPeriod'];
  const out: { date?: Date; period?: string; inPeriod?: boolean } = {};
  const date = rawDate instanceof Date ? rawDate : typeof rawDate === 'string' && rawDate !== '' ? new Date(rawDate) : undefined;
  if (date !== undefined && !Number.isNaN(date.getTime())) out.date = date;
  if (typeof rawPeriod === 'string') out.period = rawPeriod;
  if (typeof rawInPeriod === 'boolean') out.inPeriod = rawInPeriod;
  return out;
}

/**
 * Maps a Lookup v2 answer to `NumberInfo`. Pure.
 *
 * - `valid:false` → `{valid:false, lineType:'unknown'}`, no cost (Twilio bills no package then).
 * - Line type per {@link mapTwilioLineType}; MCC/MNC/carrier from Line Type Intelligence, else
 *   from the SIM Swap package (both describe the current network).
 * - SIM swap: a `last_sim_swap_date` gives `lastSwapAt` and `swappedWithinSeconds` (its age at
 *   `now`); without a date (some countries withhold it), `swapped_in_period: true` gives the
 *   period (`PT24H` → 86 400 s) as the upper bound. No swap known → `simSwap` undefined.
 * - Cost: the price of each requested package that answered without an `error_code`.
 */
export function normalizeTwilioLookup(
  payload: TwilioLookupPayload,
  opts: { prices: TwilioLookupPrices; simSwapRequested: boolean; now?: Date },
): NumberInfo {
  if (payload.valid === false) return { valid: false, lineType: 'unknown' };
  const now = opts.now ?? new Date();
  const lti = payload.lineTypeIntelligence ?? undefined;
  const swap = payload.simSwap ?? undefined;
  const ltiOk = lti !== undefined && !failed(lti.errorCode);
  const swapOk = opts.simSwapRequested && swap !== undefined && !failed(swap.errorCode);

  const info: NumberInfo = { valid: true, lineType: ltiOk ? mapTwilioLineType(lti.type) : 'unknown' };
  const country = nonEmpty(payload.countryCode);
  if (country !== undefined) info.country = country;
  const mcc = (ltiOk ? nonEmpty(lti.mobileCountryCode) : undefined) ?? (swapOk ? nonEmpty(swap.mobileCountryCode) : undefined);
  const mnc = (ltiOk ? nonEmpty(lti.mobileNetworkCode) : undefined) ?? (swapOk ? nonEmpty(swap.mobileNetworkCode) : undefined);
  const carrier = (ltiOk ? nonEmpty(lti.carrierName) : undefined) ?? (swapOk ? nonEmpty(swap.carrierName) : undefined);
  if (mcc !== undefined) info.mcc = mcc;
  if (mnc !== undefined) info.mnc = mnc;
  if (carrier !== undefined) info.carrier = carrier;

  if (swapOk) {
    const last = lastSimSwapOf(swap.lastSimSwap);
    if (last.date !== undefined) {
      info.simSwap = {
        lastSwapAt: last.date.toISOString(),
        swappedWithinSeconds: Math.max(0, Math.round((now.getTime() - last.date.getTime()) / 1000)),
      };
    } else if (last.inPeriod === true) {
      const period = isoDurationSeconds(last.period);
      info.simSwap = period === undefined ? {} : { swappedWithinSeconds: period };
    }
  }

  const amount = (ltiOk ? opts.prices.lineTypeIntelligence : 0) + (swapOk ? opts.prices.simSwap : 0);
  if (amount > 0) info.cost = { amount: Math.round(amount * 1e6) / 1e6, currency: 'USD' };
  return info;
}

/**
 * Builds the lookup function of the Twilio adapter over its SDK client. Rejects only with
 * `ProviderError` (classified like sends: 5xx/network/timeout → `retryable`, 401 → `auth`,
 * 429 → `rate_limited`), so an outage degrades to "unknown" in the gateway.
 */
export function createTwilioLookup(client: Twilio, config: TwilioConfig): (e164: string) => Promise<NumberInfo> {
  const fields = config.lookupSimSwap
    ? `${TWILIO_LOOKUP_FIELDS.lineTypeIntelligence},${TWILIO_LOOKUP_FIELDS.simSwap}`
    : TWILIO_LOOKUP_FIELDS.lineTypeIntelligence;
  return async (e164) => {
    const ctx: TwilioCallContext = {};
    try {
      const result = await runTwilioCall(ctx, () => client.lookups.v2.phoneNumbers(e164).fetch({ fields }));
      return normalizeTwilioLookup(result, { prices: config.lookupPricesUsd, simSwapRequested: config.lookupSimSwap });
    } catch (err) {
      throw classifyTwilioError(err, ctx.retryAfter === undefined ? undefined : { retryAfter: ctx.retryAfter });
    }
  };
}
