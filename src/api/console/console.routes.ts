/**
 * `/console`: the ops console (CONTRACTS §3). Server-rendered HTML over what the API already
 * reads — the message store, the audit stream, routing health, breakers, dead letters and webhook
 * endpoints — in one encapsulated scope whose guard (console-guard.ts) covers every path under
 * the prefix, the stylesheet and unknown paths included. Pages work without JavaScript; forms
 * post back and are answered with a 303 to the page they came from.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../api-deps.ts';
import { maskPhone } from '../../domain/mask.ts';
import { normalizeRecipient } from '../../admission/admission.ts';
import { ApiError } from '../../domain/error-catalogue.ts';
import { isRedisUnavailable } from '../redis-unavailable.ts';
import { deadLetterParamsSchema } from '../routes/ops.routes.ts';
import { parseOrThrow } from '../validation.ts';
import { readCarriers } from './carriers.data.ts';
import { renderCarriersPage } from './carriers.render.ts';
import { consoleGuard } from './console-guard.ts';
import { CONSOLE_BASE_PATH, renderPage } from './console-layout.render.ts';
import { html } from './html.ts';
import { renderMessageList, type RawQuery } from './message-list.render.ts';
import { consoleMessageQuerySchema, searchMessages, withoutEmptyFields } from './message-search.ts';
import { renderMessagePage } from './message-view.render.ts';
import { renderWebhooksPage } from './webhooks.render.ts';

const STYLESHEET = readFileSync(new URL('./assets/console.css', import.meta.url), 'utf8');

const messageParamsSchema = z.strictObject({ id: z.string().regex(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/, 'not a message id') });
const carriersQuerySchema = z.strictObject({
  country: z
    .string()
    .max(200)
    .regex(/^\s*[A-Za-z]{2}(\s*,\s*[A-Za-z]{2})*\s*$/, 'countries are two-letter codes, comma-separated')
    .optional(),
});
const webhooksQuerySchema = z.strictObject({
  done: z.enum(['replayed', 'enabled']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
/** The enable form names an endpoint by {@link endpointRef}, so a page never carries a receiver's credentials. */
const enableBodySchema = z.strictObject({ endpoint: z.string().regex(/^[0-9a-f]{32}$/, 'not an endpoint reference') });

/** A stable opaque reference to an endpoint URL (its SHA-256, shortened). */
export function endpointRef(url: string): string {
  return createHash('sha256').update(url, 'utf8').digest('hex').slice(0, 32);
}

function sendHtml(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page);
}

