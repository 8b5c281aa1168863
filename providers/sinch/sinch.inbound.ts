/**
 * Sinch inbound SMS (MO), for STOP/START opt-outs. Sinch POSTs mobile-originated
 * messages as JSON to the service plan's callback URL — the same URL and the same authentication
 * (HTTP Basic, set up with the account manager) as delivery reports (reference §2.2: "Inbound SMS
 * arrives as `mo_text`/`mo_binary`/`mo_media` on the same callback"):
 * `{"type":"mo_text","id","from","to","body","received_at","operator_id"?,"client_reference"?}`.
 * https://developers.sinch.com/docs/sms/api-reference/sms/tag/Inbounds
 *
 * The sandbox side (posting an inbound message as Sinch does) is `sandbox/sinch.inbound-emulator.ts`.
 */
import type { InboundMessage, WebhookRequest } from '../provider.ts';

/** MO types carrying text: `mo_text`, and `mo_media` whose `body.message` may hold a caption. */
function textOf(body: Record<string, unknown>): string | undefined {
  if (body['type'] === 'mo_text' && typeof body['body'] === 'string') return body['body'];
  if (body['type'] === 'mo_media') {
    const media = body['body'];
    if (typeof media === 'object' && media !== null && typeof (media as Record<string, unknown>)['message'] === 'string')
      return (media as Record<string, string>)['message'];
    return '';
  }
  if (body['type'] === 'mo_binary') return '';
  return undefined;
}

/**
 * Maps a verified inbound webhook to the message. Pure and total: delivery reports and anything
 * without `id`/`from` are `undefined`.
 */
export function parseSinchInbound(raw: WebhookRequest): InboundMessage | undefined {
  try {
    const parsed: unknown = JSON.parse(raw.rawBody.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const body = parsed as Record<string, unknown>;
    const text = textOf(body);
    const id = body['id'];
    const from = body['from'];
    if (text === undefined || typeof id !== 'string' || id === '' || typeof from !== 'string' || from === '') return undefined;
    return { from, to: typeof body['to'] === 'string' ? body['to'] : '', text, providerMessageId: id };
  } catch {
    return undefined;
  }
}
