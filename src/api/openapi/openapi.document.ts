/**
 * The OpenAPI 3.1 document of the gateway (`GET /docs/json`), generated from the zod schemas that
 * validate requests (message-request.schema.ts, the route files) and the response schemas
 * (api-responses.schema.ts) with zod 4's `z.toJSONSchema` — one source of truth, no hand-written
 * JSON Schema. OpenAPI 3.1 is chosen over 3.0 because its schemas *are* JSON Schema 2020-12, which
 * is what zod emits, so nothing is translated or lost.
 *
 * Routes carry no Fastify `schema` on purpose: validation stays in zod so every refusal keeps the
 * `SB_*` body with all problems listed. The price is that the route list lives here too; the
 * openapi integration test compares it with what the app registers, in both directions.
 */
import { z } from 'zod';
import { providerRegistry, type ProviderRegistry } from '../../../providers/index.ts';
import type { ProviderCallbacks } from '../../../providers/provider.ts';
import type { ApiKeyScope } from '../../config/config.schema.ts';
import { ERROR_CATALOGUE, type ErrorCode } from '../../domain/error-catalogue.ts';
import {
  conversionBodySchema,
  listMessagesQuerySchema,
  messageIdParamsSchema,
  sendMessageBodySchema,
  verifyBodySchema,
} from '../../admission/message-request.schema.ts';
import { auditQuerySchema } from '../routes/audit.routes.ts';
import { deadLetterListQuerySchema, deadLetterParamsSchema, enableEndpointBodySchema } from '../routes/ops.routes.ts';
import { pushAckBodySchema } from '../routes/push-ack.routes.ts';
import {
  auditListSchema,
  deadLetterListSchema,
  errorBodySchema,
  healthSchema,
  messageListSchema,
  messageViewSchema,
  queueCountsListSchema,
  readinessSchema,
  replayQueuedSchema,
  sendAcceptedSchema,
  verifyResultSchema,
  templateListSchema,
  webhookEndpointListSchema,
} from './api-responses.schema.ts';

/** A JSON Schema / OpenAPI object as emitted (plain JSON). */
export type JsonObject = { [key: string]: unknown };

type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** How a route authenticates its caller. */
type Auth = 'apiKey' | 'none' | 'adminBoard' | 'carrier' | 'ackToken';

interface ResponseSpec {
  description: string;
  /** A registered (component) zod schema answered as JSON. */
  json?: z.ZodType;
  /** Other media types with their JSON Schema. */
  content?: Record<string, JsonObject>;
  headers?: Record<string, { description: string; schema: JsonObject }>;
}

/** One documented operation; `path` is written the Fastify way (`/v1/messages/:id`). */
export interface OperationSpec {
  method: HttpMethod;
  path: string;
  tag: string;
  summary: string;
  description?: string;
  auth: Auth;
  scope?: ApiKeyScope;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: Array<{ name: string; description: string; schema: JsonObject }>;
  /** A registered zod schema sent as JSON. */
  body?: z.ZodType;
  /** Bodies that are not ours to define (carrier callbacks): media type → JSON Schema. */
  rawBody?: Record<string, JsonObject>;
  responses: Record<number, ResponseSpec>;
  errors?: readonly ErrorCode[];
}

/** What varies per deployment: the carrier webhook routes follow the enabled providers. */
export interface OpenApiOptions {
  version: string;
  /** Providers whose adapters are enabled (each gets `/webhooks/<id>`). */
  webhookProviders: readonly string[];
  /** Of those, the ones whose module parses inbound messages (`/webhooks/<id>/inbound`). */
  inboundProviders: readonly string[];
  /** Extra callback endpoints of adapters (`ProviderAdapter.webhooks`), served at `POST /webhooks/<provider>/<path>`. */
  extraWebhooks: ReadonlyArray<{ provider: string; path: string }>;
  /** Where each provider's callback text comes from (its module's `callbacks`); the built-in registry by default. */
  providers?: ProviderRegistry;
}

