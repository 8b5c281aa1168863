import { SinchClient } from '@sinch/sdk-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { NumberInfo, ProviderAdapter } from '../provider.ts';
import { startEmulator } from '../sandbox-kit/loopback-fixtures.ts';
import type { RunningEmulator } from '../sandbox-kit/loopback-fixtures.ts';
import { createSinchAdapter } from './sinch.adapter.ts';
import { sinchConfigSchema } from './sinch.config.ts';
import { registerSinchEmulator } from './sandbox/sinch.emulator.ts';
import { mapSinchLineType, normalizeSinchLookup } from './sinch.lookup.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sandbox/sinch.sandbox.ts';

const config = sinchConfigSchema.parse({ ...SINCH_SANDBOX_CREDENTIALS });
const PRICES = config.lookupPricesUsd;

describe('mapSinchLineType', () => {
  it.each([
    ['Mobile', 'mobile'],
    ['Landline', 'landline'],
    ['VoIP', 'voip'],
    ['Freephone', 'tollfree'],
    ['Special', 'unknown'],
    ['Other', 'unknown'],
    ['constructor', 'unknown'],
    [undefined, 'unknown'],
  ])('maps %s to %s', (type, expected) => {
    expect(mapSinchLineType(type)).toBe(expected);
  });
});

describe('normalizeSinchLookup', () => {
  const opts = { prices: PRICES, simSwapRequested: true };

  it.each([
    ['SP4H', 14_400],
    ['SP24H', 86_400],
    ['SP30D', 2_592_000],
  ])('bounds a swap within %s by %i seconds', (swapPeriod, seconds) => {
    expect(normalizeSinchLookup({ simSwap: { swapped: true, swapPeriod } }, opts).simSwap).toEqual({ swappedWithinSeconds: seconds });
  });

  it('knows an unbounded swap (SPMAX) without calling it recent', () => {
    expect(normalizeSinchLookup({ simSwap: { swapped: true, swapPeriod: 'SPMAX' } }, opts).simSwap).toEqual({});
  });

  it('charges only the features that answered without an error', () => {
    const info = normalizeSinchLookup({ line: { type: 'Mobile' }, simSwap: { error: { status: 403, title: 'Not enabled' } } }, opts);
    expect(info).toEqual({ valid: true, lineType: 'mobile', cost: { amount: 0.005, currency: 'USD' } });
  });
});

