/**
 * Twilio's WhatsApp wire format (see `testing/whatsapp-wire-golden.ts`): Messages create with
 * `whatsapp:` addresses and a Content API authentication template (reference §1.1), signed
 * StatusCallbacks with `ChannelPrefix=whatsapp`, `read` receipts with `EventType=READ` (§1.3), and
 * 63024 for a recipient Meta says is not a WhatsApp user
 * (https://www.twilio.com/docs/api/errors/63024). Checked by `twilio.whatsapp.test.ts`.
 */
import type { WhatsAppWireGolden } from '../../sandbox-kit/whatsapp-wire-golden.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './twilio.sandbox.ts';

/** Twilio's documented WhatsApp template send and its callbacks. */
export const twilioWhatsAppGolden: WhatsAppWireGolden = {
  provider: 'twilio',
  source: 'reference/providers.md §1.1, §1.3; twilio.com/docs/api/errors/63024, /63003',
  send: {
    method: 'POST',
    path: `/2010-04-01/Accounts/${TWILIO_SANDBOX_CREDENTIALS.accountSid}/Messages.json`,
    contentType: /^application\/x-www-form-urlencoded/,
    requiredFields: ['To', 'From', 'ContentSid', 'ContentVariables', 'StatusCallback'],
    forbiddenFields: ['Body', 'MessagingServiceSid'],
    expected: (e164, code) => ({
      To: `whatsapp:${e164}`,
      From: `whatsapp:${TWILIO_SANDBOX_CREDENTIALS.whatsappFrom}`,
      ContentSid: TWILIO_SANDBOX_CREDENTIALS.whatsappContentSid,
      ContentVariables: JSON.stringify({ '1': code }),
    }),
  },
  callback: {
    contentType: /^application\/x-www-form-urlencoded/,
    authHeaders: ['x-twilio-signature'],
    deliveredSequence: ['sent', 'delivered', 'read'],
    notRegistered: { status: 'failed', errorCode: '63024' },
    markers: { ChannelPrefix: 'whatsapp', From: `whatsapp:${TWILIO_SANDBOX_CREDENTIALS.whatsappFrom}` },
    summarize: (rawBody) => {
      const f = Object.fromEntries(new URLSearchParams(rawBody));
      return { status: f['MessageStatus'], errorCode: f['ErrorCode'], markers: { ChannelPrefix: f['ChannelPrefix'], From: f['From'] } };
    },
  },
  statusTable: [
    { status: 'queued', normalized: 'queued' },
    { status: 'sent', normalized: 'sent' },
    { status: 'delivered', normalized: 'delivered' },
    { status: 'read', normalized: 'delivered', read: true },
    { status: 'undelivered', errorCode: '63012', normalized: 'undelivered' },
    { status: 'failed', errorCode: '63024', normalized: 'failed', recipientNotCapable: true },
    { status: 'failed', errorCode: '63003', normalized: 'failed', recipientNotCapable: true },
    { status: 'failed', errorCode: '63016', normalized: 'failed' },
  ],
};
