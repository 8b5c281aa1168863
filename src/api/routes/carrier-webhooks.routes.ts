/**
 * Carrier callbacks (CONTRACTS §3): verify the signature over the raw request, parse, queue on
 * `dlr`, answer. Unverified → 401 and nothing changes; enqueue failure → 503 so the carrier retries.
 *
 * Inbound messages (`/webhooks/<provider>/inbound`) are verified the same way and
 * applied at once (one Redis write: STOP suppresses the sender, START lifts it); any other text is
 * acknowledged and ignored. They are not queued: no job ever holds the sender's number.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { providerRegistry, type ProviderRegistry } from '../../../providers/index.ts';
import type { ProviderAdapter, WebhookEndpoint, WebhookRequest } from '../../../providers/provider.ts';
import { applyInbound } from '../../policy/opt-out.ts';
import type { ApiDeps } from '../api-deps.ts';
import { ApiError } from '../../domain/error-catalogue.ts';

function toWebhookRequest(req: FastifyRequest, publicUrl: string): WebhookRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string | undefined> = {};
  const q = new URL(req.url, 'http://x').searchParams;
  for (const [k, v] of q) query[k] = v;
  const rawBody = Buffer.isBuffer(req.body) ? req.body : typeof req.body === 'string' ? Buffer.from(req.body) : Buffer.alloc(0);
  return { method: req.method, publicUrl: `${publicUrl}${req.url}`, headers, query, rawBody };
}

/** What the carrier routes use of the API's dependencies. */
export type CarrierWebhookDeps = Pick<ApiDeps, 'config' | 'dlrBatcher' | 'metrics' | 'log' | 'now' | 'suppression' | 'keyRing' | 'audit'>;

/** The methods a provider's module says its callbacks use (MessageBird also reports with GET); POST when unknown. */
function methodsOf(providers: ProviderRegistry, id: string): Array<'GET' | 'POST'> {
  const methods = providers.get(id)?.callbacks.methods ?? ['post'];
  return methods.map((m) => (m === 'get' ? 'GET' : 'POST'));
}

const jobIdSafe = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 200);

/**
 * `/webhooks/<id>` (plus the adapter's extra endpoints and `/inbound`) for every adapter, with the
 * methods and inbound parser its module in `providers` declares.
 */
export function registerCarrierWebhookRoutes(
  app: FastifyInstance,
  deps: CarrierWebhookDeps,
  adapters: readonly ProviderAdapter<string>[],
  providers: ProviderRegistry = providerRegistry,
): void {
  const publicUrl = deps.config.api.publicUrl ?? `http://127.0.0.1:${deps.config.api.port}`;
  for (const adapter of adapters) {
    const main: WebhookEndpoint = { verify: (raw) => adapter.verifyWebhook(raw), parse: (raw) => adapter.parseWebhook(raw) };
    app.route({
      method: methodsOf(providers, adapter.id),
      url: `/webhooks/${adapter.id}`,
      handler: callbackHandler(deps, adapter.id, main, publicUrl),
    });
    // Further callback endpoints of the same carrier (Sinch Conversation: /webhooks/sinch/conversation).
    for (const [path, endpoint] of Object.entries(adapter.webhooks ?? {})) {
      app.post(`/webhooks/${adapter.id}/${path}`, callbackHandler(deps, adapter.id, endpoint, publicUrl));
    }
  }
  registerInboundRoutes(app, deps, adapters, publicUrl, providers);
}

/** Verify over the raw request, parse, queue on `dlr`, answer 204 (401 unverified, 503 when it cannot queue). */
function callbackHandler(deps: CarrierWebhookDeps, provider: string, endpoint: WebhookEndpoint, publicUrl: string) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const raw = toWebhookRequest(req, publicUrl);
    if (!(await endpoint.verify(raw))) {
      deps.metrics.carrierCallbacks.inc({ provider, result: 'rejected' });
      throw new ApiError('SB_WEBHOOK_SIGNATURE_INVALID', `${provider} callback signature did not verify`);
    }
    const events = endpoint.parse(raw);
    if (events.length > 0) {
      const first = events[0];
      const dedupe = jobIdSafe(`${provider}.${first?.providerMessageId ?? 'x'}.${events.map((e) => e.rawStatus).join('-')}`);
      try {
        await deps.dlrBatcher.enqueue(
          events.map((e) => ({ ...e, occurredAt: e.occurredAt.toISOString() })),
          dedupe,
        );
      } catch (err) {
        deps.metrics.carrierCallbacks.inc({ provider, result: 'failed' });
        deps.log.error({ err: (err as Error).message, provider }, 'could not queue a carrier callback');
        throw new ApiError('SB_UNAVAILABLE', 'could not queue the callback; retry');
      }
    }
    deps.metrics.carrierCallbacks.inc({ provider, result: 'accepted' });
    return reply.code(204).send();
  };
}

/** `/webhooks/<provider>/inbound` for every adapter whose module parses inbound messages. */
function registerInboundRoutes(
  app: FastifyInstance,
  deps: CarrierWebhookDeps,
  adapters: readonly ProviderAdapter<string>[],
  publicUrl: string,
  providers: ProviderRegistry,
): void {
  for (const adapter of adapters) {
    const inbound = providers.get(adapter.id)?.inbound;
    if (inbound === undefined) continue;
    app.route({
      method: methodsOf(providers, adapter.id),
      url: `/webhooks/${adapter.id}/inbound`,
      handler: async (req, reply) => {
        const raw = toWebhookRequest(req, publicUrl);
        if (!(await adapter.verifyWebhook(raw))) {
          deps.metrics.carrierCallbacks.inc({ provider: adapter.id, result: 'rejected' });
          throw new ApiError('SB_WEBHOOK_SIGNATURE_INVALID', `${adapter.id} inbound message signature did not verify`);
        }
        const message = inbound.parse(raw);
        if (message !== undefined) {
          try {
            await applyInbound(
              { suppression: deps.suppression, keyRing: deps.keyRing, log: deps.log, now: deps.now, audit: deps.audit },
              adapter.id,
              message,
            );
          } catch (err) {
            deps.metrics.carrierCallbacks.inc({ provider: adapter.id, result: 'failed' });
            deps.log.error({ err: (err as Error).message, provider: adapter.id }, 'could not apply an inbound message');
            throw new ApiError('SB_UNAVAILABLE', 'could not record the inbound message; retry');
          }
        }
        deps.metrics.carrierCallbacks.inc({ provider: adapter.id, result: 'accepted' });
        return reply.code(204).send();
      },
    });
  }
}