function rawQuery(query: unknown): RawQuery {
  const out: Record<string, string> = {};
  if (query !== null && typeof query === 'object') for (const [k, v] of Object.entries(query)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Registers every console route under {@link CONSOLE_BASE_PATH}. */
export function registerConsoleRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const providers = [...deps.adapters.keys()];
  app.register(
    async (scope) => {
      const publicUrl = deps.config.api.publicUrl;
      scope.addHook('onRequest', consoleGuard(deps.keys, publicUrl !== undefined ? [new URL(publicUrl).origin] : []));

      // Console forms post urlencoded bodies; elsewhere the API takes JSON only.
      scope.removeContentTypeParser('application/x-www-form-urlencoded');
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4_096 }, (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
      });

      scope.setErrorHandler((err: FastifyError | ApiError | Error, req, reply) => {
        let status = 500;
        let code = 'SB_INTERNAL';
        let message = 'internal error';
        if (err instanceof ApiError) {
          status = err.status;
          code = err.code;
          message = err.message;
        } else if (isRedisUnavailable(err)) {
          status = 503;
          code = 'SB_UNAVAILABLE';
          message = 'the message store is unavailable; retry shortly';
        } else if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
          status = err.statusCode;
          code = 'SB_VALIDATION_FAILED';
          message = err.message;
        } else {
          deps.log.error({ err: { message: err.message, stack: err.stack }, path: req.url.split('?')[0] }, 'console error');
        }
        const body = html`<h1>${status === 404 ? 'Not found' : status >= 500 ? 'Something failed' : 'That request cannot be answered'}</h1>
          <div class="error-box" id="error"><code>${code}</code> ${message}</div>
          <p><a href="${CONSOLE_BASE_PATH}/messages">Back to messages</a></p>`;
        return sendHtml(reply, status, renderPage({ title: code, body }));
      });

      scope.setNotFoundHandler((req, reply) => {
        const body = html`<h1>Not found</h1>
          <div class="error-box" id="error"><code>SB_NOT_FOUND</code> no console page ${req.url.split('?')[0] ?? ''}</div>`;
        return sendHtml(reply, 404, renderPage({ title: 'Not found', body }));
      });

      scope.get('/', async (_req, reply) => reply.redirect(`${CONSOLE_BASE_PATH}/messages`, 302));

      scope.get('/assets/console.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(STYLESHEET));

      scope.get('/messages', async (req, reply) => {
        const raw = rawQuery(req.query);
        const q = parseOrThrow(consoleMessageQuerySchema, withoutEmptyFields(req.query), 'query');
        const result = await searchMessages({ store: deps.store, audit: deps.audit }, q);
        const searched = q.to !== undefined ? maskPhone(normalizeRecipient(q.to, q.country).e164) : undefined;
        return sendHtml(reply, 200, renderMessageList(raw, result, providers, searched));
      });

      scope.get('/messages/:id', async (req, reply) => {
        const { id } = parseOrThrow(messageParamsSchema, req.params, 'params');
        const stored = await deps.store.get(id);
        if (!stored) throw new ApiError('SB_MESSAGE_NOT_FOUND', `no message ${id} (or it is past retention)`);
        const [deliveries, audit] = await Promise.all([
          deps.webhookLog.list(id),
          deps.audit.auditStore.list({ limit: 100, messageId: id }),
        ]);
        return sendHtml(reply, 200, renderMessagePage({ doc: stored.doc, deliveries, audit, nowMs: deps.now() }));
      });

      scope.get('/carriers', async (req, reply) => {
        const q = parseOrThrow(carriersQuerySchema, withoutEmptyFields(req.query), 'query');
        const extra = q.country === undefined ? [] : q.country.split(',').map((c) => c.trim().toUpperCase());
        const view = await readCarriers(
          { ...deps.routing, config: deps.config, adapters: deps.adapters, store: deps.store, now: deps.now },
          extra,
        );
        return sendHtml(reply, 200, renderCarriersPage(view, q.country));
      });

      scope.get('/webhooks', async (req, reply) => {
        const q = parseOrThrow(webhooksQuerySchema, withoutEmptyFields(req.query), 'query');
        const [deadLetters, endpoints] = await Promise.all([deps.deadLetters.list(q.limit), deps.endpoints.list()]);
        const notice =
          q.done === 'replayed'
            ? 'Dead letter queued for delivery again.'
            : q.done === 'enabled'
              ? 'Endpoint enabled: events are delivered to it again.'
              : undefined;
        return sendHtml(
          reply,
          200,
          renderWebhooksPage({
            deadLetters: deadLetters.map(({ item: _item, ...rest }) => rest),
            endpoints,
            endpointRef,
            ...(notice !== undefined ? { notice } : {}),
          }),
        );
      });

      scope.post('/webhooks/dead-letters/:eventId/replay', async (req, reply) => {
        const { eventId } = parseOrThrow(deadLetterParamsSchema, req.params, 'params');
        const dl = await deps.deadLetters.take(eventId);
        if (!dl) throw new ApiError('SB_WEBHOOK_DEAD_LETTER_NOT_FOUND', `no dead letter ${eventId} (already replayed, or past retention)`);
        // As `POST /v1/webhooks/dead-letters/:eventId/replay`: same event id, a new job id.
        await deps.queues.addEvents([dl.item], `.replay.${deps.now()}`);
        await deps.endpoints.enable(dl.url);
        return reply.redirect(`${CONSOLE_BASE_PATH}/webhooks?done=replayed`, 303);
      });

      scope.post('/webhooks/endpoints/enable', async (req, reply) => {
        const { endpoint } = parseOrThrow(enableBodySchema, req.body ?? {}, 'body');
        const match = (await deps.endpoints.list()).find((e) => e.state === 'disabled' && endpointRef(e.url) === endpoint);
        if (!match) throw new ApiError('SB_NOT_FOUND', 'no disabled endpoint with that reference (already enabled?)');
        await deps.endpoints.enable(match.url);
        return reply.redirect(`${CONSOLE_BASE_PATH}/webhooks?done=enabled`, 303);
      });
    },
    { prefix: CONSOLE_BASE_PATH },
  );
}
