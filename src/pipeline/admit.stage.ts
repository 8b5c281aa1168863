/**
 * Admit stage (DESIGN §6.1): a job added straight to the `send` queue (`Queue.add`) without going
 * through the API carries no admission stamp — no message record, no idempotency, no rate limits.
 * The worker runs the very same admission as the API on it; a refusal fails the raw job with the
 * same `SB_*` code (BullMQ `UnrecoverableError`, no retry), an admitted request becomes a normal
 * message whose own job (id = message id) the admission queues.
 *
 * Without an `idempotencyKey` the job's own id is the idempotency key, so a job that stalls after
 * its admission (worker killed before the job completed) is answered with the same message when
 * it runs again, never admitted twice.
 */
import { UnrecoverableError } from 'bullmq';
import { admitMessage, type AdmissionDeps } from '../admission/admission.ts';
import type { ApiKeyRing } from '../security/api-keys.ts';
import { ApiError } from '../domain/error-catalogue.ts';
import { sendMessageBodySchema } from '../admission/message-request.schema.ts';
import type { RawSendJobEnvelope } from '../admission/raw-job.schema.ts';

/** A refused raw job: `message` starts with the `SB_*` code; BullMQ fails it without retrying. */
export class RawJobRefusedError extends UnrecoverableError {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'RawJobRefusedError';
    this.code = code;
  }
}

/** The first admission with this idempotency key is still running: the worker delays the job (not a failure). */
export class RawJobInFlightError extends Error {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super('SB_IDEMPOTENCY_IN_FLIGHT: the first job with this idempotency key is still being admitted; delayed');
    this.name = 'RawJobInFlightError';
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Admits one raw job's request; resolves with the message id (the first one on a replay).
 * `jobKey` is the idempotency key used when neither the job nor its request carries one.
 */
export type RawAdmission = (data: RawSendJobEnvelope, jobKey: string) => Promise<string>;

export function createRawAdmission(deps: AdmissionDeps, keys: ApiKeyRing): RawAdmission {
  return async (data, jobKey) => {
    const principal = keys.byKeyName(data.key);
    if (!principal)
      throw new RawJobRefusedError('SB_AUTH_UNAUTHORIZED', `no API key named "${data.key}"; use the name of a key from config`);
    if (!principal.scopes.has('send') && !principal.scopes.has('admin'))
      throw new RawJobRefusedError('SB_AUTH_FORBIDDEN', `key "${data.key}" lacks the send scope`);
    const parsed = sendMessageBodySchema.safeParse(data.request);
    if (!parsed.success) {
      throw new RawJobRefusedError(
        'SB_VALIDATION_FAILED',
        parsed.error.issues.map((i) => `request.${i.path.join('.')}: ${i.message}`).join('; '),
      );
    }
    const idempotencyKey = data.idempotencyKey ?? (parsed.data.idempotencyKey === undefined ? jobKey : undefined);
    try {
      const result = await admitMessage(deps, principal, parsed.data, idempotencyKey);
      return result.id;
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.code === 'SB_IDEMPOTENCY_IN_FLIGHT') throw new RawJobInFlightError(1_000);
        throw new RawJobRefusedError(err.code, err.message);
      }
      throw err;
    }
  };
}
