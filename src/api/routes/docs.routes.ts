/**
 * `GET /docs/json` (and `/docs/yaml`): the OpenAPI document; `/docs`: Swagger UI (CONTRACTS §3).
 *
 * `@fastify/swagger` runs in static mode: it only holds and serves the document that
 * openapi.document.ts generates from our zod schemas (its dynamic mode would need Fastify route
 * schemas, which would validate requests a second time with other error bodies). `@fastify/swagger-ui`
 * ships the Swagger UI files inside the npm package and serves them from `/docs/static/`, so the
 * page loads nothing from the web; its online validator badge is off (`validatorUrl: false`).
 */
import fastifySwagger, { type StaticDocumentSpec } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import packageJson from '../../../package.json' with { type: 'json' };
import { providerRegistry } from '../../../providers/index.ts';
import type { ApiDeps } from '../api-deps.ts';
import { buildOpenApiDocument, type JsonObject } from '../openapi/openapi.document.ts';

export const DOCS_PREFIX = '/docs';

/** Registers the document and the UI; the enabled providers decide which `/webhooks/*` routes exist. */
export function registerDocsRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'adapters'>): JsonObject {
  const webhookProviders = [...deps.adapters.keys()];
  const inboundProviders = webhookProviders.filter((id) => providerRegistry.get(id)?.inbound !== undefined);
  const extraWebhooks = [...deps.adapters.values()].flatMap((a) => Object.keys(a.webhooks ?? {}).map((path) => ({ provider: a.id, path })));
  const document = buildOpenApiDocument({ version: packageJson.version, webhookProviders, inboundProviders, extraWebhooks });
  // The plugin's type names OpenAPI 2/3.0 only; it serves any object, and ours is 3.1.
  app.register(fastifySwagger, { mode: 'static', specification: { document: document as unknown as StaticDocumentSpec['document'] } });
  app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PREFIX,
    validatorUrl: false,
    uiConfig: { docExpansion: 'list', deepLinking: true, tryItOutEnabled: false },
  });
  return document;
}
