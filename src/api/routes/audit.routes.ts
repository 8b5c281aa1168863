/**
 * `GET /v1/audit` (admin): the audit stream, newest first — who (key) sent what (message,
 * channel, provider) to which number (its phone token, never the number) and what became of it.
 * `to` is hashed here with the same key as the stream, so an operator can ask about a number they
 * already know without the stream ever holding it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { normalizeRecipient } from '../../admission/admission.ts';
import type { ApiDeps } from '../api-deps.ts';
import { requireScope } from '../../security/api-keys.ts';
import { ApiError } from '../../domain/error-catalogue.ts';
import { parseOrThrow } from '../validation.ts';

/** Query of `GET /v1/audit` (exported for the OpenAPI document). */
export const auditQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
  /** A phone number (E.164): only entries about it. */
  to: z.string().min(1).max(32).optional(),
  /** An API key name: only its entries. */
  key: z.string().min(1).max(64).optional(),
  messageId: z
    .string()
    .regex(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/, 'not a message id')
    .optional(),
  decision: z
    .enum(['accepted', 'refused', 'sent', 'delivered', 'undelivered', 'failed', 'expired', 'verified', 'flagged', 'opted_out', 'opted_in'])
    .optional(),
});

export function registerAuditRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/v1/audit', async (req) => {
    if (!req.principal) throw new ApiError('SB_AUTH_UNAUTHORIZED', 'missing API key');
    requireScope(req.principal, 'admin');
    const q = parseOrThrow(auditQuerySchema, req.query, 'query');
    const phone = q.to !== undefined ? deps.audit.phoneToken(normalizeRecipient(q.to, undefined).e164) : undefined;
    const items = await deps.audit.auditStore.list({
      limit: q.limit,
      ...(phone !== undefined ? { phone } : {}),
      ...(q.key !== undefined ? { key: q.key } : {}),
      ...(q.messageId !== undefined ? { messageId: q.messageId } : {}),
      ...(q.decision !== undefined ? { decision: q.decision } : {}),
    });
    return { items };
  });
}
