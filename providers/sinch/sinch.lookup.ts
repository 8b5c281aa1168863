/**
 * Sinch Number Lookup v2 (reference §2.4) through the official `@sinch/sdk-core`
 * (`numberLookup.lookup`), normalised to `NumberInfo` (DESIGN §6.2).
 *
 * Number Lookup only takes OAuth2: the SDK trades `keyId:keySecret` for a bearer token at
 * `{authHostname}/oauth2/token` and caches it, then calls
 * `POST {numberLookupHostname}/v2/projects/{projectId}/lookups`. In sandbox mode both hostnames are
 * the sandbox base URL (reference §2.6). The lookup uses its own SDK client, separate from the SMS
 * one: the SMS client authenticates with the service plan's API token, and the SDK would ignore
 * the OAuth2 credentials on it anyway.
 *
 * What Sinch reports: line type, carrier, MCC/MNC, whether the number is ported, the country, and
 * whether the SIM was swapped within a period (`SP4H` … `SP30D`, `SPMAX`), not when. No roaming.
 */
import { SinchClient } from '@sinch/sdk-core';
import type { NumberLookup } from '@sinch/sdk-core';
import { ProviderError } from '../errors.ts';
import type { NumberInfo, ProviderDeps } from '../provider.ts';
import type { SinchConfig } from './sinch.config.ts';
import { classifySinchError, decodeSinchErrorData } from './sinch.errors.ts';
import { AbortSignalRequestPlugin, runSinchCall } from './sinch.request-plugin.ts';

/** Sinch `line.type` → our line type; `Special`, `Other` and anything new are `unknown`. */
const LINE_TYPES: Readonly<Record<string, NumberInfo['lineType']>> = {
  Mobile: 'mobile',
  Landline: 'landline',
  VoIP: 'voip',
  Freephone: 'tollfree',
};

/** Sinch `swapPeriod` → seconds; `SPMAX` and `Undefined` bound nothing. */
export const SINCH_SWAP_PERIOD_SECONDS: Readonly<Record<string, number>> = {
  SP4H: 4 * 3600,
  SP12H: 12 * 3600,
  SP24H: 24 * 3600,
  SP48H: 48 * 3600,
  SP5D: 5 * 86_400,
  SP7D: 7 * 86_400,
  SP14D: 14 * 86_400,
  SP30D: 30 * 86_400,
};

/** Normalises a Sinch line type (`Freephone` → `tollfree`, `VoIP` → `voip`, else `unknown`). */
export function mapSinchLineType(type: string | undefined): NumberInfo['lineType'] {
  if (type === undefined) return 'unknown';
  return Object.hasOwn(LINE_TYPES, type) ? (LINE_TYPES[type] ?? 'unknown') : 'unknown';
}

/** Per-feature prices (USD) a lookup is charged with. */
export interface SinchLookupPrices {
  lineType: number;
  simSwap: number;
}

