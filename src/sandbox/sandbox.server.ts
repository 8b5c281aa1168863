/**
 * The carrier sandbox listener (DESIGN §8, CONTRACTS §6): every provider module's emulator plus
 * the scenario API under `/_sandbox`, on one Fastify app. The factory never listens — callers
 * (`switchboard sandbox|all`, tests) call `app.listen()` — so tests can use `inject()`.
 *
 * Built for throughput: no per-request logging, no JSON-schema compilation on emulator routes, and
 * form bodies parsed once by a plain `URLSearchParams` parser shared by the emulators.
 */
import Fastify, { LogController } from 'fastify';
import type { FastifyError, FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ensureFormBodyParser } from '../../providers/index.ts';
import type { AnyProviderModule } from '../../providers/index.ts';
import { SandboxRequestError, createSandboxControl } from './sandbox-control.ts';
import type { SandboxControlHandle } from './sandbox-control.ts';
import { registerSandboxInboundRoutes } from './sandbox-inbound.routes.ts';

/** Inputs of {@link createSandboxServer}. */
export interface SandboxServerOptions {
  /**
   * Provider modules whose emulators are served (each module's `emulator`, when it has one): the
   * registry's modules (`providerRegistry.modules`, or a test's own registry). Their ids are the
   * providers `/_sandbox/providers/:id` knows.
   */
  providers: readonly AnyProviderModule[];
  /** Fastify's logger (errors, startup); per-request logging stays off either way. Default off. */
  logger?: boolean;
  /** An existing control, e.g. to share one between several listeners; a fresh one by default. */
  control?: SandboxControlHandle;
  /** The gateway's public URL, where `POST /_sandbox/inbound` delivers (a request's `url` wins). */
  gatewayUrl?: string;
}

/** The sandbox app (not listening yet) and the state behind it, for tests and the CLI. */
export interface SandboxServer {
  app: FastifyInstance;
  control: SandboxControlHandle;
}

/** Longest path parameter served (push tokens, numbers, carrier ids). */
const MAX_PARAM_LENGTH = 4_096;

const logQuerySchema = z.object({
  provider: z.string().optional(),
  to: z.string().optional(),
  since: z.string().optional(),
  limit: z.coerce.number().int().min(1).optional(),
});

/**
 * Query strings decode `+` as a space, so `?to=+15551234567` arrives as ` 15551234567`; restore
 * the `+` when the rest is digits, so the natural spelling works as well as `%2B`.
 */
function restorePlus(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return /^ \d+$/.test(value) ? `+${value.slice(1)}` : value;
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/**
 * Creates the sandbox app and its control. Routes (CONTRACTS §6):
 * `PUT|GET /_sandbox/providers/:id`, `PUT|GET /_sandbox/numbers/:e164` (`+` literal or `%2B`),
 * `PUT /_sandbox/push/:token`, `GET /_sandbox/log`, `POST /_sandbox/reset`, `GET /_sandbox/healthz`,
 * plus every emulator's own routes. Scenario-API errors are `{"error":{"code","message"}}`:
 * 400 `SB_VALIDATION_FAILED`, 404 `SB_SANDBOX_UNKNOWN_PROVIDER`. Closing the app cancels pending
 * callbacks.
 */
export function createSandboxServer(options: SandboxServerOptions): SandboxServer {
  const control = options.control ?? createSandboxControl({ providerIds: options.providers.map((p) => p.id) });
  const app = Fastify({
    logger: options.logger ?? false,
    forceCloseConnections: true,
    logController: new LogController({ disableRequestLogging: true }),
    // FCM registration tokens run to ~160+ characters; Fastify's default cap of 100 would answer
    // `PUT /_sandbox/push/:token` with 414 for every real-looking token.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  });
  ensureFormBodyParser(app);
  app.addHook('onClose', async () => {
    control.close();
  });

  app.register(async (scope) => {
    scope.setErrorHandler((err: FastifyError | SandboxRequestError, _request, reply) => {
      if (err instanceof SandboxRequestError) {
        return reply.code(err.status).send(errorBody(err.code, err.message));
      }
      const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
      if (status >= 400 && status < 500) return reply.code(status).send(errorBody('SB_VALIDATION_FAILED', err.message));
      scope.log.error({ err }, 'sandbox scenario API failed');
      return reply.code(500).send(errorBody('SB_INTERNAL', 'internal sandbox error'));
    });

    scope.get('/_sandbox/healthz', async () => ({ ok: true }));

    scope.put<{ Params: { id: string } }>('/_sandbox/providers/:id', async (request) =>
      control.putSettings(request.params.id, request.body),
    );

    scope.get<{ Params: { id: string } }>('/_sandbox/providers/:id', async (request) => {
      const { id } = request.params;
      return { id, settings: control.getSettings(id), counters: control.counters(id) };
    });

    scope.put<{ Params: { e164: string } }>('/_sandbox/numbers/:e164', async (request) => ({
      e164: request.params.e164,
      ...control.putNumber(request.params.e164, request.body),
    }));

    scope.get<{ Params: { e164: string } }>('/_sandbox/numbers/:e164', async (request) => ({
      e164: request.params.e164,
      ...control.number(request.params.e164),
    }));

    scope.put<{ Params: { token: string } }>('/_sandbox/push/:token', async (request) => ({
      token: request.params.token,
      ...control.putPushToken(request.params.token, request.body),
    }));

    scope.get('/_sandbox/log', async (request) => {
      const parsed = logQuerySchema.safeParse(request.query);
      if (!parsed.success) {
        throw new SandboxRequestError(
          400,
          'SB_VALIDATION_FAILED',
          parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        );
      }
      const q = parsed.data;
      return control.log({
        ...(q.provider !== undefined ? { provider: q.provider } : {}),
        ...(q.to !== undefined ? { to: restorePlus(q.to) } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      });
    });

    scope.post('/_sandbox/reset', async () => {
      control.reset();
      return { reset: true };
    });

    registerSandboxInboundRoutes(scope, options.providers, options.gatewayUrl);
  });

  for (const module of options.providers) {
    module.emulator?.(app, control);
  }
  return { app, control };
}
