import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { NumberInfo, ProviderAdapter } from '../provider.ts';
import { startEmulator } from '../sandbox-kit/loopback-fixtures.ts';
import type { RunningEmulator } from '../sandbox-kit/loopback-fixtures.ts';
import { createTwilioAdapter } from './twilio.adapter.ts';
import { twilioConfigSchema } from './twilio.config.ts';
import { registerTwilioEmulator } from './sandbox/twilio.emulator.ts';
import { isoDurationSeconds, mapTwilioLineType, normalizeTwilioLookup } from './twilio.lookup.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './sandbox/twilio.sandbox.ts';

const config = twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS });
const PRICES = config.lookupPricesUsd;

async function lookupError(adapter: ProviderAdapter, e164: string): Promise<ProviderError> {
  try {
    await adapter.lookup?.(e164);
  } catch (err) {
    if (isProviderError(err)) return err;
    throw new Error(`lookup rejected with something other than a ProviderError: ${String(err)}`);
  }
  throw new Error('expected the lookup to fail');
}

describe('mapTwilioLineType', () => {
  it.each([
    ['mobile', 'mobile'],
    ['landline', 'landline'],
    ['fixedVoip', 'voip'],
    ['nonFixedVoip', 'voip'],
    ['tollFree', 'tollfree'],
    ['personal', 'unknown'],
    ['premium', 'unknown'],
    ['pager', 'unknown'],
    ['somethingNew', 'unknown'],
    [null, 'unknown'],
  ])('maps %s to %s', (type, expected) => {
    expect(mapTwilioLineType(type)).toBe(expected);
  });
});

describe('isoDurationSeconds', () => {
  it.each([
    ['PT24H', 86_400],
    ['PT4H', 14_400],
    ['P7D', 604_800],
    ['P1DT2H3M4S', 93_784],
    ['P2W', 1_209_600],
  ])('reads %s as %i seconds', (value, seconds) => {
    expect(isoDurationSeconds(value)).toBe(seconds);
  });

  it.each(['', 'P', 'PT', '24H', 'garbage'])('refuses %j', (value) => {
    expect(isoDurationSeconds(value)).toBeUndefined();
  });
});

describe('normalizeTwilioLookup', () => {
  const now = new Date('2024-06-06T12:00:00Z');
  const opts = { prices: PRICES, simSwapRequested: true, now };

  it('reads the SIM swap package whether the SDK left it snake_case or not', () => {
    const raw = normalizeTwilioLookup(
      {
        valid: true,
        simSwap: { lastSimSwap: { last_sim_swap_date: '2024-06-06T11:00:00Z', swapped_period: 'PT24H', swapped_in_period: true } },
      },
      opts,
    );
    const camel = normalizeTwilioLookup(
      { valid: true, simSwap: { lastSimSwap: { lastSimSwapDate: new Date('2024-06-06T11:00:00Z') } } },
      opts,
    );
    for (const info of [raw, camel]) expect(info.simSwap).toEqual({ lastSwapAt: '2024-06-06T11:00:00.000Z', swappedWithinSeconds: 3_600 });
  });

  it('gives the swapped period as the bound when Twilio withholds the date', () => {
    const info = normalizeTwilioLookup(
      { valid: true, simSwap: { lastSimSwap: { last_sim_swap_date: null, swapped_period: 'PT24H', swapped_in_period: true } } },
      opts,
    );
    expect(info.simSwap).toEqual({ swappedWithinSeconds: 86_400 });
  });

  it('reports no SIM swap when none is known', () => {
    const info = normalizeTwilioLookup(
      { valid: true, simSwap: { lastSimSwap: { last_sim_swap_date: null, swapped_period: 'PT24H', swapped_in_period: false } } },
      opts,
    );
    expect(info.simSwap).toBeUndefined();
  });

  it('charges only the packages that answered without an error code', () => {
    const info = normalizeTwilioLookup(
      { valid: true, lineTypeIntelligence: { type: 'mobile', errorCode: null }, simSwap: { errorCode: 60606, lastSimSwap: null } },
      opts,
    );
    expect(info.cost).toEqual({ amount: 0.008, currency: 'USD' });
    const failedLti = normalizeTwilioLookup(
      { valid: true, lineTypeIntelligence: { type: 'mobile', errorCode: 60600 } },
      { ...opts, simSwapRequested: false },
    );
    expect(failedLti).toEqual({ valid: true, lineType: 'unknown' });
  });

  it('answers valid:false with nothing else for an invalid number', () => {
    expect(normalizeTwilioLookup({ valid: false, lineTypeIntelligence: null, simSwap: null }, opts)).toEqual({
      valid: false,
      lineType: 'unknown',
    });
  });
});

