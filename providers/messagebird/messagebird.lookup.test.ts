import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { NumberInfo, ProviderAdapter } from '../provider.ts';
import { startEmulator } from '../sandbox-kit/loopback-fixtures.ts';
import type { RunningEmulator } from '../sandbox-kit/loopback-fixtures.ts';
import { createMessageBirdAdapter } from './messagebird.adapter.ts';
import { createMessageBirdClient } from './messagebird.client.ts';
import { messagebirdConfigSchema } from './messagebird.config.ts';
import { registerMessageBirdEmulator } from './sandbox/messagebird.emulator.ts';
import { normalizeMessageBirdHlr } from './messagebird.lookup.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './sandbox/messagebird.sandbox.ts';

const config = messagebirdConfigSchema.parse({ ...MESSAGEBIRD_SANDBOX_CREDENTIALS });
const COST = { amount: 0.005, currency: 'USD' };

describe('normalizeMessageBirdHlr', () => {
  it.each([
    ['active', 'mobile'],
    ['absent', 'mobile'],
    ['unknown', 'unknown'],
    ['failed', 'unknown'],
    ['sent', 'unknown'],
  ] as const)('maps HLR status %s to a valid %s number', (status, lineType) => {
    expect(normalizeMessageBirdHlr({ id: 'x', status, network: null })).toEqual({ valid: true, lineType });
  });

  it('reads MCC/MNC from the integer network, and ported/roaming/country from details', () => {
    const info = normalizeMessageBirdHlr(
      { id: 'x', status: 'active', network: 20406, details: { country_iso: 'nl', ported: 1, roaming: 0 } },
      COST,
    );
    expect(info).toEqual({
      valid: true,
      lineType: 'mobile',
      country: 'NL',
      mcc: '204',
      mnc: '06',
      ported: true,
      roaming: false,
      cost: COST,
    });
  });
});

