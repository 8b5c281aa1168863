/**
 * The sandbox side of FCM: an emulator of the HTTP v1 send endpoint, plus the sandbox "device"
 * behind each push token (DESIGN §8, CONTRACTS §6 `PUT /_sandbox/push/:token`).
 *
 * It speaks FCM's real dialect (reference §4.1, §4.2): `POST /v1/projects/{p}/messages:send` with
 * `Authorization: Bearer`, a `{"message":{…}}` body, `{"name":"projects/{p}/messages/{id}"}` on
 * success and Google's error envelope `{"error":{code, message, status, details:[FcmError
 * errorCode]}}` on failure — so firebase-admin's own error mapping runs for real.
 *
 * Sinch Conversation uses the same path (reference §0). firebase-admin keeps
 * `Host: fcm.googleapis.com` (the sandbox agent only swaps the socket), so the route is
 * registered with a Fastify `host` constraint: requests for any other host never reach it.
 *
 * The device: for a token whose table entry has `autoAckMs`, the emulator POSTs
 * `{"messageId": data.sb_message_id, "ackToken": data.sb_ack_token}` as JSON to
 * `data.sb_ack_url` that many milliseconds after accepting the push, as the app would on our
 * `POST /v1/push/ack` (CONTRACTS §3). One try, like an app that gives up; counted as a callback.
 */
import { createEmulatorResponder } from '../../sandbox-kit/emulator-responder.ts';
import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxControl, SandboxPushToken } from '../../provider.ts';
import { FCM_HOST, PUSH_DATA_KEYS } from '../fcm.adapter.ts';
import { FCM_SANDBOX_ACCESS_TOKEN, FCM_SANDBOX_PROJECT_ID } from './fcm.sandbox.ts';

/** The device gives up on a slow ack endpoint after this long, so a dead one does not pile up sockets. */
const ACK_TIMEOUT_MS = 10_000;
/** What real FCM answers for `validate_only` sends (nothing is delivered). */
const DRY_RUN_MESSAGE_ID = 'fake_message_id';
/** FCM's `@type` of the detail that carries its error code. */
export const FCM_ERROR_DETAIL_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
/** Paths as firebase-admin writes them; the `:` of `messages:send` is literal (escaped for Fastify). */
const SEND_ROUTE = '/v1/projects/:projectId/messages::send';
/** `Host` as firebase-admin sends it (port 443 is implicit); an explicit `:443` is tolerated. */
const FCM_HOST_CONSTRAINT = new RegExp(`^${FCM_HOST.replaceAll('.', '\\.')}(:443)?$`);

/** Google's JSON error envelope as FCM HTTP v1 writes it (reference §4.2). */
export interface FcmErrorBody {
  error: {
    code: number;
    message: string;
    status: string;
    details?: ({ '@type': string; errorCode: string } | { '@type': string; fieldViolations: { field: string; description: string }[] })[];
  };
}

/** Builds FCM's error body; `errorCode` (the FcmError detail) is what firebase-admin maps first. */
export function fcmErrorBody(code: number, status: string, message: string, errorCode?: string): FcmErrorBody {
  const body: FcmErrorBody = { error: { code, message, status } };
  if (errorCode !== undefined) body.error.details = [{ '@type': FCM_ERROR_DETAIL_TYPE, errorCode }];
  return body;
}

