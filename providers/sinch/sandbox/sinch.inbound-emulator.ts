/**
 * Sandbox side of Sinch inbound SMS (CONTRACTS §6 `POST /_sandbox/inbound`): posts a
 * mobile-originated message to the gateway exactly as Sinch would, with the documented sandbox
 * credentials, so the gateway's parser (`../sinch.inbound.ts`) and signature check run for real.
 */
import { ulid } from 'ulid';
import type { InboundMessage } from '../../provider.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sinch.sandbox.ts';

/** How long the emulator waits for the gateway to answer one inbound webhook. */
const INBOUND_TIMEOUT_MS = 5_000;

/**
 * Sandbox side: posts an MO text to `url` as Sinch does — JSON with MSISDNs without `+`, and the
 * sandbox callback pair as HTTP Basic. Resolves the status the gateway answered.
 */
export async function postSinchInbound(
  msg: Omit<InboundMessage, 'providerMessageId'>,
  url: string,
  credentials: { callbackUsername: string; callbackPassword: string } = SINCH_SANDBOX_CREDENTIALS,
): Promise<number> {
  const body = {
    type: 'mo_text',
    id: ulid(),
    from: msg.from.replace(/^\+/, ''),
    to: msg.to.replace(/^\+/, ''),
    body: msg.text,
    received_at: new Date().toISOString(),
    operator_id: '31000',
  };
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: 'Basic ' + Buffer.from(`${credentials.callbackUsername}:${credentials.callbackPassword}`).toString('base64'),
      'user-agent': 'Sinch-XMS-Callback/1.0',
    },
    body: JSON.stringify(body),
    redirect: 'manual',
    signal: AbortSignal.timeout(INBOUND_TIMEOUT_MS),
  });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}
