/**
 * The provider registry is the one place that knows carriers (DESIGN §3): a fake carrier declared
 * in one folder (`./pigeon/`) and registered with `createRegistry([...builtinProviders, pigeon])`
 * shows up in the config schema, the callback routes and their OpenAPI text, the metrics and the
 * sandbox — with no edit anywhere in `src/`.
 */
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FCM_SANDBOX_CREDENTIALS,
  MESSAGEBIRD_SANDBOX_CREDENTIALS,
  RBM_SANDBOX_CREDENTIALS,
  SINCH_SANDBOX_CREDENTIALS,
  TWILIO_SANDBOX_CREDENTIALS,
  adapterConfigOf,
  builtinProviders,
  createProviders,
  createRegistry,
} from '../../providers/index.ts';
import { apiOperations } from '../../src/api/openapi/openapi.document.ts';
import { registerCarrierWebhookRoutes } from '../../src/api/routes/carrier-webhooks.routes.ts';
import { configSchema as gatewayConfigSchema, createConfigSchema } from '../../src/config/config.schema.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { AuditTrail } from '../../src/policy/audit-trail.ts';
import { isOptOutError } from '../../src/policy/opt-out.ts';
import { DlrBatcher } from '../../src/queues/dlr-batcher.ts';
import { createSandboxServer } from '../../src/sandbox/sandbox.server.ts';
import { createKeyRing } from '../../src/security/master-key.ts';
import { AuditStore } from '../../src/store/audit.store.ts';
import { redisKeys } from '../../src/store/redis-keys.ts';
import { SuppressionStore } from '../../src/store/suppression.store.ts';
import { PIGEON_SIGNATURE, PIGEON_SIGNATURE_HEADER, pigeonProvider } from './pigeon/index.ts';

const registry = createRegistry([...builtinProviders, pigeonProvider]);
const configSchema = createConfigSchema(registry);
const config = configSchema.parse({
  mode: 'sandbox',
  providers: {
    // The built-in carriers with their documented sandbox credentials (config/sandbox.yaml's job when loading).
    twilio: { ...TWILIO_SANDBOX_CREDENTIALS },
    sinch: { ...SINCH_SANDBOX_CREDENTIALS },
    messagebird: { ...MESSAGEBIRD_SANDBOX_CREDENTIALS },
    fcm: { ...FCM_SANDBOX_CREDENTIALS },
    rbm: { ...RBM_SANDBOX_CREDENTIALS },
    pigeon: { loftSize: 40 },
  },
});

