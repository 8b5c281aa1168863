/** `/metrics` (Prometheus text), the webhook dead letters and the webhook endpoints (admin, CONTRACTS §3). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../api-deps.ts';
import { requireScope } from '../../security/api-keys.ts';
import { ApiError } from '../../domain/error-catalogue.ts';
import { parseOrThrow } from '../validation.ts';

/** Path of the replay route (exported for the OpenAPI document). */
export const deadLetterParamsSchema = z.strictObject({ eventId: z.string().regex(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/, 'not an event id') });
/** Query of the dead-letter list (exported for the OpenAPI document). */
export const deadLetterListQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });

/** Body of `POST /v1/webhooks/endpoints/enable` (exported for the OpenAPI document). */
export const enableEndpointBodySchema = z.strictObject({ url: z.url({ protocol: /^https?$/ }).max(2048) });

export function registerOpsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/metrics', async (_req, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });

  app.get('/v1/webhooks/dead-letters', async (req) => {
    requireScope(req.principal ?? fail(), 'admin');
    const { limit } = parseOrThrow(deadLetterListQuerySchema, req.query, 'query');
    const items = await deps.deadLetters.list(limit);
    return { items: items.map(({ item: _item, ...rest }) => rest) };
  });

  app.post('/v1/webhooks/dead-letters/:eventId/replay', async (req, reply) => {
    requireScope(req.principal ?? fail(), 'admin');
    const { eventId } = parseOrThrow(deadLetterParamsSchema, req.params, 'params');
    const dl = await deps.deadLetters.take(eventId);
    if (!dl) throw new ApiError('SB_WEBHOOK_DEAD_LETTER_NOT_FOUND', `no dead letter ${eventId}`);
    // Same event id (webhook-id) so receivers de-duplicate; a new job id because the old job still exists.
    await deps.queues.addEvents([dl.item], `.replay.${Date.now()}`);
    // Replaying is an operator saying the endpoint works again.
    await deps.endpoints.enable(dl.url);
    return reply.code(202).send({ eventId, status: 'queued' });
  });

  app.get('/v1/webhooks/endpoints', async (req) => {
    requireScope(req.principal ?? fail(), 'admin');
    return { items: await deps.endpoints.list() };
  });

  app.post('/v1/webhooks/endpoints/enable', async (req, reply) => {
    requireScope(req.principal ?? fail(), 'admin');
    const { url } = parseOrThrow(enableEndpointBodySchema, req.body, 'body');
    // Idempotent: enabling an enabled (or never used) endpoint changes nothing and answers the same.
    await deps.endpoints.enable(url);
    return reply.code(204).send();
  });
}

function fail(): never {
  throw new ApiError('SB_AUTH_UNAUTHORIZED', 'missing API key');
}
