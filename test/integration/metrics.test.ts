import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ label: 'met', smsProviders: ['twilio'] });
});
afterAll(async () => {
  await gw?.stop();
});

async function scrape(): Promise<ReturnType<typeof parsePrometheusText>> {
  const res = await fetch(`${gw.apiUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

describe('GET /metrics', () => {
  it('parses as Prometheus text and starts closed label sets at zero', async () => {
    const samples = await scrape();
    expect(sumOf(samples, 'switchboard_attempts_total', { channel: 'sms', provider: 'sinch', status: 'delivered' })).toBe(0);
    expect(
      samples.some(
        (s) => s.name === 'switchboard_attempts_total' && s.labels['provider'] === 'messagebird' && s.labels['status'] === 'failed',
      ),
    ).toBe(true);
    expect(samples.some((s) => s.name === 'switchboard_webhook_deliveries_total' && s.labels['result'] === 'dead_letter')).toBe(true);
    expect(samples.some((s) => s.name === 'switchboard_carrier_callbacks_total' && s.labels['result'] === 'rejected')).toBe(true);
    expect(
      samples.some((s) => s.name === 'switchboard_queue_jobs' && s.labels['queue'] === 'send' && s.labels['state'] === 'waiting'),
    ).toBe(true);
    expect(samples.some((s) => s.name === 'switchboard_process_resident_memory_bytes')).toBe(true);
  });

  it('counts exactly the messages sent, their attempts, callbacks and latencies', async () => {
    const before = await scrape();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await gw.api('/v1/messages', { method: 'POST', json: { to: `+1415555041${i}`, body: 'hi' } });
      ids.push(((await res.json()) as { id: string }).id);
    }
    const bad = await gw.api('/v1/messages', { method: 'POST', json: { to: '+15005550001', body: 'hi' } });
    ids.push(((await bad.json()) as { id: string }).id);
    for (const id of ids) await gw.waitForStatus(id, ['delivered', 'failed']);
    const after = await scrape();
    const delta = (name: string, match: Record<string, string>): number => sumOf(after, name, match) - sumOf(before, name, match);
    expect(delta('switchboard_messages_total', { channel: 'sms', provider: 'twilio', country: 'US', outcome: 'delivered' })).toBe(4);
    expect(delta('switchboard_messages_total', { outcome: 'failed' })).toBe(1);
    expect(delta('switchboard_attempts_total', { provider: 'twilio', status: 'queued' })).toBe(5);
    expect(delta('switchboard_attempts_total', { provider: 'twilio', status: 'sent' })).toBe(4);
    expect(delta('switchboard_attempts_total', { provider: 'twilio', status: 'delivered' })).toBe(4);
    expect(delta('switchboard_attempts_total', { provider: 'twilio', status: 'failed' })).toBe(1);
    expect(delta('switchboard_provider_errors_total', { provider: 'twilio', kind: 'permanent' })).toBe(1);
    expect(delta('switchboard_carrier_callbacks_total', { provider: 'twilio', result: 'accepted' })).toBe(8);
    expect(delta('switchboard_accept_to_send_seconds_count', {})).toBe(4);
    expect(delta('switchboard_send_duration_seconds_count', { provider: 'twilio', channel: 'sms' })).toBe(5);
    expect(delta('switchboard_delivery_latency_seconds_count', { provider: 'twilio', channel: 'sms' })).toBe(4);
  });
});
