/**
 * Twilio's wire format as `reference/providers.md` §0, §1.1, §1.3, §1.4 and §1.8 document it (see
 * `testing/wire-golden.ts`): checked by `test/contract` against the real traffic of the adapter
 * and the emulator.
 */
import type { WireGolden } from '../../sandbox-kit/wire-golden.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './twilio.sandbox.ts';

/** Twilio's documented Messages create and signed StatusCallbacks. */
export const twilioGolden: WireGolden = {
  provider: 'twilio',
  source: 'reference/providers.md §0, §1.1, §1.3, §1.4, §1.8',
  send: {
    method: 'POST',
    path: `/2010-04-01/Accounts/${TWILIO_SANDBOX_CREDENTIALS.accountSid}/Messages.json`,
    authorization:
      'Basic ' + Buffer.from(`${TWILIO_SANDBOX_CREDENTIALS.accountSid}:${TWILIO_SANDBOX_CREDENTIALS.authToken}`).toString('base64'),
    contentType: /^application\/x-www-form-urlencoded/,
    requiredFields: ['To', 'From', 'Body', 'StatusCallback'],
    optionalFields: ['ValidityPeriod'],
    fixedValues: {},
    recipientField: 'To',
    recipientFormat: (e164) => e164,
    // Our message id rides in the StatusCallback URL (`?sb=`), inside what Twilio signs.
    callbackUrlField: 'StatusCallback',
  },
  callback: {
    method: 'POST',
    contentType: /^application\/x-www-form-urlencoded/,
    authHeader: 'x-twilio-signature',
    integrity: 'signature',
    fieldsIn: 'form-body',
    requiredFields: ['MessageSid', 'SmsSid', 'MessageStatus', 'SmsStatus', 'AccountSid', 'From', 'To', 'ApiVersion'],
    statusField: 'MessageStatus',
    deliveredSequence: ['sent', 'delivered'],
    undeliveredStatus: 'undelivered',
    errorCodeField: 'ErrorCode',
  },
  statusTable: [
    { fields: { MessageStatus: 'accepted' }, status: 'queued' },
    { fields: { MessageStatus: 'scheduled' }, status: 'queued' },
    { fields: { MessageStatus: 'queued' }, status: 'queued' },
    { fields: { MessageStatus: 'sending' }, status: 'queued' },
    { fields: { MessageStatus: 'sent' }, status: 'sent' },
    { fields: { MessageStatus: 'delivered' }, status: 'delivered' },
    { fields: { MessageStatus: 'read' }, status: 'delivered' },
    { fields: { MessageStatus: 'partially_delivered' }, status: 'delivered' },
    { fields: { MessageStatus: 'undelivered' }, status: 'undelivered' },
    { fields: { MessageStatus: 'failed' }, status: 'failed' },
    { fields: { MessageStatus: 'canceled' }, status: 'failed' },
    { fields: { MessageStatus: 'somethingNew' }, status: 'unknown' },
  ],
};
