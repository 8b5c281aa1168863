/**
 * FCM's wire format as `reference/providers.md` §0, §4.1 and §4.3 document it, and the ack the
 * sandbox device posts (CONTRACTS §3 `POST /v1/push/ack`): checked by `test/contract` against the
 * real traffic of firebase-admin and the emulator, so adapter and emulator cannot agree on a wrong
 * format between themselves. (Push has no carrier callbacks, so this is not an SMS `WireGolden`.)
 */
import type { ProviderId } from '../../provider.ts';
import { FCM_HOST, PUSH_DATA_KEYS } from '../fcm.adapter.ts';
import { FCM_SANDBOX_ACCESS_TOKEN, FCM_SANDBOX_PROJECT_ID } from './fcm.sandbox.ts';

/** A push carrier's golden wire format. */
export interface PushWireGolden {
  provider: ProviderId;
  /** The reference sections this golden is taken from. */
  source: string;
  send: {
    method: 'POST';
    /** Path of the send call for the sandbox project. */
    path: string;
    /** `Host` header the SDK keeps (the sandbox routes on it). */
    host: string;
    /** The full `Authorization` header for the sandbox credential. */
    authorization: string;
    contentType: RegExp;
    /** Headers the SDK adds to every send (lower-case names → value pattern). */
    headers: Readonly<Record<string, RegExp>>;
    /** The one top-level field that wraps the message. */
    envelope: string;
    /** Fields of the message every send carries. */
    requiredFields: readonly string[];
    /** Fields present only when the request asks for them. */
    optionalFields: readonly string[];
    /** Fields whose value is fixed for every send (deep-matched). */
    fixedValues: Readonly<Record<string, unknown>>;
    /** Message field carrying the device token. */
    recipientField: string;
    /** Keys of `data` that every push carries so the app can ack. */
    dataKeys: readonly string[];
    /** Our message id travels in `data` under this key. */
    referenceDataKey: string;
    /** The message name FCM answers with. */
    responseName: RegExp;
  };
  ack: {
    method: 'POST';
    contentType: RegExp;
    /** Exactly these JSON fields. */
    fields: readonly string[];
  };
}

/** FCM HTTP v1 `messages:send` and the sandbox device's ack. */
export const fcmGolden: PushWireGolden = {
  provider: 'fcm',
  source: 'reference/providers.md §0, §4.1, §4.3; CONTRACTS §3 /v1/push/ack',
  send: {
    method: 'POST',
    path: `/v1/projects/${FCM_SANDBOX_PROJECT_ID}/messages:send`,
    host: FCM_HOST,
    authorization: `Bearer ${FCM_SANDBOX_ACCESS_TOKEN}`,
    contentType: /^application\/json;\s*charset=utf-8$/i,
    headers: {
      'x-firebase-client': /^fire-admin-node\/14\./,
      access_token_auth: /^true$/,
      'x-goog-api-client': /fire-admin\/14\./,
    },
    envelope: 'message',
    requiredFields: ['token', 'data', 'notification', 'android', 'apns'],
    optionalFields: [],
    fixedValues: { android: { priority: 'high' }, apns: { headers: { 'apns-priority': '10' } } },
    recipientField: 'token',
    dataKeys: [PUSH_DATA_KEYS.messageId, PUSH_DATA_KEYS.ackToken, PUSH_DATA_KEYS.ackUrl],
    referenceDataKey: PUSH_DATA_KEYS.messageId,
    responseName: new RegExp(`^projects/${FCM_SANDBOX_PROJECT_ID}/messages/0:\\d+%[0-9a-f]+$`),
  },
  ack: {
    method: 'POST',
    contentType: /^application\/json/,
    fields: ['messageId', 'ackToken'],
  },
};
