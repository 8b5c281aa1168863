/**
 * MessageBird's wire format as `reference/providers.md` §3.1, §3.2, §3.3 and §3.6 document it
 * (see `testing/wire-golden.ts`): checked by `test/contract` against the real traffic of the
 * adapter and the emulator.
 */
import type { WireGolden } from '../../sandbox-kit/wire-golden.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './messagebird.sandbox.ts';

/** MessageBird's documented `POST /messages` and GET status reports. */
export const messagebirdGolden: WireGolden = {
  provider: 'messagebird',
  source: 'reference/providers.md §3.1, §3.2, §3.3, §3.6',
  send: {
    method: 'POST',
    path: '/messages',
    authorization: `AccessKey ${MESSAGEBIRD_SANDBOX_CREDENTIALS.accessKey}`,
    contentType: /^application\/json/,
    requiredFields: ['recipients', 'originator', 'body', 'reference', 'reportUrl'],
    optionalFields: ['validity', 'datacoding'],
    fixedValues: {},
    recipientField: 'recipients',
    // MSISDNs without the plus.
    recipientFormat: (e164) => [e164.replace(/^\+/, '')],
    referenceField: 'reference',
    callbackUrlField: 'reportUrl',
  },
  callback: {
    method: 'GET',
    authHeader: 'messagebird-signature-jwt',
    integrity: 'signature',
    fieldsIn: 'query',
    requiredFields: ['id', 'reference', 'recipient', 'status', 'statusDatetime'],
    statusField: 'status',
    deliveredSequence: ['sent', 'delivered'],
    undeliveredStatus: 'delivery_failed',
    errorCodeField: 'statusErrorCode',
  },
  statusTable: [
    { fields: { status: 'scheduled' }, status: 'queued' },
    { fields: { status: 'sent' }, status: 'sent' },
    { fields: { status: 'buffered' }, status: 'sent' },
    { fields: { status: 'delivered' }, status: 'delivered' },
    { fields: { status: 'expired' }, status: 'undelivered' },
    { fields: { status: 'delivery_failed', statusReason: 'unavailable subscriber' }, status: 'undelivered' },
    { fields: { status: 'delivery_failed', statusReason: 'insufficient balance' }, status: 'failed' },
    { fields: { status: 'delivery_failed', statusReason: 'carrier rejected' }, status: 'failed' },
    { fields: { status: 'somethingNew' }, status: 'unknown' },
  ],
};
