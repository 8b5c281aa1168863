/**
 * Queue operations for operators (CONTRACTS §3):
 * - `/admin/queues`: Bull Board over the `send`, `dlr` and `events` queues. Browsers cannot send a
 *   Bearer header when an operator types a URL, so the admin key is also accepted as the password
 *   of HTTP Basic (any user name); without it every path under the board, its static assets
 *   included, answers 401 with the `switchboard-admin` Basic challenge, so the browser asks.
 * - `GET /v1/admin/queues`: the same counts as JSON for scripts (`switchboard queues`), behind the
 *   usual Bearer key with the `admin` scope.
 *
 * Bull Board 9.x declares `bullmq ^5.56 || ^6` as its peer and its `BullMQAdapter` drives our
 * BullMQ 6 `Queue`s as they are (checked by test/integration/bull-board.test.ts). Its page links
 * Google Fonts; the gateway often runs where the web is unreachable, so that one link is removed
 * from the HTML and the board falls back to system fonts — every script and style it needs ships
 * inside `@bull-board/ui` and is served from under the base path.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Queue } from 'bullmq';
import type { ApiDeps } from '../api-deps.ts';
import { requireScope, type ApiKeyRing, type ApiPrincipal } from '../../security/api-keys.ts';
import { ApiError } from '../../domain/error-catalogue.ts';
import { readQueueCounts } from './admin-queue-counts.ts';

/** Where the board lives; every path under it is guarded. */
export const BULL_BOARD_BASE_PATH = '/admin/queues';

/** The challenge browsers answer with a credentials prompt (CONTRACTS §3, exact). */
export const ADMIN_CHALLENGE = 'Basic realm="switchboard-admin"';

/**
 * The admin principal behind `Authorization`, or undefined. Accepts `Bearer <key>` and
 * `Basic base64(<any user>:<key>)`; a valid key without the `admin` scope is refused like no key,
 * because the board can retry, clean and obliterate jobs.
 */
export function adminFromAuthorization(keys: ApiKeyRing, authorization: string | undefined): ApiPrincipal | undefined {
  if (authorization === undefined) return undefined;
  let key: string | undefined;
  const basic = /^Basic\s+([A-Za-z0-9+/=]{1,2048})\s*$/i.exec(authorization);
  if (basic) {
    const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    key = colon >= 0 ? decoded.slice(colon + 1) : undefined;
  } else {
    const bearer = /^Bearer\s+(\S{1,512})\s*$/i.exec(authorization);
    key = bearer?.[1];
  }
  if (key === undefined || key === '' || /\s/.test(key)) return undefined;
  try {
    const principal = keys.authenticate(`Bearer ${key}`);
    return principal.scopes.has('admin') ? principal : undefined;
  } catch {
    return undefined;
  }
}

const FONT_LINK = /<link[^>]*fonts\.googleapis\.com[^>]*>\s*/g;

/** Registers `GET /v1/admin/queues` and the guarded Bull Board under `/admin/queues`. */
export function registerAdminQueueRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const queues = [deps.queues.send, deps.queues.dlr, deps.queues.events] as unknown as Queue[];

  app.get('/v1/admin/queues', async (req) => {
    if (!req.principal) throw new ApiError('SB_AUTH_UNAUTHORIZED', 'missing API key');
    requireScope(req.principal, 'admin');
    return { queues: await readQueueCounts(queues) };
  });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_BASE_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Switchboard queues' } },
  });

  // One encapsulated scope: the guard covers the page, Bull Board's JSON API and its static files,
  // and nothing outside the base path.
  app.register(async (scope) => {
    scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      if (adminFromAuthorization(deps.keys, req.headers.authorization) !== undefined) return;
      // Answered here rather than thrown: Bull Board installs its own error handler in this scope.
      return reply
        .code(401)
        .header('www-authenticate', ADMIN_CHALLENGE)
        .header('cache-control', 'no-store')
        .send({
          error: {
            code: 'SB_AUTH_UNAUTHORIZED',
            message: 'the queue board needs the admin key: as the Basic password (any user name) or as a Bearer token',
          },
        });
    });
    scope.addHook('onSend', async (_req, reply, payload) => {
      const type = reply.getHeader('content-type');
      if (typeof payload === 'string' && typeof type === 'string' && type.startsWith('text/html')) return payload.replace(FONT_LINK, '');
      return payload;
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_BASE_PATH });
  });
}
