/**
 * The Fastify app factory. It never listens: tests drive it with `inject()`, the composition root
 * calls `listen()`. Every refusal leaves as `{"error":{code,message,details?}}` with an `SB_*` code.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ApiDeps } from './api-deps.ts';
import type { ApiPrincipal } from '../security/api-keys.ts';
import { registerConsoleRoutes } from './console/console.routes.ts';
import { ApiError, type ErrorCode } from '../domain/error-catalogue.ts';
import { isRedisUnavailable } from './redis-unavailable.ts';
import { registerAdminQueueRoutes } from './routes/admin-queues.routes.ts';
import { registerAuditRoutes } from './routes/audit.routes.ts';
import { registerCarrierWebhookRoutes } from './routes/carrier-webhooks.routes.ts';
import { registerDocsRoutes } from './routes/docs.routes.ts';
import { registerHealthRoutes } from './routes/health.routes.ts';
import { registerMessageRoutes } from './routes/messages.routes.ts';
import { registerOpsRoutes } from './routes/ops.routes.ts';
import { registerPushAckRoutes } from './routes/push-ack.routes.ts';
import { registerTemplateRoutes } from './routes/templates.routes.ts';

/** A route as registered (method upper-case, Fastify path syntax). */
export interface RegisteredRoute {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: ApiPrincipal;
  }
  interface FastifyInstance {
    /**
     * Every route the app registered, plugins' included: the OpenAPI test checks the document
     * against it (Fastify has no public route listing).
     */
    registeredRoutes(): readonly RegisteredRoute[];
  }
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SB_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'SB_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'SB_VALIDATION_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SB_VALIDATION_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SB_VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_TYPE: 'SB_UNSUPPORTED_MEDIA_TYPE',
};

export { isRedisUnavailable };

export function createApiApp(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: deps.config.api.bodyLimitBytes,
    // Keep-alive clients (carriers, SDKs) reuse sockets; close idle ones well after their own timeouts.
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    // Accept `/v1/messages/` as `/v1/messages`.
    routerOptions: { ignoreTrailingSlash: true },
    // Errors raised before routing (a path that is not valid percent-encoding) get the same
    // `SB_*` body as everything else instead of Fastify's default one (found by the fuzz suite).
    frameworkErrors: (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
      void reply.code(400).send({ error: { code: 'SB_VALIDATION_FAILED', message: `the request URL is malformed: ${err.message}` } });
    },
  });

  // JSON only for the API; carrier routes take form bodies as raw bytes (signatures cover them).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json'], { parseAs: 'buffer' }, (req, body, done) => {
    // Carrier callbacks keep their raw bytes: signatures and hashes are computed over them.
    if (req.url.startsWith('/webhooks/')) {
      done(null, body);
      return;
    }
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(new ApiError('SB_VALIDATION_JSON', 'the body is empty; send a JSON object'), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new ApiError('SB_VALIDATION_JSON', `the body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser(['application/x-www-form-urlencoded'], { parseAs: 'buffer' }, (req, body, done) => {
    if (!req.url.startsWith('/webhooks/')) {
      done(new ApiError('SB_UNSUPPORTED_MEDIA_TYPE', 'send Content-Type: application/json'), undefined);
      return;
    }
    done(null, body);
  });

  app.addHook('onRequest', async (req) => {
    // The push ack carries its own credential (the ack token); every other /v1 route needs a key.
    if (req.url.startsWith('/v1/') && !req.url.startsWith('/v1/push/ack'))
      req.principal = deps.keys.authenticate(req.headers.authorization);
  });

  if (deps.log.isLevelEnabled('debug')) {
    app.addHook('onResponse', async (req, reply) => {
      deps.log.debug(
        {
          reqId: req.id,
          method: req.method,
          path: req.url.split('?')[0],
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          key: req.principal?.name,
        },
        'request',
      );
    });
  }

  app.setErrorHandler((err: FastifyError | ApiError | Error, req, reply) => {
    let apiErr: ApiError;
    if (err instanceof ApiError) apiErr = err;
    else if ('code' in err && typeof err.code === 'string' && FASTIFY_CODES[err.code] !== undefined) {
      const code = FASTIFY_CODES[err.code] as ErrorCode;
      const message = code === 'SB_PAYLOAD_TOO_LARGE' ? `the body exceeds ${deps.config.api.bodyLimitBytes} bytes` : err.message;
      apiErr = new ApiError(code, message);
    } else if (isRedisUnavailable(err)) {
      apiErr = new ApiError('SB_UNAVAILABLE', 'the message store is unavailable; nothing was created, retry shortly', {
        headers: { 'retry-after': '1' },
      });
    } else if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      apiErr = new ApiError('SB_VALIDATION_FAILED', err.message, { status: err.statusCode });
    } else {
      deps.log.error(
        { err: { message: err.message, stack: err.stack }, reqId: req.id, path: req.url.split('?')[0], method: req.method },
        'unhandled API error',
      );
      apiErr = new ApiError('SB_INTERNAL', 'internal error');
    }
    for (const [k, v] of Object.entries(apiErr.headers)) reply.header(k, v);
    return reply.code(apiErr.status).send({
      error: { code: apiErr.code, message: apiErr.message, ...(apiErr.details !== undefined ? { details: apiErr.details } : {}) },
    });
  });

  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method: String(method).toUpperCase(), url: route.url });
  });
  app.decorate('registeredRoutes', () => routes);

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: 'SB_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }),
  );

  registerHealthRoutes(app, deps.redis);
  registerMessageRoutes(app, deps);
  registerTemplateRoutes(app, deps);
  registerOpsRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerPushAckRoutes(app, deps);
  registerCarrierWebhookRoutes(app, deps, [...deps.adapters.values()]);
  registerAdminQueueRoutes(app, deps);
  registerDocsRoutes(app, deps);
  registerConsoleRoutes(app, deps);
  return app;
}