describe('MessageBird HLR lookups against the emulator', () => {
  let emulator: RunningEmulator;
  let adapter: ProviderAdapter;
  const seen: { method: string; path: string; body: unknown }[] = [];

  beforeAll(async () => {
    emulator = await startEmulator((app, control) => {
      app.addHook('preHandler', async (request) => {
        seen.push({ method: request.method, path: request.url.split('?')[0] ?? request.url, body: request.body });
      });
      registerMessageBirdEmulator(app, control);
    });
    adapter = createMessageBirdAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 1_000 });
  });
  afterEach(() => {
    emulator.control.set('messagebird', { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0, dlr: 'delivered', dlrDelayMs: 200 });
    seen.length = 0;
  });
  afterAll(async () => {
    await emulator.close();
  });

  const lookup = async (e164: string, a: ProviderAdapter = adapter): Promise<NumberInfo> => {
    if (a.lookup === undefined) throw new Error('the MessageBird adapter has no lookup');
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

  it('creates an HLR, polls until it is active, and reports the mobile with its network and cost', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 300 });
    emulator.control.setNumber('+31612345678', { mccmnc: '20408' });
    const started = Date.now();
    const info = await lookup('+31612345678');
    expect(info).toEqual({
      valid: true,
      lineType: 'mobile',
      country: 'NL',
      mcc: '204',
      mnc: '08',
      ported: false,
      roaming: false,
      cost: COST,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const create = seen.find((s) => s.method === 'POST' && s.path === '/hlr');
    expect(create?.body).toMatchObject({ msisdn: '31612345678', reference: expect.stringMatching(/^sb-lookup-/) });
    const polls = seen.filter((s) => s.method === 'GET' && s.path.startsWith('/hlr/'));
    expect(polls.length).toBeGreaterThanOrEqual(1);
    expect(polls.length).toBeLessThanOrEqual(3);
  });

  it('records the create and each poll with the number', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 100 });
    await lookup('+31612345679');
    const entries = emulator.control.entries.filter((e) => e.to === '+31612345679');
    expect(entries[0]).toMatchObject({ provider: 'messagebird', method: 'POST', path: '/hlr', status: 201 });
    expect(entries.slice(1).every((e) => e.method === 'GET' && e.status === 200)).toBe(true);
  });

  it('gives up after hlrMaxWaitMs with a still-pending HLR: valid, line type unknown, still charged', async () => {
    emulator.control.set('messagebird', { dlr: 'none' });
    const started = Date.now();
    const info = await lookup('+31612345680');
    const elapsed = Date.now() - started;
    expect(info).toEqual({ valid: true, lineType: 'unknown', cost: COST });
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(2_200);
    const polls = seen.filter((s) => s.method === 'GET');
    expect(polls.length).toBeGreaterThanOrEqual(4);
    expect(polls.length).toBeLessThanOrEqual(7);
  });

  it.each([
    ['landline', 'failed'],
    ['voip', 'failed'],
    ['unknown', 'unknown'],
  ] as const)('reports a %s (HLR %s) as a valid number of unknown line type: an HLR knows only mobiles', async (lineType, _hlrStatus) => {
    const e164 = `+3161234570${['landline', 'voip', 'unknown'].indexOf(lineType)}`;
    emulator.control.set('messagebird', { dlrDelayMs: 50 });
    emulator.control.setNumber(e164, { lineType });
    expect(await lookup(e164)).toEqual({ valid: true, lineType: 'unknown', ported: false, roaming: false, cost: COST });
  });

  it.each([['a number the table marks invalid', '+31612345690']])(
    'answers valid:false without a cost for %s (422 code 10 on msisdn)',
    async (_name, e164) => {
      emulator.control.setNumber('+31612345690', { valid: false });
      expect(await lookup(e164)).toEqual({ valid: false, lineType: 'unknown' });
    },
  );

  it('reports nothing about a SIM swapped an hour ago: an HLR has no SIM swap data', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 50 });
    emulator.control.setNumber('+31612345691', { simSwap: { swappedWithinSeconds: 3_600 } });
    const info = await lookup('+31612345691');
    expect(info.lineType).toBe('mobile');
    expect(info.simSwap).toBeUndefined();
  });

  it('reports a ported, roaming number with its current network', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 50 });
    emulator.control.setNumber('+31612345692', { mccmnc: '20416', ported: true, roaming: true });
    expect(await lookup('+31612345692')).toMatchObject({ lineType: 'mobile', mcc: '204', mnc: '16', ported: true, roaming: true });
  });

  it('answers valid:false for a non-E.164 input without calling MessageBird', async () => {
    expect(await lookup('not-a-number')).toEqual({ valid: false, lineType: 'unknown' });
    expect(seen).toHaveLength(0);
  });

  it('rejects an outage as a retryable ProviderError, so the gateway can degrade to unknown', async () => {
    emulator.control.set('messagebird', { outage: true });
    expect(await lookupError('+31612345693')).toMatchObject({ provider: 'messagebird', kind: 'retryable', httpStatus: 503 });
  });

  it('rejects a 429 on create as rate_limited', async () => {
    emulator.control.set('messagebird', { errorRate: 1, errorStatus: 429, retryAfterSec: 1 });
    expect(await lookupError('+31612345694')).toMatchObject({ kind: 'rate_limited', retryAfterMs: 1_000 });
    emulator.control.set('messagebird', { retryAfterSec: undefined });
  });

  it('rejects a create timeout as retryable', async () => {
    emulator.control.set('messagebird', { latencyMs: 1_000 });
    const slow = createMessageBirdAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 100 });
    expect(await lookupError('+31612345695', slow)).toMatchObject({ kind: 'retryable', ambiguous: true });
  });

  it('rejects a wrong access key as auth', async () => {
    const wrong = createMessageBirdAdapter(messagebirdConfigSchema.parse({ ...MESSAGEBIRD_SANDBOX_CREDENTIALS, accessKey: 'nope' }), {
      baseUrl: emulator.baseUrl,
      timeoutMs: 1_000,
    });
    expect(await lookupError('+31612345696', wrong)).toMatchObject({ kind: 'auth', httpStatus: 401 });
  });

  it('throws the polls’ outage when the last poll before the deadline failed', async () => {
    const quick = createMessageBirdAdapter(
      messagebirdConfigSchema.parse({ ...MESSAGEBIRD_SANDBOX_CREDENTIALS, hlrMaxWaitMs: 300, hlrPollIntervalMs: 100 }),
      {
        baseUrl: emulator.baseUrl,
        timeoutMs: 1_000,
      },
    );
    emulator.control.set('messagebird', { dlr: 'none' });
    const pending = lookupError('+31612345697', quick);
    // The create has been answered by now; then MessageBird goes down.
    await new Promise((resolve) => setTimeout(resolve, 50));
    emulator.control.set('messagebird', { outage: true });
    expect(await pending).toMatchObject({ kind: 'retryable', httpStatus: 503 });
  });

  it('shows the HLR resource MessageBird’s way: sent at first, then resolved', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 50 });
    emulator.control.setNumber('+31612345698', { mccmnc: '20408' });
    const client = createMessageBirdClient({ baseUrl: emulator.baseUrl, accessKey: MESSAGEBIRD_SANDBOX_CREDENTIALS.accessKey });
    const created = await client.createHlr({ msisdn: '31612345698', reference: 'ref-1' });
    expect(created).toMatchObject({ status: 'sent', network: null, reference: 'ref-1', msisdn: 31612345698 });
    await new Promise((resolve) => setTimeout(resolve, 120));
    const resolved = await client.getHlr(created.id);
    expect(resolved).toMatchObject({
      status: 'active',
      network: 20408,
      details: { country_iso: 'NL', country_name: 'Netherlands', ported: 0, roaming: 0 },
    });
  });
});
