/**
 * Opt-out: STOP and START keywords from inbound messages, and carrier refusals that
 * mean "unsubscribed", move the suppression list (src/store/suppression.store.ts), which admission
 * checks inside its one Lua call (`422 SB_POLICY_OPTED_OUT`).
 *
 * Keywords are matched the way carriers match them: the whole message, case-insensitive, ignoring
 * surrounding whitespace and punctuation and accents (`Arrêt.` is ARRET). Twilio's defaults
 * (https://help.twilio.com/articles/223134027) plus common local equivalents. A sentence that merely
 * contains "stop" is not an opt-out. Anything that is not a keyword is acknowledged and ignored.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { ProviderError } from '../../providers/errors.ts';
import { providerRegistry, type ProviderRegistry } from '../../providers/index.ts';
import type { InboundMessage, ProviderId } from '../../providers/provider.ts';
import { maskPhone } from '../domain/mask.ts';
import type { Logger } from '../logger.ts';
import { phoneToken } from '../security/hmac.ts';
import type { KeyRing } from '../security/master-key.ts';
import type { SuppressionStore } from '../store/suppression.store.ts';
import type { AuditTrail } from './audit-trail.ts';

/** Opt-out keywords: English (Twilio's defaults and CTIA's), French, Spanish, German/Nordic, Italian, Portuguese, Dutch. */
export const STOP_KEYWORDS: ReadonlySet<string> = new Set([
  'STOP',
  'STOPALL',
  'STOP ALL',
  'UNSUBSCRIBE',
  'CANCEL',
  'END',
  'QUIT',
  'OPTOUT',
  'OPT OUT',
  'REVOKE',
  'ARRET',
  'ARRETER',
  'BAJA',
  'STOPP',
  'PARAR',
  'PARE',
  'SAIR',
  'AFMELDEN',
]);

/** Opt-in keywords: they lift an opt-out. */
export const START_KEYWORDS: ReadonlySet<string> = new Set(['START', 'UNSTOP', 'YES', 'SUBSCRIBE', 'ALTA', 'DEMARRER', 'AANMELDEN']);

/** What an inbound text asks for. */
export type KeywordIntent = 'stop' | 'start' | undefined;

/** Upper case, accents and surrounding punctuation removed, inner whitespace collapsed. */
export function normalizeKeyword(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '')
    .replace(/\s+/g, ' ');
}

export function classifyKeyword(text: string): KeywordIntent {
  const word = normalizeKeyword(text);
  if (STOP_KEYWORDS.has(word)) return 'stop';
  if (START_KEYWORDS.has(word)) return 'start';
  return undefined;
}

/**
 * Whether a send error says the recipient unsubscribed from our sender: a permanent recipient
 * refusal whose carrier code the provider's module lists in `optOutErrorCodes`. Carriers that
 * refuse synchronously list theirs (Twilio 21610, reference §1.5); those that accept the send and
 * report opt-outs only in an ambiguous delivery report list none — for them the inbound STOP is
 * the signal.
 */
export function isOptOutError(
  provider: string,
  err: { kind: ProviderError['kind']; scope: ProviderError['scope']; providerCode?: string | undefined },
  registry: ProviderRegistry = providerRegistry,
): boolean {
  if (err.kind !== 'permanent' || err.scope !== 'recipient' || err.providerCode === undefined) return false;
  return registry.get(provider)?.optOutErrorCodes?.includes(err.providerCode) ?? false;
}

export interface OptOutDeps {
  suppression: SuppressionStore;
  keyRing: KeyRing;
  log: Logger;
  now: () => number;
  audit?: AuditTrail;
}

/** Puts the number on the suppression list after a carrier refused it as unsubscribed. */
export async function suppressAfterCarrierRefusal(
  deps: OptOutDeps,
  e164: string,
  provider: ProviderId,
  providerCode: string,
): Promise<void> {
  const at = new Date(deps.now()).toISOString();
  const token = phoneToken(deps.keyRing, e164);
  await deps.suppression.suppress(token, { source: 'carrier', provider, detail: providerCode, at });
  await deps.audit?.append({
    at,
    decision: 'opted_out',
    phone: token,
    provider,
    code: 'SB_POLICY_OPTED_OUT',
    detail: `carrier ${providerCode}`,
  });
  deps.log.info({ provider, providerCode, to: maskPhone(e164) }, 'carrier says the recipient opted out: number suppressed');
}

/** The E.164 form of a sender as carriers write it (`+14155550100`, `14155550100`), or undefined. */
export function inboundE164(from: string): string | undefined {
  const trimmed = from.trim();
  const parsed = parsePhoneNumberFromString(trimmed.startsWith('+') ? trimmed : `+${trimmed.replace(/^00/, '')}`);
  return parsed?.isValid() ? parsed.number : undefined;
}

/** What an inbound message did. */
export type InboundOutcome = 'opted_out' | 'opted_in' | 'ignored';

/**
 * Applies one verified inbound message: STOP suppresses its sender, START lifts it, anything else
 * is ignored (acknowledged). The same token as admission's (HMAC of the E.164 number).
 */
export async function applyInbound(deps: OptOutDeps, provider: string, msg: InboundMessage): Promise<InboundOutcome> {
  const intent = classifyKeyword(msg.text);
  if (intent === undefined) return 'ignored';
  const e164 = inboundE164(msg.from);
  if (e164 === undefined) {
    deps.log.warn({ provider }, 'inbound keyword from a sender that is not a phone number; ignored');
    return 'ignored';
  }
  const at = new Date(deps.now()).toISOString();
  const token = phoneToken(deps.keyRing, e164);
  const word = normalizeKeyword(msg.text);
  if (intent === 'stop') {
    await deps.suppression.suppress(token, { source: 'inbound', provider, detail: word, at });
    await deps.audit?.append({ at, decision: 'opted_out', phone: token, provider, detail: `inbound ${word}` });
    deps.log.info({ provider, from: maskPhone(e164) }, 'inbound STOP: number suppressed');
    return 'opted_out';
  }
  const lifted = await deps.suppression.lift(token);
  await deps.audit?.append({
    at,
    decision: 'opted_in',
    phone: token,
    provider,
    detail: `inbound ${word}${lifted ? '' : ' (was not opted out)'}`,
  });
  deps.log.info({ provider, from: maskPhone(e164), lifted }, 'inbound START: opt-out lifted');
  return 'opted_in';
}
