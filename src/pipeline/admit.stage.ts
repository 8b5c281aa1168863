/**
 * Admit stage (DESIGN §6.1): a job added straight to the `send` queue (`Queue.add`) without going
 * through the API carries no admission stamp — no message record, no idempotency, no rate limits.
 * The worker runs the very same admission as the API on it; a refusal fails the raw job with the
 * same `SB_*` code (BullMQ `UnrecoverableError`, no retry), an admitted request becomes a normal
 * message whose own job (id = message id) the admission queues.
 */
import { UnrecoverableError } from 'bullmq';
import { admitMessage, type AdmissionDeps } from '../api/admission.ts';
import type { ApiKeyRing } from '../api/api-keys.ts';
import { ApiError } from '../api/error-catalogue.ts';
import { sendMessageBodySchema } from '../api/message-request.schema.ts';

/** What an upstream puts on the `send` queue itself: the API body, the key it acts for, optionally an idempotency key. */
export interface RawSendJobData {
  request: unknown;
  /** Name of the API key (config) whose policies and limits apply; the message belongs to it. */
  key: string;
  idempotencyKey?: string;
}

export function isRawSendJob(data: unknown): data is RawSendJobData {
  return typeof data === 'object' && data !== null && !('messageId' in data) && 'request' in data && typeof (data as { key?: unknown }).key === 'string';
}

export type RawAdmission = (data: RawSendJobData) => Promise<string>;

export function createRawAdmission(deps: AdmissionDeps, keys: ApiKeyRing): RawAdmission {
  return async (data) => {
    const principal = keys.byKeyName(data.key);
    if (!principal) throw new UnrecoverableError(`SB_AUTH_UNAUTHORIZED: no API key named "${data.key}"`);
    if (!principal.scopes.has('send') && !principal.scopes.has('admin')) throw new UnrecoverableError(`SB_AUTH_FORBIDDEN: key "${data.key}" lacks the send scope`);
    const parsed = sendMessageBodySchema.safeParse(data.request);
    if (!parsed.success) {
      throw new UnrecoverableError(`SB_VALIDATION_FAILED: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    try {
      const result = await admitMessage(deps, principal, parsed.data, data.idempotencyKey);
      return result.id;
    } catch (err) {
      if (err instanceof ApiError) {
        // In flight (the same idempotency key is being admitted): let BullMQ retry shortly.
        if (err.code === 'SB_IDEMPOTENCY_IN_FLIGHT') throw err;
        throw new UnrecoverableError(`${err.code}: ${err.message}`);
      }
      throw err;
    }
  };
}
