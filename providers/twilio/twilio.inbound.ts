/**
 * Twilio inbound SMS (a person texting one of our numbers), for STOP/START opt-outs (issue 10).
 * Twilio POSTs the incoming message to the number's "A message comes in" webhook as a form body —
 * `MessageSid`, `AccountSid`, `From`, `To`, `Body`, `NumMedia`… — signed with `X-Twilio-Signature`
 * exactly like a status callback, so the adapter's `verifyWebhook` checks it unchanged.
 * https://www.twilio.com/docs/messaging/guides/webhook-request
 */
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { formField, parseFormBody } from '../form-body.ts';
import type { InboundMessage, WebhookRequest } from '../provider.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './sandbox/twilio.sandbox.ts';

/**
 * Maps a verified inbound-message webhook to the message. Pure and total: a body without
 * `From` or a message SID (a status callback posted here by mistake, garbage) is `undefined`.
 */
export function parseTwilioInbound(raw: WebhookRequest): InboundMessage | undefined {
  try {
    const fields = parseFormBody(raw.rawBody.toString('utf8'));
    const sid = formField(fields, 'MessageSid') ?? formField(fields, 'SmsMessageSid') ?? formField(fields, 'SmsSid');
    const from = formField(fields, 'From');
    if (sid === undefined || sid === '' || from === undefined || from === '') return undefined;
    return { from, to: formField(fields, 'To') ?? '', text: formField(fields, 'Body') ?? '', providerMessageId: sid };
  } catch {
    return undefined;
  }
}

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
