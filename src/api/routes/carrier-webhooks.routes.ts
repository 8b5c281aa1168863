/**
 * Carrier callbacks (CONTRACTS §3): verify the signature over the raw request, parse, queue on
 * `dlr`, answer. Unverified → 401 and nothing changes; enqueue failure → 503 so the carrier retries.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProviderAdapter, WebhookRequest } from '../../../providers/provider.ts';
import type { ApiDeps } from '../api-deps.ts';
import { ApiError } from '../error-catalogue.ts';

function toWebhookRequest(req: FastifyRequest, publicUrl: string): WebhookRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string | undefined> = {};
  const q = new URL(req.url, 'http://x').searchParams;
  for (const [k, v] of q) query[k] = v;
  const rawBody = Buffer.isBuffer(req.body) ? req.body : typeof req.body === 'string' ? Buffer.from(req.body) : Buffer.alloc(0);
  return { method: req.method, publicUrl: `${publicUrl}${req.url}`, headers, query, rawBody };
}

/** MessageBird reports status with a GET (query parameters, no body); it may also POST. */
const METHODS: Partial<Record<string, Array<'GET' | 'POST'>>> = { messagebird: ['GET', 'POST'] };

const jobIdSafe = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 200);

export function registerCarrierWebhookRoutes(app: FastifyInstance, deps: ApiDeps, adapters: readonly ProviderAdapter[]): void {
  const publicUrl = deps.config.api.publicUrl ?? `http://127.0.0.1:${deps.config.api.port}`;
  for (const adapter of adapters) {
    app.route({ method: METHODS[adapter.id] ?? ['POST'], url: `/webhooks/${adapter.id}`, handler: async (req, reply) => {
      const raw = toWebhookRequest(req, publicUrl);
      if (!(await adapter.verifyWebhook(raw))) {
        deps.metrics.carrierCallbacks.inc({ provider: adapter.id, result: 'rejected' });
        throw new ApiError('SB_WEBHOOK_SIGNATURE_INVALID', `${adapter.id} callback signature did not verify`);
      }
      const events = adapter.parseWebhook(raw);
      if (events.length > 0) {
        const first = events[0];
        const dedupe = jobIdSafe(`${adapter.id}.${first?.providerMessageId ?? 'x'}.${events.map((e) => e.rawStatus).join('-')}`);
        try {
          await deps.queues.addDlr(
            { receivedAt: new Date(deps.now()).toISOString(), events: events.map((e) => ({ ...e, occurredAt: e.occurredAt.toISOString() })) },
            dedupe,
          );
        } catch (err) {
          deps.metrics.carrierCallbacks.inc({ provider: adapter.id, result: 'failed' });
          deps.log.error({ err: (err as Error).message, provider: adapter.id }, 'could not queue a carrier callback');
          throw new ApiError('SB_UNAVAILABLE', 'could not queue the callback; retry');
        }
      }
      deps.metrics.carrierCallbacks.inc({ provider: adapter.id, result: 'accepted' });
      return reply.code(204).send();
    } });
  }
}
