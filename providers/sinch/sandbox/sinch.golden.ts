/**
 * Sinch's wire format as `reference/providers.md` §2.1, §2.2, §2.6 and §2.7 document it (see
 * `testing/wire-golden.ts`): checked by `test/contract` against the real traffic of the adapter
 * and the emulator.
 */
import type { WireGolden } from '../../sandbox-kit/wire-golden.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sinch.sandbox.ts';

/** Sinch's documented send request and per-recipient delivery reports. */
export const sinchGolden: WireGolden = {
  provider: 'sinch',
  source: 'reference/providers.md §2.1, §2.2, §2.6, §2.7',
  send: {
    method: 'POST',
    path: `/xms/v1/${SINCH_SANDBOX_CREDENTIALS.servicePlanId}/batches`,
    authorization: `Bearer ${SINCH_SANDBOX_CREDENTIALS.apiToken}`,
    contentType: /^application\/json/,
    requiredFields: ['to', 'from', 'body', 'delivery_report', 'callback_url', 'client_reference'],
    optionalFields: ['expire_at'],
    fixedValues: { delivery_report: 'per_recipient' },
    recipientField: 'to',
    recipientFormat: (e164) => [e164],
    referenceField: 'client_reference',
    callbackUrlField: 'callback_url',
  },
  callback: {
    method: 'POST',
    contentType: /^application\/json/,
    authHeader: 'authorization',
    // Basic auth authenticates the sender; it does not sign the body (reference §2.2).
    integrity: 'credentials',
    fieldsIn: 'json-body',
    requiredFields: ['type', 'batch_id', 'recipient', 'code', 'status', 'at', 'client_reference'],
    statusField: 'status',
    deliveredSequence: ['Dispatched', 'Delivered'],
    undeliveredStatus: 'Failed',
    errorCodeField: 'code',
  },
  statusTable: [
    { fields: { status: 'Queued' }, status: 'queued' },
    { fields: { status: 'Dispatched' }, status: 'sent' },
    { fields: { status: 'Unknown' }, status: 'sent' },
    { fields: { status: 'Delivered' }, status: 'delivered' },
    { fields: { status: 'Failed' }, status: 'undelivered' },
    { fields: { status: 'Expired' }, status: 'undelivered' },
    { fields: { status: 'Deleted' }, status: 'undelivered' },
    { fields: { status: 'Rejected' }, status: 'failed' },
    { fields: { status: 'Aborted' }, status: 'failed' },
    { fields: { status: 'Cancelled' }, status: 'failed' },
    { fields: { status: 'SomethingNew' }, status: 'unknown' },
  ],
};
