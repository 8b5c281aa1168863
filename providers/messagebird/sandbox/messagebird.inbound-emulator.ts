/**
 * Sandbox side of MessageBird inbound SMS (CONTRACTS §6 `POST /_sandbox/inbound`): posts a
 * mobile-originated message to the gateway exactly as MessageBird would, with the documented sandbox
 * credentials, so the gateway's parser (`../messagebird.inbound.ts`) and signature check run for real.
 */
import { randomBytes } from 'node:crypto';
import type { InboundMessage } from '../../provider.ts';
import { signMessageBirdRequest } from './messagebird.emulator.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './messagebird.sandbox.ts';

/** How long the emulator waits for the gateway to answer one inbound webhook. */
const INBOUND_TIMEOUT_MS = 5_000;

/** `2024-06-06T09:22:14+00:00`, MessageBird's datetime style. */
function datetime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/**
 * Sandbox side: forwards an inbound SMS to `url` as a MessageBird flow does — JSON POST, MSISDNs
 * without `+`, signed with the sandbox signing key (JWT over the URL and the body's SHA-256).
 * Resolves the status the gateway answered.
 */
export async function postMessageBirdInbound(
  msg: Omit<InboundMessage, 'providerMessageId'>,
  url: string,
  signingKey: string = MESSAGEBIRD_SANDBOX_CREDENTIALS.signingKey,
): Promise<number> {
  const body = Buffer.from(
    JSON.stringify({
      id: randomBytes(16).toString('hex'),
      originator: msg.from.replace(/^\+/, ''),
      recipient: msg.to.replace(/^\+/, ''),
      body: msg.text,
      createdDatetime: datetime(new Date()),
    }),
  );
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'messagebird-signature-jwt': await signMessageBirdRequest(signingKey, url, body),
      'user-agent': 'MessageBird/Flow',
    },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(INBOUND_TIMEOUT_MS),
  });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}
