/**
 * `GET /v1/templates` (CONTRACTS §3): the named templates a request may use, their locales, the
 * vars each needs and whether it generates an OTP, so upstream code can check a request before
 * sending it. Any valid key may read it: templates are configuration, not data.
 */
import type { FastifyInstance } from 'fastify';
import { summarize } from '../../domain/template-render.ts';
import type { ApiDeps } from '../api-deps.ts';
import { ApiError } from '../../domain/error-catalogue.ts';

export function registerTemplateRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Computed once: config does not change while the process runs.
  const items = summarize(deps.config.templates);
  app.get('/v1/templates', async (req) => {
    if (!req.principal) throw new ApiError('SB_AUTH_UNAUTHORIZED', 'missing API key');
    return { items };
  });
}
