/**
 * Twilio's RCS-only wire format as `reference/providers.md` §1.1, §1.3, §1.6 and §1.8 document it
 * (see `testing/rcs-wire-golden.ts`): checked by `test/contract` against the real traffic of the
 * adapter and the emulator.
 */
import type { RcsWireGolden } from '../../sandbox-kit/rcs-wire-golden.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './twilio.sandbox.ts';

/** Twilio's documented RCS-only Messages create and its signed StatusCallbacks. */
export const twilioRcsGolden: RcsWireGolden = {
  provider: 'twilio',
  source: 'reference/providers.md §1.1, §1.3, §1.6, §1.8',
  send: {
    method: 'POST',
    path: `/2010-04-01/Accounts/${TWILIO_SANDBOX_CREDENTIALS.accountSid}/Messages.json`,
    authorization:
      'Basic ' + Buffer.from(`${TWILIO_SANDBOX_CREDENTIALS.accountSid}:${TWILIO_SANDBOX_CREDENTIALS.authToken}`).toString('base64'),
    contentType: /^application\/x-www-form-urlencoded/,
    fieldsIn: 'form-body',
    requiredFields: ['To', 'From', 'Body', 'StatusCallback'],
    optionalFields: ['ValidityPeriod'],
    // RCS only (no Messaging Service, whose pool would fall back to SMS by itself).
    fixedValues: { From: `rcs:${TWILIO_SANDBOX_CREDENTIALS.rcsSenderId}` },
    recipient: (e164) => ({ To: `rcs:${e164}` }),
    textOf: (body) => body['Body'],
    // Our message id rides in the StatusCallback URL (`?sb=`), inside what Twilio signs.
    referenceFields: [],
    callbackUrlField: 'StatusCallback',
  },
  callback: {
    endpoint: 'main',
    method: 'POST',
    contentType: /^application\/x-www-form-urlencoded/,
    fieldsIn: 'form-body',
    authHeaders: ['x-twilio-signature'],
    requiredFields: ['MessageSid', 'SmsSid', 'MessageStatus', 'SmsStatus', 'AccountSid', 'From', 'To', 'ApiVersion', 'ChannelPrefix'],
    statusOf: (fields) => fields['MessageStatus'],
    errorCodeOf: (fields) => fields['ErrorCode'],
    withStatus: (fields, status, errorCode) => {
      const out: Record<string, unknown> = { ...fields, MessageStatus: status, SmsStatus: status };
      if (errorCode === undefined) delete out['ErrorCode'];
      else out['ErrorCode'] = errorCode;
      return out;
    },
    deliveredSequence: ['sent', 'delivered'],
    undeliveredStatus: 'undelivered',
    notCapable: { status: 'failed', errorCode: '63106' },
    rcsMarkersOf: (fields) => ({ From: fields['From'], ChannelPrefix: fields['ChannelPrefix'] }),
    rcsMarkers: { From: `rcs:${TWILIO_SANDBOX_CREDENTIALS.rcsSenderId}`, ChannelPrefix: 'rcs' },
  },
  statusTable: [
    { status: 'queued', normalized: 'queued' },
    { status: 'sent', normalized: 'sent' },
    { status: 'delivered', normalized: 'delivered' },
    { status: 'read', normalized: 'delivered' },
    { status: 'undelivered', errorCode: '30003', normalized: 'undelivered' },
    { status: 'failed', errorCode: '63106', normalized: 'failed', recipientNotCapable: true },
  ],
};
