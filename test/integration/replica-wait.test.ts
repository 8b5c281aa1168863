/**
 * `intake.waitReplicas` (Redis `WAIT`) against the shared test Redis, which has no replica: the
 * API refuses to promise what replication has not confirmed. The message is on the primary (a
 * replay with the same Idempotency-Key finds it) but the answer is 503 `SB_NOT_REPLICATED`,
 * quickly, never a 202. The path where a replica acknowledges runs in the Sentinel failover suite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'wait',
    smsProviders: ['twilio'],
    overrides: { intake: { waitReplicas: 1, waitReplicasTimeoutMs: 100 } },
  });
});
afterAll(async () => {
  await gw?.stop();
});

describe('waiting for a replica before 202', () => {
  it('answers 503 SB_NOT_REPLICATED when no replica acknowledges, and the replay names the same message', async () => {
    const body = { to: '+14155550777', body: 'hello' };
    const started = Date.now();
    const res = await gw.api('/v1/messages', { method: 'POST', json: body, headers: { 'idempotency-key': 'wait-1' } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    const json = (await res.json()) as { error: { code: string; message: string; details: unknown } };
    expect(json.error).toMatchObject({ code: 'SB_NOT_REPLICATED', details: [{ acknowledged: 0, wanted: 1 }] });
    expect(json.error.message).toMatch(/Idempotency-Key/);

    const again = await gw.api('/v1/messages', { method: 'POST', json: body, headers: { 'idempotency-key': 'wait-1' } });
    expect(again.status).toBe(503);
    const ids = await gw.api('/v1/messages?limit=10');
    const list = (await ids.json()) as { items?: Array<{ id: string; to: string }> };
    expect((list.items ?? []).filter((m) => m.to === '+1415***0777')).toHaveLength(1);
  });
});
