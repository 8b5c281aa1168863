/** `POST /v1/messages`, `GET /v1/messages/:id`, `GET /v1/messages` (CONTRACTS §3). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { admitMessage } from '../admission.ts';
import type { ApiDeps } from '../api-deps.ts';
import { requireScope, type ApiPrincipal } from '../api-keys.ts';
import { ApiError } from '../error-catalogue.ts';
import { listMessagesQuerySchema, messageIdParamsSchema, sendMessageBodySchema } from '../message-request.schema.ts';
import { messageView } from '../message-view.ts';
import { parseOrThrow } from '../validation.ts';

function principalOf(req: FastifyRequest): ApiPrincipal {
  if (!req.principal) throw new ApiError('SB_AUTH_UNAUTHORIZED', 'missing API key');
  return req.principal;
}

export function registerMessageRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post('/v1/messages', async (req, reply) => {
    const principal = principalOf(req);
    requireScope(principal, 'send');
    if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
      throw new ApiError('SB_VALIDATION_FAILED', 'the body must be a JSON object', { details: [{ path: 'body' }] });
    }
    const body = parseOrThrow(sendMessageBodySchema, req.body, 'body');
    const header = req.headers['idempotency-key'];
    if (Array.isArray(header)) throw new ApiError('SB_VALIDATION_FAILED', 'send one Idempotency-Key header');
    const result = await admitMessage(deps, principal, body, header);
    if (result.replayed) reply.header('idempotent-replayed', 'true');
    return reply.code(202).send({ id: result.id, status: result.status });
  });

  app.get('/v1/messages/:id', async (req) => {
    const principal = principalOf(req);
    requireScope(principal, 'read');
    const { id } = parseOrThrow(messageIdParamsSchema, req.params, 'params');
    const stored = await deps.store.get(id);
    if (!stored || (stored.doc.keyName !== principal.name && !principal.scopes.has('admin'))) {
      throw new ApiError('SB_MESSAGE_NOT_FOUND', `no message ${id}`);
    }
    return messageView(stored.doc);
  });

  app.get('/v1/messages', async (req) => {
    const principal = principalOf(req);
    requireScope(principal, 'read');
    const q = parseOrThrow(listMessagesQuerySchema, req.query, 'query');
    const page = await deps.store.list({
      ...(principal.scopes.has('admin') ? {} : { keyName: principal.name }),
      ...(q.status !== undefined ? { status: q.status } : {}),
      ...(q.channel !== undefined ? { channel: q.channel } : {}),
      ...(q.provider !== undefined ? { provider: q.provider } : {}),
      ...(q.since !== undefined ? { sinceMs: q.since } : {}),
      ...(q.until !== undefined ? { untilMs: q.until } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      limit: q.limit,
    });
    return { items: page.items.map(messageView), nextCursor: page.nextCursor };
  });
}
