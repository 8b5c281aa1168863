/**
 * Sandbox side of Twilio inbound SMS (CONTRACTS §6 `POST /_sandbox/inbound`): posts a
 * mobile-originated message to the gateway exactly as Twilio would, with the documented sandbox
 * credentials, so the gateway's parser (`../twilio.inbound.ts`) and signature check run for real.
 */
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import type { InboundMessage } from '../../provider.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './twilio.sandbox.ts';

/** How long the emulator waits for the gateway to answer one inbound webhook. */
const INBOUND_TIMEOUT_MS = 5_000;

/**
 * Sandbox side: posts an inbound SMS to `url` the way Twilio does — the same form fields, signed
 * with the sandbox auth token over the exact URL and the POST parameters. Resolves the status
 * the gateway answered.
 */
export async function postTwilioInbound(
  msg: Omit<InboundMessage, 'providerMessageId'>,
  url: string,
  credentials: { accountSid: string; authToken: string } = TWILIO_SANDBOX_CREDENTIALS,
): Promise<number> {
  const sid = `SM${randomBytes(16).toString('hex')}`;
  const params: Record<string, string> = {
    ToCountry: 'US',
    SmsMessageSid: sid,
    NumMedia: '0',
    SmsSid: sid,
    SmsStatus: 'received',
    Body: msg.text,
    To: msg.to,
    NumSegments: '1',
    MessageSid: sid,
    AccountSid: credentials.accountSid,
    From: msg.from,
    ApiVersion: '2010-04-01',
  };
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(credentials.authToken, url, params),
      'i-twilio-idempotency-token': randomBytes(16).toString('hex'),
      'user-agent': 'TwilioProxy/1.1',
    },
    body: new URLSearchParams(params).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(INBOUND_TIMEOUT_MS),
  });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}
