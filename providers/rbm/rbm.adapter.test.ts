import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isProviderError } from '../errors.ts';
import { closedPortUrl, startEmulator } from '../sandbox-kit/loopback-fixtures.ts';
import type { RunningEmulator } from '../sandbox-kit/loopback-fixtures.ts';
import { createRbmAdapter } from './rbm.adapter.ts';
import type { RbmAdapter } from './rbm.adapter.ts';
import { mapRbmCapabilityResponse } from './rbm.client.ts';
import { rbmConfigSchema } from './rbm.config.ts';
import { registerRbmEmulator } from './sandbox/rbm.emulator.ts';
import { rbmGolden } from './sandbox/rbm.golden.ts';
import { RBM_SANDBOX_CREDENTIALS } from './sandbox/rbm.sandbox.ts';

const config = rbmConfigSchema.parse({ ...RBM_SANDBOX_CREDENTIALS });

interface Wire {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

describe('createRbmAdapter against the emulator', () => {
  let emulator: RunningEmulator;
  let adapter: RbmAdapter;
  const wire: Wire[] = [];
  let n = 0;
  /** A number no other case has used. */
  const fresh = (): string => `+1415555${String(7000 + n++).padStart(4, '0')}`;

  beforeAll(async () => {
    emulator = await startEmulator((app, control) => {
      app.addHook('onRequest', async (req) => {
        wire.push({ method: req.method, url: req.url, headers: { ...req.headers }, body: req.body });
      });
      registerRbmEmulator(app, control);
    });
    adapter = createRbmAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 1_000 });
  });
  afterEach(() => {
    emulator.control.set('rbm', { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0, retryAfterSec: undefined });
    wire.length = 0;
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('reports a number the table marks RCS-capable as capable, with its features', async () => {
    const e164 = fresh();
    emulator.control.setNumber(e164, { rcs: true });
    expect(await adapter.checkCapability(e164)).toEqual({
      capable: true,
      status: 'capable',
      features: [...rbmGolden.capableBody.features],
      httpStatus: 200,
    });
    expect(await adapter.rcsCapable(e164)).toBe(true);
    expect(emulator.control.counters('rbm')).toMatchObject({ requests: 2, accepted: 0, byStatus: { '200': 2 } });
  });

  it('reports an unset number (rcs:false) as not capable from a 404', async () => {
    const e164 = fresh();
    expect(await adapter.checkCapability(e164)).toEqual({
      capable: false,
      status: 'not_capable',
      httpStatus: 404,
      detail: 'NOT_FOUND: Requested entity was not found.',
    });
    expect(await adapter.rcsCapable(e164)).toBe(false);
  });

  it('reports an invalid number as not capable', async () => {
    const e164 = fresh();
    emulator.control.setNumber(e164, { valid: false, rcs: true });
    expect(await adapter.checkCapability(e164)).toMatchObject({ capable: false, status: 'not_capable' });
  });

  it('reports a 403 as agent_not_launched, whatever the number', async () => {
    emulator.control.set('rbm', { errorRate: 1, errorStatus: 403 });
    const e164 = fresh();
    emulator.control.setNumber(e164, { rcs: true });
    expect(await adapter.checkCapability(e164)).toMatchObject({ capable: false, status: 'agent_not_launched', httpStatus: 403 });
    expect(await adapter.rcsCapable(e164)).toBe(false);
  });

  it('reports an agent RBM does not know as agent_not_launched', async () => {
    const other = createRbmAdapter({ ...config, agentId: 'someone-elses-agent' }, { baseUrl: emulator.baseUrl, timeoutMs: 1_000 });
    expect(await other.checkCapability(fresh())).toMatchObject({ status: 'agent_not_launched', httpStatus: 403 });
  });

  it.each([500, 503, 429])('reports an injected %i as unknown, without rejecting', async (status) => {
    emulator.control.set('rbm', { errorRate: 1, errorStatus: status, retryAfterSec: 1 });
    expect(await adapter.checkCapability(fresh())).toMatchObject({ capable: false, status: 'unknown', httpStatus: status });
  });

  it('reports an outage as unknown', async () => {
    emulator.control.set('rbm', { outage: true });
    expect(await adapter.checkCapability(fresh())).toMatchObject({ status: 'unknown', httpStatus: 503 });
  });

  it('reports a slow RBM as unknown within the timeout', async () => {
    emulator.control.set('rbm', { latencyMs: 1_000 });
    const slow = createRbmAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 150 });
    const started = Date.now();
    expect(await slow.checkCapability(fresh())).toEqual({ capable: false, status: 'unknown', detail: 'timed out after 150 ms' });
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('reports an unreachable RBM as unknown', async () => {
    const unreachable = createRbmAdapter(config, { baseUrl: await closedPortUrl(), timeoutMs: 1_000 });
    const answer = await unreachable.checkCapability(fresh());
    expect(answer).toMatchObject({ capable: false, status: 'unknown' });
    expect(answer.detail).toContain('ECONNREFUSED');
  });

  it('answers a refused token as unknown and drops the cached token', async () => {
    let invalidated = 0;
    const wrong = createRbmAdapter(
      config,
      { baseUrl: emulator.baseUrl, timeoutMs: 1_000 },
      {
        tokens: { getAccessToken: () => Promise.resolve('expired-token'), invalidate: () => (invalidated += 1) },
      },
    );
    expect(await wrong.checkCapability(fresh())).toMatchObject({
      status: 'unknown',
      httpStatus: 401,
      detail: expect.stringContaining('UNAUTHENTICATED'),
    });
    expect(invalidated).toBe(1);
  });

  it('answers a token that cannot be minted as unknown', async () => {
    const broken = createRbmAdapter(
      config,
      { baseUrl: emulator.baseUrl, timeoutMs: 1_000 },
      { tokens: { getAccessToken: () => Promise.reject(new Error('rbm: token endpoint answered HTTP 400')) } },
    );
    expect(await broken.checkCapability(fresh())).toEqual({
      capable: false,
      status: 'unknown',
      detail: 'rbm: token endpoint answered HTTP 400',
    });
    expect(wire).toHaveLength(0);
  });

  it('answers a non-E.164 input as not capable without asking RBM', async () => {
    expect(await adapter.checkCapability('0041 79 123')).toMatchObject({ capable: false, status: 'not_capable' });
    expect(wire).toHaveLength(0);
  });

  it('sends nothing: no channels, send refuses with permanent/channel, no callbacks', async () => {
    expect(adapter.channels).toEqual([]);
    let caught: unknown;
    try {
      await adapter.send({
        messageId: 'msg_1',
        attempt: 1,
        channel: 'rcs',
        to: '+14155550100',
        body: 'x',
        statusCallbackUrl: 'http://127.0.0.1/x',
      });
    } catch (err) {
      caught = err;
    }
    expect(isProviderError(caught)).toBe(true);
    expect(caught).toMatchObject({ provider: 'rbm', kind: 'permanent', scope: 'channel' });
    const raw = { method: 'POST', publicUrl: 'http://127.0.0.1/webhooks/rbm', headers: {}, query: {}, rawBody: Buffer.from('{}') };
    expect(await adapter.verifyWebhook(raw)).toBe(false);
    expect(adapter.parseWebhook(raw)).toEqual([]);
  });

  describe(`golden wire format (${rbmGolden.source})`, () => {
    it('asks with the documented method, path (+ literal), query, Bearer token and no body', async () => {
      const e164 = fresh();
      await adapter.checkCapability(e164);
      await adapter.checkCapability(e164);
      expect(wire).toHaveLength(2);
      const ids = new Set<string>();
      for (const request of wire) {
        const url = new URL(request.url, 'http://x');
        expect(request.method).toBe(rbmGolden.request.method);
        expect(url.pathname).toBe(rbmGolden.request.path(e164));
        expect([...url.searchParams.keys()].sort()).toEqual([...rbmGolden.request.queryKeys].sort());
        expect(url.searchParams.get('agentId')).toBe(rbmGolden.request.agentId);
        expect(url.searchParams.get('requestId')).toMatch(rbmGolden.request.requestIdPattern);
        ids.add(url.searchParams.get('requestId') ?? '');
        expect(request.headers['authorization']).toBe(rbmGolden.request.authorization);
        expect(request.headers['content-length'] ?? '0').toBe('0');
        expect(request.body).toBeUndefined();
      }
      // RBM ignores a repeated requestId, so each check has its own.
      expect(ids.size).toBe(2);
    });

    it("answers with the reference's 200 and 404 bodies", async () => {
      const capable = fresh();
      emulator.control.setNumber(capable, { rcs: true });
      const ok = await fetch(`${emulator.baseUrl}/v1/phones/${capable}/capabilities?requestId=r1&agentId=${rbmGolden.request.agentId}`, {
        headers: { authorization: rbmGolden.request.authorization },
      });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual(rbmGolden.capableBody);
      const missing = await fetch(
        `${emulator.baseUrl}/v1/phones/${fresh()}/capabilities?requestId=r2&agentId=${rbmGolden.request.agentId}`,
        { headers: { authorization: rbmGolden.request.authorization } },
      );
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual(rbmGolden.notFoundBody);
    });

    it.each(rbmGolden.mapping.map((row) => [row.httpStatus, row.status] as const))('maps HTTP %i to %s', (httpStatus, status) => {
      const body = httpStatus === 200 ? rbmGolden.capableBody : { error: { code: httpStatus, message: 'x', status: 'X' } };
      expect(mapRbmCapabilityResponse(httpStatus, body)).toMatchObject({ status, capable: status === 'capable', httpStatus });
    });
  });
});

describe('createRbmAdapter in live mode', () => {
  it('refuses to be built without a service account', () => {
    expect(() => createRbmAdapter(config, { timeoutMs: 1_000 })).toThrow(/serviceAccount/);
  });

  it('is built from a service account without calling Google', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const serviceAccount = JSON.stringify({
      client_email: 'sb@demo.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    const live = createRbmAdapter(rbmConfigSchema.parse({ agentId: 'agent', serviceAccount }), { timeoutMs: 1_000 });
    expect(live.id).toBe('rbm');
    expect(live.checkCapability).toBeTypeOf('function');
  });
});
