/**
 * Conversion-scored routing end to end: three carriers through their official SDKs to the
 * sandbox, codes read from what each carrier's handset got, verified over HTTP — except the
 * codes of the cheapest carrier, a grey route that reports `delivered` for codes nobody types.
 * The conversion term's sample threshold is lowered by config so the suite stays short.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';

interface Candidate {
  provider: string;
  price?: number;
  health?: number;
  conversion?: number;
  score?: number;
}
interface Msg {
  id: string;
  status: string;
  provider: string;
  routing: { provider: string; reason: string; candidates: Candidate[] };
}

const MIN_SAMPLES = 5;
/** The acceptance bound: traffic leaves the grey route within this many messages. */
const N = 15;

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'conv',
    overrides: { routing: { conversion: { minSamples: MIN_SAMPLES } }, otp: { ttlSeconds: 300 } },
  });
});
afterAll(async () => {
  await gw?.stop();
});

let seq = 0;
const freshNumber = (): string => `+1415556${String(1000 + seq++).padStart(4, '0')}`;

async function codeOf(id: string, to: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const entries = (await (await gw.sandbox(`/_sandbox/log?to=${encodeURIComponent(to)}`)).json()) as Array<{
      reference?: string;
      body?: string;
      status: number;
    }>;
    const sent = entries.find((e) => e.reference === id && e.status >= 200 && e.status < 300 && e.body !== undefined);
    const code = sent?.body !== undefined ? /\b(\d{6})\b/.exec(sent.body)?.[1] : undefined;
    if (code !== undefined) return code;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no sandbox send with a code for ${id}`);
}

/** Sends one OTP, waits for its delivery report, and verifies it unless it went through `grey`. */
async function sendAndMaybeVerify(grey: string): Promise<Msg> {
  const to = freshNumber();
  const res = await gw.api('/v1/messages', { method: 'POST', json: { to, otp: { length: 6 } } });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'], 40_000)) as unknown as Msg;
  expect(msg.status).toBe('delivered');
  if (msg.provider !== grey) {
    const code = await codeOf(id, to);
    const v = await gw.api(`/v1/messages/${id}/verify`, { method: 'POST', json: { code } });
    expect(await v.json()).toEqual({ valid: true });
  }
  return msg;
}

describe('conversion-scored routing', () => {
  it(`moves US traffic off the cheapest carrier whose codes are never verified within ${N} messages`, async () => {
    const sent: Msg[] = [];
    for (let i = 0; i < N + 10; i++) sent.push(await sendAndMaybeVerify('messagebird'));
    const providers = sent.map((m) => m.provider);

    // The grey route is the cheapest: it gets the traffic first, with a neutral conversion term.
    expect(providers[0]).toBe('messagebird');
    expect(sent[0]?.routing.candidates.every((c) => c.conversion === 1)).toBe(true);
    // Within N messages it has lost the traffic, and it does not get it back.
    const lastGrey = providers.lastIndexOf('messagebird');
    expect(lastGrey, providers.join(' ')).toBeLessThan(N);
    expect(providers.slice(N)).not.toContain('messagebird');

    // The decision says why, and shows the term in each candidate.
    const moved = sent.find((m) => m.routing.reason === 'conversion');
    expect(moved, JSON.stringify(sent.map((m) => m.routing))).toBeDefined();
    const grey = moved?.routing.candidates.find((c) => c.provider === 'messagebird');
    expect(grey?.conversion).toBe(50);
    expect(grey?.score).toBeCloseTo((grey?.price ?? 0) * 50, 9);
    const winner = moved?.routing.candidates.find((c) => c.provider === moved.routing.provider);
    expect(winner?.conversion).toBeLessThan(2);

    const text = (await (await fetch(`${gw.apiUrl}/metrics`)).text())
      .split('\n')
      .filter((l) => l.includes('switchboard_otp_conversion_ratio'))
      .join('\n');
    const metrics = parsePrometheusText(text);
    expect(sumOf(metrics, 'switchboard_otp_conversion_ratio', { provider: 'messagebird', country: 'US' })).toBe(0);
    expect(sumOf(metrics, 'switchboard_otp_conversion_ratio', { provider: moved?.routing.provider ?? '', country: 'US' })).toBeGreaterThan(
      0.5,
    );
  });
});