describe('Sinch Number Lookup through the SDK against the emulator', () => {
  let emulator: RunningEmulator;
  let adapter: ProviderAdapter;
  const bodies: { path: string; body: unknown; authorization: string | undefined }[] = [];

  beforeAll(async () => {
    emulator = await startEmulator((app, control) => {
      app.addHook('preHandler', async (request) => {
        bodies.push({ path: request.url.split('?')[0] ?? request.url, body: request.body, authorization: request.headers.authorization });
      });
      registerSinchEmulator(app, control);
    });
    adapter = createSinchAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 1_000 });
  });
  afterEach(() => {
    emulator.control.set('sinch', { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0 });
    bodies.length = 0;
  });
  afterAll(async () => {
    await emulator.close();
  });

  const lookup = async (e164: string, a: ProviderAdapter = adapter): Promise<NumberInfo> => {
    if (a.lookup === undefined) throw new Error('the Sinch adapter has no lookup');
    return a.lookup(e164);
  };
  const lookupError = async (e164: string, a: ProviderAdapter = adapter): Promise<ProviderError> => {
    try {
      await lookup(e164, a);
    } catch (err) {
      if (isProviderError(err)) return err;
      throw new Error(`lookup rejected with something other than a ProviderError: ${String(err)}`);
    }
    throw new Error('expected the lookup to fail');
  };

  it('has no lookup without OAuth2 project credentials', () => {
    const {
      projectId: _p,
      keyId: _k,
      keySecret: _s,
      appId: _a,
      conversationWebhookSecret: _c,
      whatsappTemplateId: _w,
      ...smsOnly
    } = SINCH_SANDBOX_CREDENTIALS;
    expect(createSinchAdapter(sinchConfigSchema.parse(smsOnly), { baseUrl: emulator.baseUrl, timeoutMs: 1_000 }).lookup).toBeUndefined();
  });

  it('fetches an OAuth2 token once, then looks a mobile up with LineType and SimSwap', async () => {
    const fresh = createSinchAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 1_000 });
    emulator.control.setNumber('+46701234567', { mccmnc: '24007' });
    expect(await lookup('+46701234567', fresh)).toEqual({
      valid: true,
      lineType: 'mobile',
      country: 'SE',
      mcc: '240',
      mnc: '07',
      carrier: 'Sandbox Mobile',
      ported: false,
      cost: { amount: 0.035, currency: 'USD' },
    });
    await lookup('+46701234568', fresh);
    const tokenCalls = bodies.filter((b) => b.path === '/oauth2/token');
    expect(tokenCalls).toHaveLength(1);
    expect(tokenCalls[0]?.authorization).toBe('Basic ' + Buffer.from('sandbox-key-id:sandbox-key-secret').toString('base64'));
    const lookups = bodies.filter((b) => b.path === '/v2/projects/sandbox-project/lookups');
    expect(lookups.map((l) => l.body)).toEqual([
      { number: '+46701234567', features: ['LineType', 'SimSwap'] },
      { number: '+46701234568', features: ['LineType', 'SimSwap'] },
    ]);
    expect(lookups[0]?.authorization).toMatch(/^Bearer sbx-sinch-/);
  });

  it('records each lookup with the number', async () => {
    await lookup('+46701234569');
    expect(emulator.control.entries.at(-1)).toMatchObject({
      provider: 'sinch',
      method: 'POST',
      path: '/v2/projects/sandbox-project/lookups',
      to: '+46701234569',
      status: 200,
    });
  });

  it.each([
    ['landline', 'landline'],
    ['voip', 'voip'],
    ['tollfree', 'tollfree'],
    ['unknown', 'unknown'],
  ] as const)('reports a %s line as %s', async (lineType, expected) => {
    const e164 = `+4670123450${['landline', 'voip', 'tollfree', 'unknown'].indexOf(lineType)}`;
    emulator.control.setNumber(e164, { lineType });
    expect((await lookup(e164)).lineType).toBe(expected);
  });

  it.each([['a number the table marks invalid', '+46701234511']])('answers valid:false without a cost for %s', async (_name, e164) => {
    emulator.control.setNumber('+46701234511', { valid: false });
    expect(await lookup(e164)).toEqual({ valid: false, lineType: 'unknown' });
  });

  it('reports a SIM swapped an hour ago as swapped within 4 h', async () => {
    emulator.control.setNumber('+46701234512', { simSwap: { swappedWithinSeconds: 3_600 } });
    expect((await lookup('+46701234512')).simSwap).toEqual({ swappedWithinSeconds: 14_400 });
  });

  it('reports no SIM swap for a number without one', async () => {
    expect((await lookup('+46701234513')).simSwap).toBeUndefined();
  });

  it('reports a ported number (Number Lookup has no roaming field)', async () => {
    emulator.control.setNumber('+46701234514', { mccmnc: '24008', ported: true, roaming: true });
    const info = await lookup('+46701234514');
    expect(info).toMatchObject({ ported: true, mcc: '240', mnc: '08' });
    expect(info.roaming).toBeUndefined();
  });

  it('asks only for LineType when SimSwap is off', async () => {
    const lineOnly = createSinchAdapter(sinchConfigSchema.parse({ ...SINCH_SANDBOX_CREDENTIALS, lookupSimSwap: false }), {
      baseUrl: emulator.baseUrl,
      timeoutMs: 1_000,
    });
    const info = await lookup('+46701234515', lineOnly);
    expect(bodies.at(-1)?.body).toEqual({ number: '+46701234515', features: ['LineType'] });
    expect(info.cost).toEqual({ amount: 0.005, currency: 'USD' });
  });

  it('rejects an outage as a retryable ProviderError, so the gateway can degrade to unknown', async () => {
    emulator.control.set('sinch', { outage: true });
    expect(await lookupError('+46701234516')).toMatchObject({ provider: 'sinch', kind: 'retryable', httpStatus: 503 });
  });

  it('rejects a 429 as rate_limited with Retry-After', async () => {
    emulator.control.set('sinch', { errorRate: 1, errorStatus: 429, retryAfterSec: 2 });
    expect(await lookupError('+46701234517')).toMatchObject({ kind: 'rate_limited', retryAfterMs: 2_000 });
    emulator.control.set('sinch', { retryAfterSec: undefined });
  });

  it('rejects a timeout as retryable within the adapter timeout', async () => {
    emulator.control.set('sinch', { latencyMs: 1_500 });
    const slow = createSinchAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 150 });
    const started = Date.now();
    expect(await lookupError('+46701234518', slow)).toMatchObject({ kind: 'retryable' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('rejects wrong OAuth2 credentials as auth', async () => {
    const wrong = createSinchAdapter(sinchConfigSchema.parse({ ...SINCH_SANDBOX_CREDENTIALS, keySecret: 'guessed' }), {
      baseUrl: emulator.baseUrl,
      timeoutMs: 1_000,
    });
    expect(await lookupError('+46701234519', wrong)).toMatchObject({ kind: 'auth', httpStatus: 401 });
  });

  it('answers LineType alone when no feature is asked for, as Sinch does', async () => {
    const client = new SinchClient({
      ...SINCH_SANDBOX_CREDENTIALS,
      authHostname: emulator.baseUrl,
      numberLookupHostname: emulator.baseUrl,
      logger: null,
    });
    const response = await client.numberLookup.lookup({ numberLookupRequestBody: { number: '+46701234520' } });
    expect(response.line?.type).toBe('Mobile');
    expect(response.simSwap).toBeUndefined();
  });

  it('calls a forgotten token of its own expired, so the SDK fetches a new one', async () => {
    const res = await fetch(`${emulator.baseUrl}/v2/projects/sandbox-project/lookups`, {
      method: 'POST',
      headers: { authorization: 'Bearer sbx-sinch-forgotten', 'content-type': 'application/json' },
      body: JSON.stringify({ number: '+46701234521' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('expired');
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