/** FCM's answers for each HTTP status the sandbox can inject or a token can provoke. */
export function fcmErrorForStatus(status: number): FcmErrorBody {
  switch (status) {
    case 400:
      return fcmErrorBody(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', 'INVALID_ARGUMENT');
    case 401:
      return fcmErrorBody(
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other ' +
          'valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      );
    case 403:
      return fcmErrorBody(
        403,
        'PERMISSION_DENIED',
        "Permission 'cloudmessaging.messages.create' denied on resource (or it may not exist).",
        'PERMISSION_DENIED',
      );
    case 404:
      return fcmErrorBody(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED');
    case 429:
      return fcmErrorBody(
        429,
        'RESOURCE_EXHAUSTED',
        "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute'.",
        'QUOTA_EXCEEDED',
      );
    case 500:
      return fcmErrorBody(500, 'INTERNAL', 'Internal error encountered.', 'INTERNAL');
    case 503:
      return fcmErrorBody(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE');
    default:
      return fcmErrorBody(status, 'UNKNOWN', 'Unknown error.', 'UNSPECIFIED_ERROR');
  }
}

/** The HTTP status FCM answers for a token's sandbox behaviour (undefined: accepted). */
const TOKEN_RESULT_STATUS: Readonly<Record<SandboxPushToken['result'], number | undefined>> = {
  ok: undefined,
  unregistered: 404,
  invalid: 400,
  unavailable: 503,
};

/** Options of {@link registerFcmEmulator}; tests use them to run an emulator with other credentials. */
export interface FcmEmulatorOptions {
  /** Bearer token accepted; the documented sandbox one by default. */
  accessToken?: string;
  /** Projects the credential may send for (others → 403 PERMISSION_DENIED); the sandbox project by default. */
  projectIds?: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function invalid(message: string, field?: string): FcmErrorBody {
  const body = fcmErrorBody(400, 'INVALID_ARGUMENT', message, 'INVALID_ARGUMENT');
  if (field !== undefined)
    body.error.details?.push({ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description: message }] });
  return body;
}

/** What FCM would refuse in the message itself (a light version of its validation), or undefined. */
function messageRefusal(message: Record<string, unknown>): FcmErrorBody | undefined {
  const targets = ['token', 'topic', 'condition', 'fid'].filter((k) => message[k] !== undefined);
  if (targets.length !== 1) return invalid('Exactly one of token, topic, condition or fid must be specified.', 'message');
  const token = message['token'];
  if (token !== undefined && (typeof token !== 'string' || token === ''))
    return invalid('The registration token is not a valid FCM registration token', 'message.token');
  const data = message['data'];
  if (data !== undefined) {
    if (!isRecord(data)) return invalid("Invalid value at 'message.data'", 'message.data');
    for (const [key, value] of Object.entries(data)) {
      if (typeof value !== 'string')
        return invalid(`Invalid value at 'message.data[${key}].value' (TYPE_STRING)`, `message.data[${key}].value`);
    }
  }
  const android = message['android'];
  if (
    isRecord(android) &&
    android['ttl'] !== undefined &&
    (typeof android['ttl'] !== 'string' || !/^\d+(\.\d{1,9})?s$/.test(android['ttl']))
  ) {
    return invalid("Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)", 'message.android.ttl');
  }
  return undefined;
}

function stringField(record: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = record?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Registers the FCM emulator on a Fastify instance (only for `Host: fcm.googleapis.com`):
 * `POST /v1/projects/:projectId/messages:send` →
 * - scenario outage → 503 UNAVAILABLE at once (firebase-admin retries it, honouring `Retry-After`
 *   when the scenario sets `retryAfterSec`); then the scenario latency;
 * - missing or wrong Bearer token → 401 UNAUTHENTICATED; unknown project → 403 PERMISSION_DENIED;
 * - an injected failure (`errorRate`/`errorStatus`) → FCM's body for that status (429
 *   QUOTA_EXCEEDED, 500 INTERNAL, 503 UNAVAILABLE…; `Retry-After` on 429/503 when set);
 * - a malformed body or message → 400 INVALID_ARGUMENT;
 * - by the token table: `unregistered` → 404 UNREGISTERED, `invalid` → 400 INVALID_ARGUMENT,
 *   `unavailable` → 503 UNAVAILABLE, `ok` → 200 `{name}` and the device ack when `autoAckMs` is set
 *   (not for `validate_only`, which answers `…/messages/fake_message_id` like FCM).
 * Every request is recorded with `to` = the token and `reference` = `data.sb_message_id`;
 * `acceptedSend` only once a 200 was fully written.
 */
export function registerFcmEmulator(app: FastifyInstance, control: SandboxControl, options: FcmEmulatorOptions = {}): void {
  const accessToken = options.accessToken ?? FCM_SANDBOX_ACCESS_TOKEN;
  const projectIds = new Set(options.projectIds ?? [FCM_SANDBOX_PROJECT_ID]);

  const answer = createEmulatorResponder(control, 'fcm', { acceptedStatus: 200, contentType: 'application/json; charset=UTF-8' });

  /** FCM's error for `status`, with `Retry-After` on 429/503 when the scenario sets one. */
  function failure(status: number): { body: FcmErrorBody; headers: Record<string, string> } {
    const scenario = control.scenario('fcm');
    const headers: Record<string, string> = {};
    if ((status === 429 || status === 503) && scenario.retryAfterSec !== undefined) headers['retry-after'] = String(scenario.retryAfterSec);
    return { body: fcmErrorForStatus(status), headers };
  }

  /** The sandbox device: posts the ack the app would post, once. */
  function scheduleAck(token: SandboxPushToken, data: Record<string, unknown> | undefined): void {
    if (token.autoAckMs === undefined) return;
    const url = stringField(data, PUSH_DATA_KEYS.ackUrl);
    if (url === undefined || !/^https?:\/\//i.test(url)) return;
    const body = JSON.stringify({
      messageId: stringField(data, PUSH_DATA_KEYS.messageId),
      ackToken: stringField(data, PUSH_DATA_KEYS.ackToken),
    });
    control.schedule(token.autoAckMs, async () => {
      let ok = false;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'SwitchboardSandboxDevice/1.0' },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(ACK_TIMEOUT_MS),
        });
        ok = res.status >= 200 && res.status < 300;
        await res.arrayBuffer().catch(() => undefined);
      } catch {
        ok = false;
      }
      control.callbackResult('fcm', ok);
    });
  }

  /** Body-parsing failures in FCM's shape rather than Fastify's, recorded like every other answer. */
  function parseErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status >= 500) return answer(reply, request, 500, fcmErrorForStatus(500), {});
    return answer(reply, request, 400, invalid(`Invalid JSON payload received. ${error.message}`), {});
  }

  app.post<{ Params: { projectId: string } }>(
    SEND_ROUTE,
    { constraints: { host: FCM_HOST_CONSTRAINT }, errorHandler: parseErrorHandler },
    async (request, reply) => {
      const body = isRecord(request.body) ? request.body : undefined;
      const message = body !== undefined && isRecord(body['message']) ? body['message'] : undefined;
      const data = message !== undefined && isRecord(message['data']) ? message['data'] : undefined;
      const notification = message !== undefined && isRecord(message['notification']) ? message['notification'] : undefined;
      const log = {
        to: stringField(message, 'token') ?? stringField(message, 'topic') ?? stringField(message, 'condition'),
        reference: stringField(data, PUSH_DATA_KEYS.messageId),
        body: stringField(notification, 'body'),
      };

      if (control.scenario('fcm').outage) {
        const f = failure(503);
        return answer(reply, request, 503, f.body, log, f.headers);
      }
      await control.delay('fcm');
      if (request.headers.authorization !== `Bearer ${accessToken}`) return answer(reply, request, 401, fcmErrorForStatus(401), log);
      if (!projectIds.has(request.params.projectId)) return answer(reply, request, 403, fcmErrorForStatus(403), log);
      const injected = control.injectedFailure('fcm');
      if (injected !== undefined) {
        const f = failure(injected);
        return answer(reply, request, injected, f.body, log, f.headers);
      }
      if (body === undefined || message === undefined)
        return answer(reply, request, 400, invalid("Invalid JSON payload received. Expected field 'message'.", 'message'), log);
      const refused = messageRefusal(message);
      if (refused !== undefined) return answer(reply, request, 400, refused, log);

      const projectName = `projects/${request.params.projectId}`;
      if (body['validate_only'] === true)
        return answer(reply, request, 200, { name: `${projectName}/messages/${DRY_RUN_MESSAGE_ID}` }, log);

      const tokenValue = stringField(message, 'token');
      const token: SandboxPushToken = tokenValue === undefined ? { result: 'ok' } : control.pushToken(tokenValue);
      const refusedStatus = TOKEN_RESULT_STATUS[token.result];
      if (refusedStatus !== undefined) {
        const f = failure(refusedStatus);
        return answer(reply, request, refusedStatus, f.body, log, f.headers);
      }
      // FCM's ids look like `0:1500415314455276%31bd1c9631bd1c96`.
      const id = `0:${Date.now()}${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}%${randomBytes(8).toString('hex')}`;
      if (tokenValue !== undefined) scheduleAck(token, data);
      return answer(reply, request, 200, { name: `${projectName}/messages/${id}` }, log);
    },
  );
}
