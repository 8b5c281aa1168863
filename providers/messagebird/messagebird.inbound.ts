/**
 * MessageBird inbound SMS, for STOP/START opt-outs.
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
 *
 * The sandbox side (posting an inbound message as MessageBird does) is `sandbox/messagebird.inbound-emulator.ts`.
 */
import { parseFormBody } from '../form-body.ts';
import type { InboundMessage, WebhookRequest } from '../provider.ts';

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
