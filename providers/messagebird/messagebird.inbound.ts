/**
 * MessageBird inbound SMS, for STOP/START opt-outs (issue 10).
 *
 * Source: MessageBird delivers messages to a virtual mobile number through a Flow Builder flow
 * "Call HTTP endpoint with SMS" → "Forward to URL" (method POST, `Content-Type: application/json`;
 * Zendesk's Sunshine Conversations MessageBird integration documents this setup, and verifies the
 * requests with the account's signing key). The forwarded fields are those of a mobile-originated
 * message of the SMS API: `id`, `originator` (the sender's MSISDN), `recipient` (our number),
 * `body`, `createdDatetime` (reference §3.1 message object; `payload` is accepted as an alias of
 * `body`, and GET query parameters as well as JSON or form bodies). Like every MessageBird webhook
 * it carries `MessageBird-Signature-JWT` over the URL and the body (reference §3.3), so the
 * adapter's `verifyWebhook` checks it unchanged.
 */
import { randomBytes } from 'node:crypto';
import { parseFormBody } from '../form-body.ts';
import type { InboundMessage, WebhookRequest } from '../provider.ts';
import { signMessageBirdRequest } from './sandbox/messagebird.emulator.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './sandbox/messagebird.sandbox.ts';

function fieldsOf(raw: WebhookRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.query)) if (v !== undefined) out[k] = v;
  if (raw.rawBody.length === 0) return out;
  const text = raw.rawBody.toString('utf8');
  if ((raw.headers['content-type'] ?? '').includes('json')) {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      for (const [k, v] of Object.entries(body)) if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
    }
    return out;
  }
  for (const [k, v] of Object.entries(parseFormBody(text))) out[k] = Array.isArray(v) ? (v[0] ?? '') : v;
  return out;
}

/**
 * Maps a verified inbound webhook to the message. Pure and total: status reports (they have
 * `status`, no `originator`) and anything without `id`/`originator` are `undefined`.
 */
export function parseMessageBirdInbound(raw: WebhookRequest): InboundMessage | undefined {
  try {
    const f = fieldsOf(raw);
    const from = f['originator'];
    const id = f['id'];
    if (from === undefined || from === '' || id === undefined || id === '') return undefined;
    return { from, to: f['recipient'] ?? '', text: f['body'] ?? f['payload'] ?? '', providerMessageId: id };
  } catch {
    return undefined;
  }
}

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
