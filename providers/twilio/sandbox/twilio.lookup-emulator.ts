/**
 * The sandbox side of Twilio Lookup v2 (reference §1.5): `GET /v2/PhoneNumbers/:number` with the
 * account's HTTP Basic credentials, answering from the sandbox number table (CONTRACTS §6) in
 * Twilio's snake_case shape. Only the packages named in `Fields` are filled in; the others are
 * `null`, as Twilio does.
 *
 * Table → Twilio:
 * - `valid:false` → `valid:false`,
 *   `validation_errors:["INVALID_BUT_POSSIBLE"]`, every package `null` (Twilio bills none);
 * - `lineType` → `line_type_intelligence.type` (`voip` → `nonFixedVoip`, `tollfree` →
 *   `tollFree`);
 * - `mccmnc` → `mobile_country_code` + `mobile_network_code` (null when unset);
 * - `simSwap` → `sim_swap.last_sim_swap`: `last_sim_swap_date` = now − `swappedWithinSeconds`
 *   (or `lastSwapAt`), `swapped_period` `PT24H`, `swapped_in_period` whether that is within 24 h;
 *   without a swap, the date is `null` and `swapped_in_period` false;
 * - Lookup v2 has no porting or roaming fields, so `ported`/`roaming` are not shown.
 * Scenario: outage → 503 at once; latency; injected failures; every request is recorded with `to`.
 */
import type { FastifyInstance } from 'fastify';
import { countryOfE164 } from '../../sandbox-kit/e164-country.ts';
import type { SandboxNumber } from '../../provider.ts';
import type { TwilioEmulatorKit } from './twilio.emulator-kit.ts';

/** Our line types as Twilio's `line_type_intelligence.type` spells them. */
const TWILIO_TYPES: Readonly<Record<SandboxNumber['lineType'], string>> = {
  mobile: 'mobile',
  landline: 'landline',
  voip: 'nonFixedVoip',
  tollfree: 'tollFree',
  unknown: 'unknown',
};

/** Carrier names the sandbox reports, by line type. */
const CARRIERS: Readonly<Record<SandboxNumber['lineType'], string | null>> = {
  mobile: 'Sandbox Mobile',
  landline: 'Sandbox Fixed',
  voip: 'Sandbox VoIP',
  tollfree: 'Sandbox Toll-Free',
  unknown: null,
};

const SWAP_PERIOD = 'PT24H';
const SWAP_PERIOD_SECONDS = 24 * 3600;
const E164 = /^\+[1-9]\d{1,14}$/;

/** Lookup v2's JSON answer (reference §1.5). */
export interface TwilioLookupJson {
  calling_country_code: string | null;
  country_code: string | null;
  phone_number: string;
  national_format: string | null;
  valid: boolean;
  validation_errors: string[];
  caller_name: null;
  sim_swap: {
    last_sim_swap: { last_sim_swap_date: string | null; swapped_period: string; swapped_in_period: boolean };
    carrier_name: string | null;
    mobile_country_code: string | null;
    mobile_network_code: string | null;
    error_code: number | null;
  } | null;
  call_forwarding: null;
  line_status: null;
  line_type_intelligence: {
    mobile_country_code: string | null;
    mobile_network_code: string | null;
    carrier_name: string | null;
    type: string;
    error_code: number | null;
  } | null;
  identity_match: null;
  reassigned_number: null;
  sms_pumping_risk: null;
  phone_number_quality_score: null;
  pre_fill: null;
  url: string;
}

/**
 * The sandbox entry a lookup answers from, straight from the table (the SMS magic numbers are SMS
 * refusals, not lookup facts: CONTRACTS §6).
 */
function entryFor(kit: TwilioEmulatorKit, e164: string): SandboxNumber {
  const entry = kit.control.number(e164);
  return entry;
}

/** When the number's SIM was last swapped, per the table (`lastSwapAt` wins over `swappedWithinSeconds`). */
function lastSwap(entry: SandboxNumber, now: Date): Date | undefined {
  const at = entry.simSwap?.lastSwapAt;
  if (at !== undefined && !Number.isNaN(Date.parse(at))) return new Date(at);
  const within = entry.simSwap?.swappedWithinSeconds;
  if (within !== undefined) return new Date(now.getTime() - within * 1000);
  return undefined;
}

/** Builds Twilio's answer for `e164` with the requested packages. */
export function twilioLookupJson(
  e164: string,
  entry: SandboxNumber,
  fields: ReadonlySet<string>,
  now: Date = new Date(),
): TwilioLookupJson {
  const country = countryOfE164(e164) ?? null;
  const callingCode = country === null ? null : (e164.match(/^\+(\d{1,3})/)?.[1] ?? null);
  const json: TwilioLookupJson = {
    calling_country_code: callingCode,
    country_code: country,
    phone_number: e164,
    national_format: null,
    valid: entry.valid,
    validation_errors: entry.valid ? [] : ['INVALID_BUT_POSSIBLE'],
    caller_name: null,
    sim_swap: null,
    call_forwarding: null,
    line_status: null,
    line_type_intelligence: null,
    identity_match: null,
    reassigned_number: null,
    sms_pumping_risk: null,
    phone_number_quality_score: null,
    pre_fill: null,
    url: `https://lookups.twilio.com/v2/PhoneNumbers/${e164}`,
  };
  if (!entry.valid) return json;
  const mcc = entry.mccmnc?.slice(0, 3) ?? null;
  const mnc = entry.mccmnc?.slice(3) ?? null;
  const carrier = CARRIERS[entry.lineType];
  if (fields.has('line_type_intelligence')) {
    json.line_type_intelligence = {
      mobile_country_code: mcc,
      mobile_network_code: mnc,
      carrier_name: carrier,
      type: TWILIO_TYPES[entry.lineType],
      error_code: null,
    };
  }
  if (fields.has('sim_swap')) {
    const swappedAt = lastSwap(entry, now);
    json.sim_swap = {
      last_sim_swap: {
        last_sim_swap_date: swappedAt === undefined ? null : swappedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        swapped_period: SWAP_PERIOD,
        swapped_in_period: swappedAt !== undefined && now.getTime() - swappedAt.getTime() <= SWAP_PERIOD_SECONDS * 1000,
      },
      carrier_name: carrier,
      mobile_country_code: mcc,
      mobile_network_code: mnc,
      error_code: null,
    };
  }
  return json;
}

/** Registers `GET /v2/PhoneNumbers/:number` on the Twilio emulator (same credentials, scenario and log). */
export function registerTwilioLookupEmulator(app: FastifyInstance, kit: TwilioEmulatorKit): void {
  app.get<{ Params: { number: string }; Querystring: { Fields?: string } }>('/v2/PhoneNumbers/:number', async (request, reply) => {
    // A `+` may arrive literally or as %2B (decoded by the router); a space is a `+` a form decoder ate.
    const e164 = request.params.number.replace(/^ /, '+');
    const log = { to: e164 };
    const gated = await kit.gate(reply, request, kit.credentials.accountSid, log);
    if (gated !== undefined) return gated;
    if (!E164.test(e164)) {
      const json = twilioLookupJson(e164, { valid: false, lineType: 'unknown', rcs: false }, new Set());
      return kit.answer(
        reply,
        request,
        200,
        { ...json, validation_errors: ['NOT_A_NUMBER'], calling_country_code: null, country_code: null },
        log,
      );
    }
    const fields = new Set(
      (request.query.Fields ?? '')
        .split(',')
        .map((f) => f.trim())
        .filter((f) => f !== ''),
    );
    return kit.answer(reply, request, 200, twilioLookupJson(e164, entryFor(kit, e164), fields), log);
  });
}
