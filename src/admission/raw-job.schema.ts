/**
 * The shape of a job that an upstream adds straight to the `send` queue with BullMQ, without any
 * project code (CONTRACTS §3 "Raw BullMQ producers"). Checked before anything else so a job of the
 * wrong shape fails with `SB_VALIDATION_JOB` and every problem listed, instead of being mistaken
 * for one of the gateway's own jobs. The same schema is shipped as JSON Schema in
 * `docs/raw-send-job.schema.json` (a test keeps the two equal).
 */
import { z } from 'zod';
import { sendMessageBodySchema } from './message-request.schema.ts';

/** The job name raw producers use. */
export const RAW_SEND_JOB_NAME = 'send';

/** What the worker checks first: the envelope. `request` is validated like a `POST /v1/messages` body afterwards. */
export const rawSendJobEnvelopeSchema = z.strictObject({
  request: z.record(z.string(), z.unknown()).describe('a `POST /v1/messages` body'),
  key: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'the name (not the secret) of an API key from config')
    .describe('name of the API key whose policies and limits apply; the message belongs to it'),
  idempotencyKey: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('scoped per API key, kept 24 h; without it the job id is the idempotency key'),
});

export type RawSendJobEnvelope = z.infer<typeof rawSendJobEnvelopeSchema>;

/** The documented schema: the envelope with `request` spelled out as the API body. */
export const rawSendJobDocumentedSchema = rawSendJobEnvelopeSchema.extend({ request: sendMessageBodySchema });

/** What an admitted raw job completes with (`job.returnvalue`). */
export interface RawSendJobResult {
  messageId: string;
}

/** What the worker leaves in a raw job's data once it is settled: no number, no text. */
export type SettledRawJobData = { key?: string; admittedAs: string } | { key?: string; refused: string };

/** The JSON Schema document shipped in `docs/` for producers in any language. */
export function rawSendJobJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(rawSendJobDocumentedSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:switchboard:raw-send-job:v1',
    title: 'Switchboard raw send job data',
    description:
      'The `data` of a BullMQ job named "send" added to the queue "send" (BullMQ prefix SWITCHBOARD_REDIS_PREFIX, default "sb"). ' +
      'Admitted: the job completes with returnvalue {"messageId":"msg_…"}. Refused ' +
      'or malformed: the job fails with failedReason starting with the SB_* code ' +
      '(SB_VALIDATION_JOB for a wrong shape). Without idempotencyKey the job id is the idempotency key.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}

/** Every problem of a job's envelope as `path: message`, or none. */
export function rawJobProblems(name: string, data: unknown): string[] {
  const problems: string[] = [];
  if (name !== RAW_SEND_JOB_NAME) problems.push(`name: the job name must be "${RAW_SEND_JOB_NAME}" (got "${name}")`);
  const parsed = rawSendJobEnvelopeSchema.safeParse(data);
  if (!parsed.success) {
    for (const i of parsed.error.issues) problems.push(`${i.path.length > 0 ? i.path.join('.') : 'data'}: ${i.message}`);
  }
  return problems;
}

/**
 * A send-queue job the gateway queued itself (job id = message id): a string `messageId` and none
 * of the raw fields. Anything else named `send` is a raw job and is checked as one.
 */
export function isInternalSendJob(name: string, data: unknown): boolean {
  if (name !== RAW_SEND_JOB_NAME || typeof data !== 'object' || data === null) return false;
  const d = data as Record<string, unknown>;
  return typeof d['messageId'] === 'string' && !('request' in d) && !('key' in d);
}

/** A raw job the worker already settled (a stalled job run again): its outcome, without admitting twice. */
export function settledRawJob(data: unknown): SettledRawJobData | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  if (typeof d['admittedAs'] === 'string')
    return { admittedAs: d['admittedAs'], ...(typeof d['key'] === 'string' ? { key: d['key'] } : {}) };
  if (typeof d['refused'] === 'string') return { refused: d['refused'], ...(typeof d['key'] === 'string' ? { key: d['key'] } : {}) };
  return undefined;
}