describe('a carrier added in one folder', () => {
  it('is registered beside the built-in carriers, after them', () => {
    expect(registry.ids).toEqual(['twilio', 'sinch', 'messagebird', 'fcm', 'rbm', 'pigeon']);
    expect(registry.require('pigeon')).toBe(pigeonProvider);
    expect(registry.get('pigeon')?.id).toBe('pigeon');
    expect(() => createRegistry([...builtinProviders, pigeonProvider, pigeonProvider])).toThrow(/registered twice/);
  });

  it('has a typed configuration section whose settings parse with the provider defaults', () => {
    // The section's type comes from pigeon's own schema: `loftSize` is a number here, not unknown.
    const loftSize: number | undefined = config.providers.pigeon.loftSize;
    expect(loftSize).toBe(40);
    expect(adapterConfigOf(pigeonProvider, config.providers.pigeon)).toEqual({
      apiKey: 'sandbox-pigeon-key',
      from: '+15005550006',
      loftSize: 40,
    });
    expect(configSchema.safeParse({ mode: 'sandbox', providers: { pigeon: { loftSize: 0 } } }).success).toBe(false);
    expect(configSchema.safeParse({ mode: 'sandbox', providers: { pigeon: { wingspan: 2 } } }).success).toBe(false);
    // Its default route and its lookup role reach routing and lookups; the section carries its defaults.
    expect(config.routing.channels.sms.providers).toEqual(['twilio', 'sinch', 'messagebird', 'pigeon']);
    expect(configSchema.safeParse({ mode: 'sandbox', lookup: { provider: 'pigeon' } }).success).toBe(true);
    expect(config.providers.pigeon.from).toBe('+15005550006');
  });

  it('gets an adapter from the one construction call, and its opt-out code counts', () => {
    const adapters = createProviders(registry, config.providers, { timeoutMs: 1_000, baseUrl: 'http://127.0.0.1:9' });
    expect([...adapters.keys()]).toEqual(['twilio', 'sinch', 'messagebird', 'fcm', 'rbm', 'pigeon']);
    expect(adapters.get('pigeon')?.channels).toEqual(['sms']);
    expect(isOptOutError('pigeon', { kind: 'permanent', scope: 'recipient', providerCode: 'P-STOP' }, registry)).toBe(true);
    expect(isOptOutError('pigeon', { kind: 'permanent', scope: 'recipient', providerCode: '21610' }, registry)).toBe(false);
  });

  describe('callback route and metrics', () => {
    const redis = new Redis({ lazyConnect: true, enableOfflineQueue: false });
    afterAll(() => redis.disconnect());

    it('answers /webhooks/pigeon (both methods its module declares), counted under its label', async () => {
      const metrics = createMetrics({ defaultMetrics: false, providers: registry });
      const keyRing = createKeyRing(Buffer.alloc(32, 7));
      const keys = redisKeys('sb-fake-carrier');
      const app = Fastify({ logger: false });
      const adapters = createProviders(registry, config.providers, { timeoutMs: 1_000, baseUrl: 'http://127.0.0.1:9' });
      registerCarrierWebhookRoutes(
        app,
        {
          // The routes read only the API's own settings: the built-in gateway's configuration will do.
          config: gatewayConfigSchema.parse({ mode: 'sandbox' }),
          metrics,
          log: createLogger('silent'),
          now: Date.now,
          keyRing,
          dlrBatcher: new DlrBatcher(async () => undefined, { windowMs: 0, maxEvents: 1 }),
          suppression: new SuppressionStore(redis, keys),
          audit: new AuditTrail(new AuditStore(redis, keys, 100), keyRing),
        },
        [...adapters.values()],
        registry,
      );
      expect((await app.inject({ method: 'POST', url: '/webhooks/pigeon', payload: { landed: true } })).statusCode).toBe(401);
      const signed = await app.inject({
        method: 'POST',
        url: '/webhooks/pigeon',
        headers: { [PIGEON_SIGNATURE_HEADER]: PIGEON_SIGNATURE },
        payload: { landed: true },
      });
      expect(signed.statusCode).toBe(204);
      expect(
        (await app.inject({ method: 'GET', url: '/webhooks/pigeon?landed=1', headers: { [PIGEON_SIGNATURE_HEADER]: PIGEON_SIGNATURE } }))
          .statusCode,
      ).toBe(204);
      await app.close();

      const text = await metrics.registry.metrics();
      expect(text).toContain('switchboard_carrier_callbacks_total{provider="pigeon",result="accepted"} 2');
      expect(text).toContain('switchboard_carrier_callbacks_total{provider="pigeon",result="rejected"} 1');
      // Pre-initialised like every closed label set: its attempts, errors, routing and lookups start at 0.
      expect(text).toContain('switchboard_attempts_total{channel="sms",provider="pigeon",status="queued"} 0');
      expect(text).toContain('switchboard_provider_errors_total{provider="pigeon",kind="permanent"} 0');
      expect(text).toContain('switchboard_route_decisions_total{provider="pigeon",reason="cheapest"} 0');
      expect(text).toContain('switchboard_lookup_total{provider="pigeon",result="valid",cache="miss"} 0');
      // It reads no status back, so it is not in the reconciliation set.
      expect(text).not.toContain('switchboard_reconciliations_total{provider="pigeon"');
    });

    it('documents /webhooks/pigeon with the text its module carries', () => {
      const ops = apiOperations({ webhookProviders: ['pigeon'], inboundProviders: [], extraWebhooks: [], providers: registry });
      const pigeonOps = ops.filter((op) => op.path === '/webhooks/pigeon');
      expect(pigeonOps.map((op) => op.method)).toEqual(['get', 'post']);
      expect(pigeonOps[0]?.description).toContain('Pigeon landing reports, verified with `X-Pigeon-Signature`.');
    });
  });

  it('is served by the sandbox: its emulator answers and its scenario API knows it', async () => {
    const { app, control } = createSandboxServer({ providers: registry.modules });
    try {
      const flight = await app.inject({ method: 'POST', url: '/pigeon/v1/flights', payload: { to: '+15551230000' } });
      expect(flight.statusCode).toBe(201);
      expect(flight.json()).toEqual({ id: 'flight-+15551230000' });

      const put = await app.inject({ method: 'PUT', url: '/_sandbox/providers/pigeon', payload: { outage: true } });
      expect(put.statusCode).toBe(200);
      expect((await app.inject({ method: 'POST', url: '/pigeon/v1/flights', payload: { to: '+15551230000' } })).statusCode).toBe(503);

      const state = await app.inject({ method: 'GET', url: '/_sandbox/providers/pigeon' });
      expect(state.json()).toMatchObject({ id: 'pigeon', counters: { requests: 2, accepted: 1, rejected: 1 } });
      expect(control.log({ provider: 'pigeon' }).map((e) => e.status)).toEqual([503, 201]);
      // The built-in carriers are still there, and an unknown id is still refused.
      expect((await app.inject({ method: 'GET', url: '/_sandbox/providers/twilio' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/_sandbox/providers/crow' })).statusCode).toBe(404);
    } finally {
      control.close();
      await app.close();
    }
  });
});