function nonEmpty(value: string | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Maps a Number Lookup answer to `NumberInfo`. Pure.
 * - Line type, carrier, MCC/MNC and `ported` from `line` (unless it carries an `error`).
 * - SIM swap: `swapped:true` with a period gives that period as `swappedWithinSeconds`
 *   (`SP4H` → 14 400); with `SPMAX` the swap is known but unbounded (`simSwap: {}`, never
 *   "recent"); `swapped:false` → no `simSwap`.
 * - Cost: the price of each requested feature that answered without an `error`.
 */
export function normalizeSinchLookup(
  response: NumberLookup.NumberLookupResponse,
  opts: { prices: SinchLookupPrices; simSwapRequested: boolean },
): NumberInfo {
  const line = response.line;
  const lineOk = line !== undefined && line.error === undefined;
  const info: NumberInfo = { valid: true, lineType: lineOk ? mapSinchLineType(line.type) : 'unknown' };
  const country = nonEmpty(response.countryCode);
  if (country !== undefined) info.country = country;
  if (lineOk) {
    const mcc = nonEmpty(line.mobileCountryCode);
    const mnc = nonEmpty(line.mobileNetworkCode);
    const carrier = nonEmpty(line.carrier);
    if (mcc !== undefined) info.mcc = mcc;
    if (mnc !== undefined) info.mnc = mnc;
    if (carrier !== undefined) info.carrier = carrier;
    if (typeof line.ported === 'boolean') info.ported = line.ported;
  }
  const swap = response.simSwap;
  const swapOk = opts.simSwapRequested && swap !== undefined && swap.error === undefined;
  if (swapOk && swap.swapped === true) {
    const period =
      swap.swapPeriod === undefined || !Object.hasOwn(SINCH_SWAP_PERIOD_SECONDS, swap.swapPeriod)
        ? undefined
        : SINCH_SWAP_PERIOD_SECONDS[swap.swapPeriod];
    info.simSwap = period === undefined ? {} : { swappedWithinSeconds: period };
  }
  const amount = (lineOk ? opts.prices.lineType : 0) + (swapOk ? opts.prices.simSwap : 0);
  if (amount > 0) info.cost = { amount: Math.round(amount * 1e6) / 1e6, currency: 'USD' };
  return info;
}

/** RFC 9457 problem details as Number Lookup answers errors (`{type,title,status,detail,traceId}`). */
export function parseSinchProblem(data: unknown): { title?: string; detail?: string } {
  const record = decodeSinchErrorData(data);
  if (!record) return {};
  const out: { title?: string; detail?: string } = {};
  if (typeof record['title'] === 'string') out.title = record['title'];
  if (typeof record['detail'] === 'string') out.detail = record['detail'];
  return out;
}

/** A 400 whose problem names the number: Sinch refuses numbers that cannot exist this way. */
function invalidNumberRefusal(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { statusCode?: unknown; data?: unknown };
  if (e.statusCode !== 400) return false;
  const problem = parseSinchProblem(e.data);
  return /\b(number|msisdn)\b/i.test(`${problem.title ?? ''} ${problem.detail ?? ''}`);
}

/** A `ProviderError` from the SDK's failure, keeping a problem's `detail` as the message. */
function classifyLookupError(err: unknown): ProviderError {
  const classified = classifySinchError(err);
  const problem = typeof err === 'object' && err !== null ? parseSinchProblem((err as { data?: unknown }).data) : {};
  const text = problem.detail ?? problem.title;
  if (text === undefined || classified.httpStatus === undefined) return classified;
  return new ProviderError(`sinch: lookup: ${text} (HTTP ${classified.httpStatus})`, {
    kind: classified.kind,
    scope: classified.scope,
    ambiguous: classified.ambiguous,
    retryAfterMs: classified.retryAfterMs,
    providerCode: classified.providerCode,
    httpStatus: classified.httpStatus,
    provider: 'sinch',
    cause: err,
  });
}

/**
 * Builds the Sinch lookup function, or `undefined` when the config has no OAuth2 project
 * credentials (Sinch stays SMS-only). Each lookup has `deps.timeoutMs` in all, token fetch
 * included: the SDK's token request takes no signal, so a deadline races it. Resolves
 * `{valid:false}` for a number Sinch refuses as invalid (400 naming the number) and rejects only
 * with `ProviderError` (5xx/network/timeout → `retryable`, 401/403 → `auth`, 429 → `rate_limited`).
 */
export function createSinchLookup(config: SinchConfig, deps: ProviderDeps): ((e164: string) => Promise<NumberInfo>) | undefined {
  const { projectId, keyId, keySecret } = config;
  if (projectId === undefined || keyId === undefined || keySecret === undefined) return undefined;
  const base = deps.baseUrl?.replace(/\/+$/, '');
  const client = new SinchClient({
    projectId,
    keyId,
    keySecret,
    ...(base !== undefined ? { authHostname: base, numberLookupHostname: base } : {}),
    requestPlugins: [new AbortSignalRequestPlugin()],
    logger: null,
  });
  const features = config.lookupSimSwap ? ['LineType', 'SimSwap'] : ['LineType'];

  return async (e164) => {
    const timeout = AbortSignal.timeout(deps.timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new ProviderError(`sinch: lookup timed out after ${deps.timeoutMs} ms`, { kind: 'retryable', provider: 'sinch' })),
        deps.timeoutMs + 50,
      );
    });
    try {
      const response = await Promise.race([
        runSinchCall({ signal: timeout }, () => client.numberLookup.lookup({ numberLookupRequestBody: { number: e164, features } })),
        deadline,
      ]);
      return normalizeSinchLookup(response, { prices: config.lookupPricesUsd, simSwapRequested: config.lookupSimSwap });
    } catch (err) {
      if (invalidNumberRefusal(err)) return { valid: false, lineType: 'unknown' };
      const classified = classifyLookupError(err);
      if (classified.httpStatus === undefined && timeout.aborted) {
        throw new ProviderError(`sinch: lookup timed out after ${deps.timeoutMs} ms`, { kind: 'retryable', provider: 'sinch', cause: err });
      }
      throw classified;
    } finally {
      clearTimeout(timer);
    }
  };
}