describe('Twilio lookup through the SDK against the emulator', () => {
  let emulator: RunningEmulator;
  let adapter: ProviderAdapter;
  const queries: Record<string, unknown>[] = [];

  beforeAll(async () => {
    emulator = await startEmulator((app, control) => {
      app.addHook('preHandler', async (request) => {
        queries.push({ path: request.url.split('?')[0], ...(request.query as Record<string, unknown>) });
      });
      registerTwilioEmulator(app, control);
    });
    adapter = createTwilioAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 1_000 });
  });
  afterEach(() => {
    emulator.control.set('twilio', { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0 });
    queries.length = 0;
  });
  afterAll(async () => {
    await emulator.close();
  });

  const lookup = async (e164: string): Promise<NumberInfo> => {
    if (adapter.lookup === undefined) throw new Error('the Twilio adapter has no lookup');
    return adapter.lookup(e164);
  };

  it('looks a mobile up with Line Type Intelligence and SIM Swap, priced per package', async () => {
    emulator.control.setNumber('+14155550111', { mccmnc: '310260' });
    const info = await lookup('+14155550111');
    expect(info).toEqual({
      valid: true,
      lineType: 'mobile',
      country: 'US',
      mcc: '310',
      mnc: '260',
      carrier: 'Sandbox Mobile',
      cost: { amount: 0.048, currency: 'USD' },
    });
    expect(queries).toEqual([{ path: '/v2/PhoneNumbers/+14155550111', Fields: 'line_type_intelligence,sim_swap' }]);
  });

  it('records the lookup with the number, counting one request', async () => {
    const before = emulator.control.counters('twilio').requests;
    await lookup('+14155550112');
    expect(emulator.control.counters('twilio').requests).toBe(before + 1);
    expect(emulator.control.entries.at(-1)).toMatchObject({
      provider: 'twilio',
      method: 'GET',
      path: '/v2/PhoneNumbers/+14155550112',
      to: '+14155550112',
      status: 200,
    });
  });

  it.each([
    ['landline', 'landline'],
    ['voip', 'voip'],
    ['tollfree', 'tollfree'],
    ['unknown', 'unknown'],
  ] as const)('reports a %s line as %s', async (lineType, expected) => {
    const e164 = `+1415555020${['landline', 'voip', 'tollfree', 'unknown'].indexOf(lineType)}`;
    emulator.control.setNumber(e164, { lineType });
    expect((await lookup(e164)).lineType).toBe(expected);
  });

  it('answers the SMS magic numbers from the number table like any other number (CONTRACTS §6)', async () => {
    expect(await lookup('+15005550001')).toMatchObject({ valid: true, lineType: 'mobile' });
    expect((await lookup('+15005550009')).lineType).toBe('mobile');
  });

  it.each([['a number the table marks invalid', '+14155550113']])('answers valid:false without a cost for %s', async (_name, e164) => {
    emulator.control.setNumber('+14155550113', { valid: false });
    expect(await lookup(e164)).toEqual({ valid: false, lineType: 'unknown' });
  });

  it('answers valid:false for a non-E.164 input without calling Twilio', async () => {
    const before = emulator.control.counters('twilio').requests;
    expect(await lookup('4155550100')).toEqual({ valid: false, lineType: 'unknown' });
    expect(emulator.control.counters('twilio').requests).toBe(before);
  });

  it('reports a SIM swapped an hour ago with its time and age', async () => {
    emulator.control.setNumber('+14155550114', { simSwap: { swappedWithinSeconds: 3_600 } });
    const info = await lookup('+14155550114');
    expect(info.simSwap?.swappedWithinSeconds).toBeGreaterThanOrEqual(3_599);
    expect(info.simSwap?.swappedWithinSeconds).toBeLessThanOrEqual(3_610);
    expect(Math.abs(Date.parse(info.simSwap?.lastSwapAt ?? '') - (Date.now() - 3_600_000))).toBeLessThan(10_000);
  });

  it('reports an old SIM swap by its date, beyond the 24 h period', async () => {
    const lastSwapAt = new Date(Date.now() - 2 * 86_400_000).toISOString();
    emulator.control.setNumber('+14155550115', { simSwap: { lastSwapAt } });
    const info = await lookup('+14155550115');
    expect(info.simSwap?.swappedWithinSeconds).toBeGreaterThanOrEqual(2 * 86_400 - 2);
  });

  it('shows the current network of a ported, roaming number but no porting or roaming flags (Lookup v2 has none)', async () => {
    emulator.control.setNumber('+14155550116', { mccmnc: '311480', ported: true, roaming: true });
    const info = await lookup('+14155550116');
    expect(info).toMatchObject({ mcc: '311', mnc: '480' });
    expect(info.ported).toBeUndefined();
    expect(info.roaming).toBeUndefined();
  });

  it('asks only for Line Type Intelligence when SIM Swap is off, and charges only it', async () => {
    const lti = createTwilioAdapter(twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS, lookupSimSwap: false }), {
      baseUrl: emulator.baseUrl,
      timeoutMs: 1_000,
    });
    emulator.control.setNumber('+14155550117', { simSwap: { swappedWithinSeconds: 60 } });
    const info = await lti.lookup?.('+14155550117');
    expect(queries.at(-1)).toMatchObject({ Fields: 'line_type_intelligence' });
    expect(info?.simSwap).toBeUndefined();
    expect(info?.cost).toEqual({ amount: 0.008, currency: 'USD' });
  });

  it('rejects an outage as a retryable ProviderError, so the gateway can degrade to unknown', async () => {
    emulator.control.set('twilio', { outage: true });
    expect(await lookupError(adapter, '+14155550100')).toMatchObject({ provider: 'twilio', kind: 'retryable', httpStatus: 503 });
  });

  it('rejects a 429 as rate_limited', async () => {
    emulator.control.set('twilio', { errorRate: 1, errorStatus: 429, retryAfterSec: 3 });
    expect(await lookupError(adapter, '+14155550100')).toMatchObject({ kind: 'rate_limited', retryAfterMs: 3_000 });
    emulator.control.set('twilio', { retryAfterSec: undefined });
  });

  it('rejects a timeout as retryable', async () => {
    emulator.control.set('twilio', { latencyMs: 1_500 });
    const slow = createTwilioAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 100 });
    expect(await lookupError(slow, '+14155550100')).toMatchObject({ kind: 'retryable' });
  });

  it('rejects wrong credentials as auth', async () => {
    const wrong = createTwilioAdapter(twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS, authToken: 'nope' }), {
      baseUrl: emulator.baseUrl,
      timeoutMs: 1_000,
    });
    expect(await lookupError(wrong, '+14155550100')).toMatchObject({ kind: 'auth', httpStatus: 401, providerCode: '20003' });
  });
});
