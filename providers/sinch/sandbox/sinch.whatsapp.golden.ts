/**
 * Sinch's WhatsApp wire format through the Conversation API (see `testing/whatsapp-wire-golden.ts`):
 * `messages:send` with a `WHATSAPP` channel identity and a channel-specific authentication
 * template (reference §2.5; developers.sinch.com/docs/conversation/channel-support/whatsapp/template-support),
 * HMAC-signed `message_delivery_report` receipts on the `WHATSAPP` channel (§2.3, §2.5) with
 * `READ`, and `FAILED` + `RECIPIENT_NOT_REACHABLE` for a number without WhatsApp. Checked by
 * `sinch.whatsapp.test.ts`.
 */
import type { WhatsAppWireGolden } from '../../sandbox-kit/whatsapp-wire-golden.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sinch.sandbox.ts';

/** Sinch's documented WhatsApp template send and its receipts. */
export const sinchWhatsAppGolden: WhatsAppWireGolden = {
  provider: 'sinch',
  source: 'reference/providers.md §2.3, §2.5, §2.7; Sinch Conversation WhatsApp template support',
  send: {
    method: 'POST',
    path: `/v1/projects/${SINCH_SANDBOX_CREDENTIALS.projectId}/messages:send`,
    contentType: /^application\/json/,
    requiredFields: ['app_id', 'recipient', 'message', 'channel_priority_order', 'callback_url', 'message_metadata', 'correlation_id'],
    forbiddenFields: [],
    expected: (e164, code) => ({
      app_id: SINCH_SANDBOX_CREDENTIALS.appId,
      recipient: { identified_by: { channel_identities: [{ channel: 'WHATSAPP', identity: e164 }] } },
      message: {
        template_message: {
          channel_template: {
            WHATSAPP: {
              template_id: SINCH_SANDBOX_CREDENTIALS.whatsappTemplateId,
              language_code: 'en',
              parameters: { 'body[1]text': code, 'button[0]url_text': code },
            },
          },
        },
      },
      channel_priority_order: ['WHATSAPP'],
    }),
  },
  callback: {
    contentType: /^application\/json/,
    authHeaders: [
      'x-sinch-webhook-signature',
      'x-sinch-webhook-signature-nonce',
      'x-sinch-webhook-signature-timestamp',
      'x-sinch-webhook-signature-algorithm',
    ],
    deliveredSequence: ['QUEUED_ON_CHANNEL', 'DELIVERED', 'READ'],
    notRegistered: { status: 'FAILED', errorCode: 'RECIPIENT_NOT_REACHABLE' },
    markers: { channel: 'WHATSAPP' },
    summarize: (rawBody) => {
      const body = JSON.parse(rawBody) as {
        message_delivery_report?: { status?: unknown; reason?: { code?: unknown }; channel_identity?: { channel?: unknown } };
      };
      const report = body.message_delivery_report;
      return { status: report?.status, errorCode: report?.reason?.code, markers: { channel: report?.channel_identity?.channel } };
    },
  },
  statusTable: [
    { status: 'QUEUED_ON_CHANNEL', normalized: 'sent' },
    { status: 'DELIVERED', normalized: 'delivered' },
    { status: 'READ', normalized: 'delivered', read: true },
    { status: 'FAILED', errorCode: 'CHANNEL_FAILURE', normalized: 'undelivered' },
    { status: 'FAILED', errorCode: 'RECIPIENT_NOT_REACHABLE', normalized: 'failed', recipientNotCapable: true },
    { status: 'FAILED', errorCode: 'TEMPLATE_NOT_FOUND', normalized: 'failed' },
    { status: 'FAILED', errorCode: 'OUTSIDE_ALLOWED_SENDING_WINDOW', normalized: 'failed' },
  ],
};
