/**
 * "Not on WhatsApp", remembered (DESIGN §6.3, the WhatsApp rung): a carrier learns that a number
 * has no WhatsApp account only after it accepted the message (Twilio 63024/63003, Sinch
 * `RECIPIENT_NOT_REACHABLE` on `WHATSAPP`), so the first message to such a number pays one
 * WhatsApp round trip before its SMS. The answer is kept under the phone's HMAC token for
 * `whatsapp.notRegisteredTtlSeconds` (0: never kept), so the next messages to that number skip
 * WhatsApp at once (`whatsapp_not_registered`). People do install WhatsApp, hence the expiry.
 */
import { phoneToken } from '../security/hmac.ts';
import type { PipelineDeps } from './pipeline-deps.ts';

export type WhatsAppRegistrationDeps = Pick<PipelineDeps, 'config' | 'keyRing' | 'redis' | 'log'>;

function key(deps: WhatsAppRegistrationDeps, e164: string): string {
  return `${deps.config.redis.prefix}:wa:unreg:${phoneToken(deps.keyRing, e164)}`;
}

/** Whether a carrier said recently that `e164` has no WhatsApp; false when unknown or Redis fails (WhatsApp is then tried). */
export async function knownNotOnWhatsApp(deps: WhatsAppRegistrationDeps, e164: string): Promise<boolean> {
  if (deps.config.whatsapp.notRegisteredTtlSeconds === 0) return false;
  try {
    return (await deps.redis.get(key(deps, e164))) !== null;
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, 'could not read the WhatsApp registration cache; trying WhatsApp');
    return false;
  }
}

/** Remembers that a carrier said `e164` has no WhatsApp. Never throws: a lost note only costs one WhatsApp try. */
export async function rememberNotOnWhatsApp(deps: WhatsAppRegistrationDeps, e164: string): Promise<void> {
  const ttl = deps.config.whatsapp.notRegisteredTtlSeconds;
  if (ttl === 0) return;
  try {
    await deps.redis.set(key(deps, e164), '1', 'EX', ttl);
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, 'could not remember that a number is not on WhatsApp');
  }
}
