/**
 * The OpenAPI document: it validates as OpenAPI, documents exactly the
 * routes the app registers, and real answers of the running gateway parse with the documented
 * (strict) response schemas, so the document cannot drift from the code unnoticed.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/domain/error-catalogue.ts';
import {
  auditListSchema,
  deadLetterListSchema,
  errorBodySchema,
  healthSchema,
  messageListSchema,
  messageViewSchema,
  queueCountsListSchema,
  readinessSchema,
  sendAcceptedSchema,
  verifyResultSchema,
} from '../../src/api/openapi/api-responses.schema.ts';
import { apiOperations, toOpenApiPath } from '../../src/api/openapi/openapi.document.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
  components: { schemas: Record<string, { properties?: Record<string, { properties?: Record<string, { enum?: string[] }> }> }> };
}

let gw: TestGateway;
let doc: OpenApiDoc;

beforeAll(async () => {
  gw = await startTestGateway({ label: 'openapi', smsProviders: ['twilio'] });
  const res = await fetch(`${gw.apiUrl}/docs/json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenApiDoc;
});
afterAll(async () => {
  await gw?.stop();
});

/**
 * Plumbing registered by plugins that is not API: Swagger UI's own files, and Bull Board's pages,
 * JSON API and assets under its (guarded, documented) base path.
 */
function isPlumbing(url: string): boolean {
  return url.startsWith('/docs/static/') || url.startsWith('/admin/queues/') || url.startsWith('/console/');
}

describe('GET /docs/json', () => {
  it('validates as an OpenAPI 3 document', async () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    // Fetched over HTTP by the parser itself: what is validated is exactly what is served
    // (loopback is refused by its default SSRF guard, which only matters for untrusted documents).
    const api = await SwaggerParser.validate(`${gw.apiUrl}/docs/json`, { resolve: { http: { safeUrlResolver: false } } });
    expect(api.info.title).toBe('Switchboard');
  });

  it('documents every route the app registers, and no route it does not', () => {
    const registered = new Set(
      gw.running
        .api!.registeredRoutes()
        .filter((r) => r.method !== 'HEAD' && !isPlumbing(r.url))
        .map((r) => `${r.method} ${toOpenApiPath(r.url.replace(/(.)\/$/, '$1'))}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)),
    );
    expect(
      [...registered].filter((r) => !documented.has(r)),
      'registered but not documented',
    ).toEqual([]);
    expect(
      [...documented].filter((d) => !registered.has(d)),
      'documented but not registered',
    ).toEqual([]);
    // The routes clients rely on by name.
    for (const must of [
      'POST /v1/messages',
      'POST /v1/push/ack',
      'POST /webhooks/twilio',
      'GET /metrics',
      'GET /healthz',
      'GET /readyz',
      'GET /v1/webhooks/dead-letters',
      'POST /v1/webhooks/dead-letters/{eventId}/replay',
      'POST /v1/messages/{id}/verify',
      'POST /v1/messages/{id}/conversion',
      'GET /admin/queues',
      'GET /v1/audit',
    ]) {
      expect(documented.has(must), must).toBe(true);
    }
  });

  it('names every SB_* code of the catalogue in the error body schema', () => {
    const codes = doc.components.schemas['ErrorBody']?.properties?.['error']?.properties?.['code']?.enum;
    expect(codes).toEqual(Object.keys(ERROR_CATALOGUE));
    const send = doc.paths['/v1/messages']?.['post'];
    expect(Object.keys(send?.responses ?? {})).toEqual(
      expect.arrayContaining(['202', '400', '401', '403', '409', '413', '415', '422', '429', '503']),
    );
    expect(send?.security).toEqual([{ apiKey: [] }]);
    expect(doc.paths['/v1/push/ack']?.['post']?.security).toEqual([]);
  });

  it('serves the same document as YAML', async () => {
    const res = await fetch(`${gw.apiUrl}/docs/yaml`);
    expect(res.status).toBe(200);
    expect(parseYaml(await res.text())).toEqual(doc);
  });
});

describe('GET /docs', () => {
  it('serves Swagger UI from the package, loading nothing from another host', async () => {
    const res = await fetch(`${gw.apiUrl}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs.length).toBeGreaterThan(2);
    for (const ref of refs) {
      expect(ref, 'an external load').not.toMatch(/^(https?:)?\/\//);
      const asset = await fetch(new URL(ref, `${gw.apiUrl}/docs/`));
      expect(asset.status, ref).toBe(200);
    }
    const init = await (await fetch(`${gw.apiUrl}/docs/static/swagger-initializer.js`)).text();
    expect(init).toContain('validatorUrl: null');
  });
});

describe('the documented response schemas', () => {
  it('parse what the gateway really answers', async () => {
    const sent = await gw.api('/v1/messages', { method: 'POST', json: { to: '+14155550900', otp: {}, metadata: { suite: 'openapi' } } });
    expect(sent.status).toBe(202);
    const { id } = sendAcceptedSchema.parse(await sent.json());
    await gw.waitForStatus(id, ['delivered', 'failed']);
    messageViewSchema.parse(await (await gw.api(`/v1/messages/${id}`)).json());
    messageListSchema.parse(await (await gw.api('/v1/messages?limit=5')).json());
    verifyResultSchema.parse(await (await gw.api(`/v1/messages/${id}/verify`, { method: 'POST', json: { code: '0000000000' } })).json());
    errorBodySchema.parse(await (await gw.api('/v1/messages', { method: 'POST', json: { to: '+14155550900', nope: 1 } })).json());
    errorBodySchema.parse(await (await fetch(`${gw.apiUrl}/v1/messages`)).json());
    deadLetterListSchema.parse(await (await gw.api('/v1/webhooks/dead-letters')).json());
    queueCountsListSchema.parse(await (await gw.api('/v1/admin/queues')).json());
    auditListSchema.parse(await (await gw.api('/v1/audit?limit=5')).json());
    healthSchema.parse(await (await fetch(`${gw.apiUrl}/healthz`)).json());
    readinessSchema.parse(await (await fetch(`${gw.apiUrl}/readyz`)).json());
  });

  it('refuse a field the document does not describe', () => {
    expect(() => healthSchema.parse({ status: 'ok', extra: true })).toThrow();
  });

  it('list one operation per documented method and path', () => {
    const ops = apiOperations({
      webhookProviders: ['twilio', 'messagebird'],
      inboundProviders: ['messagebird'],
      extraWebhooks: [{ provider: 'twilio', path: 'extra' }],
    });
    const keys = ops.map((o) => `${o.method} ${o.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual(
      expect.arrayContaining([
        'get /webhooks/messagebird',
        'post /webhooks/messagebird',
        'post /webhooks/twilio',
        'get /webhooks/messagebird/inbound',
      ]),
    );
    expect(keys).not.toContain('post /webhooks/twilio/inbound');
    expect(keys).toContain('post /webhooks/twilio/extra');
  });
});