const RETRY_AFTER = { description: 'seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } };

const AUTHED: readonly ErrorCode[] = ['SB_AUTH_UNAUTHORIZED', 'SB_AUTH_FORBIDDEN', 'SB_UNAVAILABLE', 'SB_INTERNAL'];
const JSON_BODY: readonly ErrorCode[] = ['SB_VALIDATION_FAILED', 'SB_VALIDATION_JSON', 'SB_UNSUPPORTED_MEDIA_TYPE', 'SB_PAYLOAD_TOO_LARGE'];

/** Request schemas (described as clients send them: defaults optional). */
const REQUEST_COMPONENTS: ReadonlyArray<[string, z.ZodType]> = [
  ['SendMessageRequest', sendMessageBodySchema],
  ['VerifyRequest', verifyBodySchema],
  ['ConversionRequest', conversionBodySchema],
  ['PushAckRequest', pushAckBodySchema],
  ['EnableEndpointRequest', enableEndpointBodySchema],
];

/** Response schemas (described as the gateway answers them). */
const RESPONSE_COMPONENTS: ReadonlyArray<[string, z.ZodType]> = [
  ['Message', messageViewSchema],
  ['MessageList', messageListSchema],
  ['SendAccepted', sendAcceptedSchema],
  ['VerifyResult', verifyResultSchema],
  ['DeadLetterList', deadLetterListSchema],
  ['ReplayQueued', replayQueuedSchema],
  ['WebhookEndpointList', webhookEndpointListSchema],
  ['TemplateList', templateListSchema],
  ['QueueCounts', queueCountsListSchema],
  ['AuditList', auditListSchema],
  ['Health', healthSchema],
  ['Readiness', readinessSchema],
  ['ErrorBody', errorBodySchema],
];

/** How a provider's callbacks are documented: its module's `callbacks`, or a generic entry for an unregistered id. */
function callbacksOf(providers: ProviderRegistry, id: string, fallbackDescription: string): ProviderCallbacks {
  return providers.get(id)?.callbacks ?? { methods: ['post'], description: fallbackDescription, media: ['application/json'] };
}

/** Every operation the API serves, given the enabled providers. */
export function apiOperations(
  opts: Pick<OpenApiOptions, 'webhookProviders' | 'inboundProviders' | 'extraWebhooks' | 'providers'>,
): OperationSpec[] {
  const providers = opts.providers ?? providerRegistry;
  const ops: OperationSpec[] = [
    {
      method: 'post',
      path: '/v1/messages',
      tag: 'messages',
      summary: 'Send a message (OTP, login approval or transactional text)',
      description:
        'Admission (authentication, idempotency, rate limits, key policy) runs before anything is created; a refusal creates nothing. ' +
        '`to` is E.164 (or national with `country`); `channels` is the order of preference (default ' +
        '`["sms"]`); `body` (≤ 1,600 characters, must hold `{{code}}` with `otp` and only then) ' +
        'or `template` + `locale` + `vars` (see `GET /v1/templates`; a template holding `{{code}}` implies `otp`; ' +
        "`otp` alone uses the locale's `otp` template); `otp` makes the worker generate the code (it is never returned); " +
        '`push.ackTimeoutMs` is how long an unacknowledged push waits before falling back; ' +
        '`metadata` (≤ 2 KB as JSON) is echoed on the message and its webhooks. Unknown fields are refused.',
      auth: 'apiKey',
      scope: 'send',
      headers: [
        {
          name: 'Idempotency-Key',
          description: 'one per logical send (e.g. per login attempt); kept 24 h per API key',
          schema: { type: 'string', minLength: 1, maxLength: 255 },
        },
      ],
      body: sendMessageBodySchema,
      responses: {
        202: {
          description: 'admitted; the message id to follow',
          json: sendAcceptedSchema,
          headers: {
            'idempotent-replayed': {
              description: '`true` when answered from the Idempotency-Key (nothing new was sent)',
              schema: { type: 'string', enum: ['true'] },
            },
          },
        },
      },
      errors: [
        ...JSON_BODY,
        'SB_VALIDATION_PHONE_NUMBER',
        'SB_VALIDATION_CODE_PLACEHOLDER',
        'SB_VALIDATION_TEMPLATE',
        'SB_VALIDATION_UNSUPPORTED',
        'SB_IDEMPOTENCY_CONFLICT',
        'SB_IDEMPOTENCY_IN_FLIGHT',
        'SB_NOT_REPLICATED',
        'SB_POLICY_COUNTRY_NOT_ALLOWED',
        'SB_RATE_LIMITED',
        ...AUTHED,
      ],
    },
    {
      method: 'get',
      path: '/v1/messages',
      tag: 'messages',
      summary: 'List messages, newest first',
      description:
        'Filters apply to this key’s messages (every key’s with `admin`). `since`/`until` take RFC 3339 or Unix seconds/milliseconds.',
      auth: 'apiKey',
      scope: 'read',
      query: listMessagesQuerySchema,
      responses: { 200: { description: 'one page', json: messageListSchema } },
      errors: ['SB_VALIDATION_FAILED', ...AUTHED],
    },
    {
      method: 'get',
      path: '/v1/messages/:id',
      tag: 'messages',
      summary: 'Read a message: status, attempts, routing decision, timeline',
      auth: 'apiKey',
      scope: 'read',
      params: messageIdParamsSchema,
      responses: { 200: { description: 'the message', json: messageViewSchema } },
      errors: ['SB_VALIDATION_FAILED', 'SB_MESSAGE_NOT_FOUND', ...AUTHED],
    },
    {
      method: 'post',
      path: '/v1/messages/:id/verify',
      tag: 'messages',
      summary: 'Check the code the user typed',
      description:
        'A right code answers `{valid:true}` once; a wrong one `{valid:false, ' +
        'attemptsLeft}`; after the 5th wrong code the message is locked.',
      auth: 'apiKey',
      scope: 'verify',
      params: messageIdParamsSchema,
      body: verifyBodySchema,
      responses: { 200: { description: 'the verdict', json: verifyResultSchema } },
      errors: [
        ...JSON_BODY,
        'SB_MESSAGE_NOT_FOUND',
        'SB_OTP_ALREADY_VERIFIED',
        'SB_OTP_NONE',
        'SB_OTP_EXPIRED',
        'SB_OTP_LOCKED',
        ...AUTHED,
      ],
    },
    {
      method: 'post',
      path: '/v1/messages/:id/conversion',
      tag: 'messages',
      summary: 'Report the outcome of a login with a code you made yourself',
      auth: 'apiKey',
      scope: 'verify',
      params: messageIdParamsSchema,
      body: conversionBodySchema,
      responses: { 204: { description: 'recorded' } },
      errors: [...JSON_BODY, 'SB_MESSAGE_NOT_FOUND', ...AUTHED],
    },
    {
      method: 'post',
      path: '/v1/push/ack',
      tag: 'push',
      summary: 'The app acknowledges a push (no API key: the ack token is the credential)',
      description:
        'The FCM data payload carries `sb_message_id`, `sb_ack_token` and ' +
        '`sb_ack_url`. The ack races the ack-timeout fallback; exactly one wins.',
      auth: 'ackToken',
      body: pushAckBodySchema,
      responses: { 204: { description: 'recorded (also when it arrived after the fallback: `late_ack` in the timeline)' } },
      errors: [...JSON_BODY, 'SB_PUSH_ACK_INVALID', 'SB_UNAVAILABLE', 'SB_INTERNAL'],
    },
    {
      method: 'get',
      path: '/v1/webhooks/dead-letters',
      tag: 'webhooks',
      summary: 'Webhook events that exhausted their retries',
      auth: 'apiKey',
      scope: 'admin',
      query: deadLetterListQuerySchema,
      responses: { 200: { description: 'newest first', json: deadLetterListSchema } },
      errors: ['SB_VALIDATION_FAILED', ...AUTHED],
    },
    {
      method: 'post',
      path: '/v1/webhooks/dead-letters/:eventId/replay',
      tag: 'webhooks',
      summary: 'Queue a dead letter again (same `webhook-id`); re-enables its endpoint',
      auth: 'apiKey',
      scope: 'admin',
      params: deadLetterParamsSchema,
      responses: { 202: { description: 'queued', json: replayQueuedSchema } },
      errors: ['SB_VALIDATION_FAILED', 'SB_WEBHOOK_DEAD_LETTER_NOT_FOUND', ...AUTHED],
    },
    {
      method: 'get',
      path: '/v1/templates',
      tag: 'messages',
      summary: 'Named templates: locales, vars, whether they generate an OTP',
      description:
        'Use one with `template` + `locale` + `vars` in `POST /v1/messages`. A missing ' +
        'or unknown var, an unknown template or locale → 400 `SB_VALIDATION_TEMPLATE`.',
      auth: 'apiKey',
      responses: { 200: { description: 'templates by name', json: templateListSchema } },
      errors: ['SB_AUTH_UNAUTHORIZED', 'SB_UNAVAILABLE', 'SB_INTERNAL'],
    },
    {
      method: 'get',
      path: '/v1/webhooks/endpoints',
      tag: 'webhooks',
      summary: 'Webhook endpoints in use and their state (disabled first)',
      description:
        'An endpoint that answered 410 Gone is `disabled`: its events are dead-lettered, never dropped, until it is enabled again.',
      auth: 'apiKey',
      scope: 'admin',
      responses: { 200: { description: 'endpoints', json: webhookEndpointListSchema } },
      errors: AUTHED,
    },
    {
      method: 'post',
      path: '/v1/webhooks/endpoints/enable',
      tag: 'webhooks',
      summary: 'Enable a disabled webhook endpoint',
      description:
        'Idempotent. Events dead-lettered while it was disabled stay dead letters: ' +
        'replay them with `POST /v1/webhooks/dead-letters/:eventId/replay`.',
      auth: 'apiKey',
      scope: 'admin',
      body: enableEndpointBodySchema,
      responses: { 204: { description: 'enabled' } },
      errors: ['SB_VALIDATION_FAILED', 'SB_VALIDATION_JSON', ...AUTHED],
    },
    {
      method: 'get',
      path: '/v1/admin/queues',
      tag: 'ops',
      summary: 'Jobs per queue (send, dlr, events) and state',
      auth: 'apiKey',
      scope: 'admin',
      responses: { 200: { description: 'counts', json: queueCountsListSchema } },
      errors: AUTHED,
    },
    {
      method: 'get',
      path: '/v1/audit',
      tag: 'ops',
      summary: 'The audit stream, newest first: who sent what to which number, and what became of it',
      description:
        'Numbers appear only as phone tokens (HMACs); `?to=` takes a number and is ' +
        'hashed the same way, so an operator can ask about a number they already know.',
      auth: 'apiKey',
      scope: 'admin',
      query: auditQuerySchema,
      responses: { 200: { description: 'entries', json: auditListSchema } },
      errors: ['SB_VALIDATION_FAILED', 'SB_VALIDATION_PHONE_NUMBER', ...AUTHED],
    },
    {
      method: 'get',
      path: '/admin/queues',
      tag: 'ops',
      summary: 'Bull Board: browse, retry and clean jobs of the send, dlr and events queues',
      description:
        'Needs the admin key as the HTTP Basic password (any user name) or as a Bearer token. Every path under ' +
        '`/admin/queues/` (the board’s pages, its JSON API and its static assets) is guarded the same way.',
      auth: 'adminBoard',
      responses: {
        200: { description: 'the board (HTML)', content: { 'text/html': { type: 'string' } } },
        401: {
          description: 'no admin key: `SB_AUTH_UNAUTHORIZED` with the Basic challenge',
          json: errorBodySchema,
          headers: {
            'WWW-Authenticate': {
              description: 'always `Basic realm="switchboard-admin"`',
              schema: { type: 'string', const: 'Basic realm="switchboard-admin"' },
            },
          },
        },
      },
    },
    {
      method: 'get',
      path: '/console',
      tag: 'ops',
      summary: 'The ops console: message search and pictures, carriers, dead letters and disabled endpoints (HTML)',
      description:
        'Redirects to `/console/messages`. Needs the admin key as the HTTP Basic password (any user name) or as a ' +
        'Bearer token, like `/admin/queues`; every path under `/console/` (pages, the stylesheet, form posts) answers ' +
        '401 with the Basic challenge without it. `/console/messages/:id` shows one message: every attempt with its ' +
        'channel, provider and status on a time axis, routing candidates, costs, webhook deliveries and audit entries.',
      auth: 'adminBoard',
      responses: {
        302: { description: 'to `/console/messages`' },
        401: {
          description: 'no admin key: `SB_AUTH_UNAUTHORIZED` with the Basic challenge',
          json: errorBodySchema,
          headers: {
            'WWW-Authenticate': {
              description: 'always `Basic realm="switchboard-admin"`',
              schema: { type: 'string', const: 'Basic realm="switchboard-admin"' },
            },
          },
        },
      },
    },
    {
      method: 'get',
      path: '/metrics',
      tag: 'ops',
      summary: 'Prometheus metrics (text exposition format 0.0.4)',
      auth: 'none',
      responses: {
        200: { description: 'every `switchboard_*` metric plus process metrics', content: { 'text/plain': { type: 'string' } } },
      },
    },
    {
      method: 'get',
      path: '/healthz',
      tag: 'ops',
      summary: 'Liveness',
      auth: 'none',
      responses: { 200: { description: 'the process answers', json: healthSchema } },
    },
    {
      method: 'get',
      path: '/readyz',
      tag: 'ops',
      summary: 'Readiness: Redis answers',
      auth: 'none',
      responses: {
        200: { description: 'ready', json: readinessSchema },
        503: { description: 'Redis is unreachable', json: readinessSchema },
      },
    },
    {
      method: 'get',
      path: '/docs',
      tag: 'docs',
      summary: 'This documentation, browsable (Swagger UI, served from the package: no external loads)',
      auth: 'none',
      responses: { 200: { description: 'HTML', content: { 'text/html': { type: 'string' } } } },
    },
    {
      method: 'get',
      path: '/docs/json',
      tag: 'docs',
      summary: 'This document (OpenAPI 3.1, JSON)',
      auth: 'none',
      responses: { 200: { description: 'the OpenAPI document', content: { 'application/json': { type: 'object' } } } },
    },
    {
      method: 'get',
      path: '/docs/yaml',
      tag: 'docs',
      summary: 'This document (OpenAPI 3.1, YAML)',
      auth: 'none',
      responses: { 200: { description: 'the OpenAPI document', content: { 'application/x-yaml': { type: 'string' } } } },
    },
  ];
  for (const id of opts.webhookProviders) {
    const known = callbacksOf(providers, id, `${id} delivery callbacks, verified by the ${id} adapter.`);
    for (const method of known.methods) {
      ops.push({
        method,
        path: `/webhooks/${id}`,
        tag: 'carrier callbacks',
        summary: `${id} delivery callback${method === 'get' ? ' (GET form)' : ''}`,
        description:
          `${known.description} Unverified → 401 and nothing changes; verified → ` +
          `204 once queued on \`dlr\`; queueing failed → 503 so the carrier retries.`,
        auth: 'carrier',
        ...(method === 'get'
          ? {}
          : { rawBody: Object.fromEntries(known.media.map((m) => [m, { type: 'object', additionalProperties: true }])) }),
        responses: { 204: { description: 'verified and queued' } },
        errors: ['SB_WEBHOOK_SIGNATURE_INVALID', 'SB_UNAVAILABLE'],
      });
    }
  }
  for (const { provider, path } of opts.extraWebhooks) {
    ops.push({
      method: 'post',
      path: `/webhooks/${provider}/${path}`,
      tag: 'carrier callbacks',
      summary: `${provider} ${path} callback`,
      description:
        `${providers.get(provider)?.callbacks.extra?.[path] ?? `${provider} ${path} callbacks, verified by the ${provider} adapter.`} ` +
        'Unverified → 401 and nothing changes; verified → 204 once queued on `dlr`; queueing failed → 503.',
      auth: 'carrier',
      rawBody: { 'application/json': { type: 'object', additionalProperties: true } },
      responses: { 204: { description: 'verified and queued' } },
      errors: ['SB_WEBHOOK_SIGNATURE_INVALID', 'SB_UNAVAILABLE'],
    });
  }
  for (const id of opts.inboundProviders) {
    const known = callbacksOf(providers, id, '');
    for (const method of known.methods) {
      ops.push({
        method,
        path: `/webhooks/${id}/inbound`,
        tag: 'carrier callbacks',
        summary: `${id} inbound message (STOP / START)${method === 'get' ? ' (GET form)' : ''}`,
        description:
          `Verified like the ${id} delivery callback. STOP (and its synonyms) suppresses the sender for every ` +
          `key; START lifts it; any other text is acknowledged and ignored. Unverified → 401 and nothing changes.`,
        auth: 'carrier',
        ...(method === 'get'
          ? {}
          : { rawBody: Object.fromEntries(known.media.map((m) => [m, { type: 'object', additionalProperties: true }])) }),
        responses: { 204: { description: 'verified and applied' } },
        errors: ['SB_WEBHOOK_SIGNATURE_INVALID', 'SB_UNAVAILABLE'],
      });
    }
  }
  return ops;
}

/** `/v1/messages/:id` → `/v1/messages/{id}`. */
export function toOpenApiPath(fastifyPath: string): string {
  return fastifyPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Drops `$schema` and zod's fragment-only `$id`: inside an OpenAPI document both are noise or invalid. */
function stripDialect(schema: JsonObject): JsonObject {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

/** Component schemas from zod, cross-referenced through `#/components/schemas/<id>`. */
function components(entries: ReadonlyArray<[string, z.ZodType]>, io: 'input' | 'output'): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of entries) registry.add(schema, { id });
  const out = z.toJSONSchema(registry, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as {
    schemas: Record<string, JsonObject>;
  };
  return Object.fromEntries(Object.entries(out.schemas).map(([id, s]) => [id, stripDialect(s)]));
}

function refTo(schema: z.ZodType, entries: ReadonlyArray<[string, z.ZodType]>): JsonObject {
  const found = entries.find(([, s]) => s === schema);
  if (!found) throw new Error('a schema used by an operation is not registered as a component');
  return { $ref: `#/components/schemas/${found[0]}` };
}

function parameters(where: 'path' | 'query', schema: z.ZodObject | undefined): JsonObject[] {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const fieldSchema = field as z.ZodType;
    return {
      name,
      in: where,
      // A field that accepts "absent" (optional or defaulted) is not required.
      required: where === 'path' || !fieldSchema.safeParse(undefined).success,
      schema: stripDialect(z.toJSONSchema(fieldSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as JsonObject),
    };
  });
}

function errorResponses(codes: readonly ErrorCode[]): Record<string, JsonObject> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, JsonObject> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: list.map((c) => `\`${c}\`: ${ERROR_CATALOGUE[c].description}`).join('\n\n'),
      ...(status === 429 || status === 409 || status === 503 ? { headers: { 'Retry-After': RETRY_AFTER } } : {}),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
    };
  }
  return out;
}

