/**
 * The country of an E.164 number, for the lookup emulators: every carrier's lookup answers with
 * the number's ISO country (Twilio `country_code`, Sinch `countryCode`, MessageBird
 * `details.country_iso`), and the sandbox number table does not store one.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import metadata from 'libphonenumber-js/metadata.min';

/**
 * ISO 3166-1 alpha-2 country of `e164`, or undefined when the calling code is unknown.
 *
 * libphonenumber only names a country for numbers valid in it, and sandbox numbers are often
 * fictional (`+44 7700 900…`, Ofcom's drama range), so an unplaceable number falls back to the
 * calling code's main country (the first in libphonenumber's list: `+1` → US, `+44` → GB).
 */
export function countryOfE164(e164: string): string | undefined {
  const parsed = parsePhoneNumberFromString(e164);
  if (parsed?.country !== undefined) return parsed.country;
  const digits = e164.replace(/^\+/, '');
  const codes = metadata.country_calling_codes as Record<string, string[] | undefined>;
  for (let length = 1; length <= 3; length++) {
    const main = codes[digits.slice(0, length)]?.[0];
    if (main !== undefined) return main;
  }
  return undefined;
}

/** English name of an ISO country (`NL` → `Netherlands`), as MessageBird's HLR `country_name` gives it. */
export function countryName(iso: string): string | undefined {
  try {
    return new Intl.DisplayNames(['en'], { type: 'region' }).of(iso);
  } catch {
    return undefined;
  }
}
