/**
 * Sinch Conversation's RCS wire format as `reference/providers.md` §2.3, §2.5, §2.6 and §2.7
 * document it (see `testing/rcs-wire-golden.ts`): checked by `test/contract` against the real
 * traffic of the adapter and the emulator. `ttl` is not in the reference's example but is the
 * SDK's documented field for a message's validity (`SendMessageRequestBase.ttl`, `"<n>s"`).
 */
import type { RcsWireGolden } from '../../sandbox-kit/rcs-wire-golden.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sinch.sandbox.ts';

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Sinch Conversation's documented RCS send and signed delivery receipts. */
export const sinchConversationGolden: RcsWireGolden = {
  provider: 'sinch',
  source: 'reference/providers.md §2.3, §2.5, §2.6, §2.7',
  send: {
    method: 'POST',
    path: `/v1/projects/${SINCH_SANDBOX_CREDENTIALS.projectId}/messages:send`,
    // A token from `POST /oauth2/token` (reference §2.6), different every run.
    authorization: /^Bearer \S+$/,
    contentType: /^application\/json/,
    fieldsIn: 'json-body',
    requiredFields: ['app_id', 'recipient', 'message', 'channel_priority_order', 'callback_url', 'message_metadata', 'correlation_id'],
    optionalFields: ['ttl'],
    // RCS only: Switchboard owns the fallback (DESIGN §6.3).
    fixedValues: { app_id: SINCH_SANDBOX_CREDENTIALS.appId, channel_priority_order: ['RCS'] },
    recipient: (e164) => ({ recipient: { identified_by: { channel_identities: [{ channel: 'RCS', identity: e164 }] } } }),
    textOf: (body) => record(record(body['message'])['text_message'])['text'],
    referenceFields: ['message_metadata', 'correlation_id'],
    callbackUrlField: 'callback_url',
  },
  callback: {
    endpoint: 'conversation',
    method: 'POST',
    contentType: /^application\/json/,
    fieldsIn: 'json-body',
    authHeaders: [
      'x-sinch-webhook-signature',
      'x-sinch-webhook-signature-nonce',
      'x-sinch-webhook-signature-timestamp',
      'x-sinch-webhook-signature-algorithm',
    ],
    requiredFields: [
      'app_id',
      'project_id',
      'accepted_time',
      'event_time',
      'message_metadata',
      'correlation_id',
      'message_delivery_report',
    ],
    statusOf: (fields) => record(fields['message_delivery_report'])['status'],
    errorCodeOf: (fields) => record(record(fields['message_delivery_report'])['reason'])['code'],
    withStatus: (fields, status, errorCode) => {
      const report: Record<string, unknown> = { ...record(fields['message_delivery_report']), status };
      if (errorCode === undefined) delete report['reason'];
      else report['reason'] = { code: errorCode, description: '', sub_code: 'UNSPECIFIED_SUB_CODE' };
      return { ...fields, message_delivery_report: report };
    },
    deliveredSequence: ['QUEUED_ON_CHANNEL', 'DELIVERED'],
    undeliveredStatus: 'FAILED',
    notCapable: { status: 'FAILED', errorCode: 'RECIPIENT_NOT_REACHABLE' },
    rcsMarkersOf: (fields) => ({ channel: record(record(fields['message_delivery_report'])['channel_identity'])['channel'] }),
    rcsMarkers: { channel: 'RCS' },
  },
  statusTable: [
    { status: 'QUEUED_ON_CHANNEL', normalized: 'sent' },
    { status: 'DELIVERED', normalized: 'delivered' },
    { status: 'READ', normalized: 'delivered' },
    { status: 'SWITCHING_CHANNEL', errorCode: 'RECIPIENT_NOT_REACHABLE', normalized: 'queued' },
    { status: 'FAILED', errorCode: 'CHANNEL_FAILURE', normalized: 'undelivered' },
    { status: 'FAILED', errorCode: 'DELIVERY_TIMED_OUT', normalized: 'undelivered' },
    { status: 'FAILED', errorCode: 'RECIPIENT_NOT_REACHABLE', normalized: 'failed', recipientNotCapable: true },
    { status: 'FAILED', errorCode: 'RECIPIENT_INVALID_CHANNEL_IDENTITY', normalized: 'failed' },
    { status: 'SOMETHING_NEW', normalized: 'unknown' },
  ],
};