const SECURITY: Record<Auth, JsonObject[] | undefined> = {
  apiKey: [{ apiKey: [] }],
  adminBoard: [{ adminBasic: [] }, { apiKey: [] }],
  none: [],
  carrier: [],
  ackToken: [],
};

function errorTable(): string {
  const rows = Object.entries(ERROR_CATALOGUE).map(
    ([code, e]) => `| \`${code}\` | ${e.status === 0 ? '—' : e.status} | ${e.description} |`,
  );
  return ['| code | HTTP | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** Builds the whole document. Pure: the same options give the same document. */
export function buildOpenApiDocument(opts: OpenApiOptions): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const op of apiOperations(opts)) {
    const responses: Record<string, JsonObject> = errorResponses(op.errors ?? []);
    for (const [status, r] of Object.entries(op.responses)) {
      const content: Record<string, JsonObject> = {
        ...(r.json !== undefined ? { 'application/json': { schema: refTo(r.json, RESPONSE_COMPONENTS) } } : {}),
        ...Object.fromEntries(Object.entries(r.content ?? {}).map(([media, schema]) => [media, { schema }])),
      };
      responses[status] = {
        description: r.description,
        ...(r.headers !== undefined ? { headers: r.headers } : {}),
        ...(Object.keys(content).length > 0 ? { content } : {}),
      };
    }
    const operation: JsonObject = {
      operationId: `${op.method}${toOpenApiPath(op.path)
        .replace(/[{}]/g, '')
        .replace(/(^|[/_-])(\w)/g, (_m, _s: string, c: string) => c.toUpperCase())}`,
      tags: [op.tag],
      summary: op.summary,
      ...(op.description !== undefined || op.scope !== undefined
        ? {
            description: [
              op.description,
              op.scope !== undefined ? `Scope: \`${op.scope}\`${op.scope === 'admin' ? '' : ' (or `admin`)'}.` : undefined,
            ]
              .filter(Boolean)
              .join('\n\n'),
          }
        : {}),
      security: SECURITY[op.auth],
      parameters: [
        ...parameters('path', op.params),
        ...parameters('query', op.query),
        ...(op.headers ?? []).map((h) => ({ name: h.name, in: 'header', required: false, description: h.description, schema: h.schema })),
      ],
      ...(op.body !== undefined
        ? { requestBody: { required: true, content: { 'application/json': { schema: refTo(op.body, REQUEST_COMPONENTS) } } } }
        : op.rawBody !== undefined
          ? {
              requestBody: { required: false, content: Object.fromEntries(Object.entries(op.rawBody).map(([m, s]) => [m, { schema: s }])) },
            }
          : {}),
      responses,
    };
    const path = toOpenApiPath(op.path);
    paths[path] = { ...paths[path], [op.method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchboard',
      version: opts.version,
      summary: 'Messaging gateway for one-time codes: push first, RCS/SMS/voice fallback, multi-carrier routing, signed delivery webhooks.',
      description: [
        'Send with `POST /v1/messages`, follow with `GET /v1/messages/{id}` or the signed webhooks ' +
          '(Standard Webhooks) at `callbackUrl`, verify codes with `POST /v1/messages/{id}/verify`.',
        'Every `/v1` route except `/v1/push/ack` needs `Authorization: Bearer <api key>`. Every refusal is ' +
          '`{"error":{"code","message","details"?}}` with one of these codes (HTTP "—": recorded on a message, never answered):',
        errorTable(),
      ].join('\n\n'),
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [
      { name: 'messages', description: 'send, read, list, verify' },
      { name: 'push', description: 'device acknowledgements' },
      { name: 'webhooks', description: 'outbound webhook dead letters' },
      { name: 'ops', description: 'health, metrics, queues' },
      { name: 'docs', description: 'this document' },
      { name: 'carrier callbacks', description: 'delivery reports from carriers (signature-verified)' },
    ],
    paths,
    components: {
      schemas: { ...components(REQUEST_COMPONENTS, 'input'), ...components(RESPONSE_COMPONENTS, 'output') },
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'an API key (`sandbox-key` in sandbox mode)' },
        adminBasic: {
          type: 'http',
          scheme: 'basic',
          description: 'the admin API key as the password, any user name (Bull Board in a browser)',
        },
      },
    },
  };
}
