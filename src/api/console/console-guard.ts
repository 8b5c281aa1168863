/**
 * The console's two gates, applied to every path under `/console` (pages, the stylesheet, form
 * posts, unknown paths alike):
 * - the admin key, by the same rule as `/admin/queues` (Basic password or Bearer token, `admin`
 *   scope), answered with the same Basic challenge so a browser asks for it;
 * - for POSTs, the same origin: a browser that holds the Basic credentials sends them with any
 *   cross-site form too, so a post whose `Origin` or `Sec-Fetch-Site` says it came from another
 *   site is refused before it can replay or enable anything.
 * Every answer is `no-store` and carries a CSP without any script source: nothing a page renders
 * can run, even if an escaping bug slipped through.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyRing } from '../../security/api-keys.ts';
import { ADMIN_CHALLENGE, adminFromAuthorization } from '../routes/admin-queues.routes.ts';

/** Sent with every console answer. */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' " +
    "data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer a browser posts forms with `Origin: null`.
  'referrer-policy': 'same-origin',
};

/**
 * Whether a state-changing request comes from a page of this host (or from a non-browser client).
 * `publicOrigins` are the origins the gateway is reached at through a proxy that rewrites `Host`
 * (`SWITCHBOARD_PUBLIC_URL`).
 */
export function isSameOrigin(req: Pick<FastifyRequest, 'headers'>, publicOrigins: readonly string[] = []): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (publicOrigins.includes(origin)) return true;
  const host = req.headers.host;
  if (host === undefined) return false;
  return origin === `http://${host}` || origin === `https://${host}`;
}

/** The `onRequest` hook of the console scope; answers 401/403 itself, or lets the request through. */
export function consoleGuard(keys: ApiKeyRing, publicOrigins: readonly string[] = []) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    reply.headers(CONSOLE_SECURITY_HEADERS);
    if (adminFromAuthorization(keys, req.headers.authorization) === undefined) {
      return reply
        .code(401)
        .header('www-authenticate', ADMIN_CHALLENGE)
        .send({
          error: {
            code: 'SB_AUTH_UNAUTHORIZED',
            message: 'the console needs the admin key: as the Basic password (any user name) or as a Bearer token',
          },
        });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && !isSameOrigin(req, publicOrigins)) {
      const error = {
        code: 'SB_AUTH_FORBIDDEN',
        message: 'console forms are accepted from console pages only (cross-site request refused)',
      };
      return reply.code(403).send({ error });
    }
    return undefined;
  };
}
