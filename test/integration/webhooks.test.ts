import { Queue } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newEventId, newMessageId } from '../../src/domain/ids.ts';
import type { OutboxItem } from '../../src/domain/events.ts';
import { redisKeys } from '../../src/store/redis-keys.ts';
import { WebhookDeliveryLog } from '../../src/webhooks/webhook-delivery-log.store.ts';
import { generateWebhookSecret } from '../../src/webhooks/webhook-signer.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const SECRET = generateWebhookSecret();
const OLD_SECRET = generateWebhookSecret();
let gw: TestGateway;
let receiver: WebhookReceiver;

interface EventBody {
  type: string;
  id: string;
  timestamp: string;
  data: {
    messageId: string;
    status: string;
    sequence: number;
    channel: string | null;
    provider: string | null;
    to: string;
    attempt: number;
    metadata: Record<string, unknown>;
    error?: { code: string };
  };
}

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'wh',
    smsProviders: ['twilio'],
    env: { SWITCHBOARD_WEBHOOK_SECRET: `${SECRET} ${OLD_SECRET}` },
    overrides: { webhooks: { retrySchedule: [150, 150, 150], jitter: 0, relayIntervalMs: 20 } },
  });
});
afterAll(async () => {
  await gw?.stop();
});
afterEach(async () => {
  await receiver?.close();
});

let numberSeq = 0;
/** Fresh numbers: the OTP limits (5 per number per hour) are enforced. */
const freshNumber = (): string => `+1415555${String(3000 + numberSeq++).padStart(4, '0')}`;

async function send(callbackUrl: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await gw.api('/v1/messages', {
    method: 'POST',
    json: { to: freshNumber(), body: 'code {{code}}', otp: {}, callbackUrl, metadata: { order: 7 }, ...extra },
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const parse = (r: ReceivedRequest): EventBody => JSON.parse(r.body) as EventBody;
const forMessage = (all: ReceivedRequest[], id: string): EventBody[] => all.map(parse).filter((e) => e.data.messageId === id);

function verify(secret: string, r: ReceivedRequest): unknown {
  const headers: Record<string, string> = {};
  for (const h of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) headers[h] = String(r.headers[h]);
  return new Webhook(secret).verify(r.body, headers);
}

describe('outbound delivery-status webhooks', () => {
  it('posts accepted, queued, sent and delivered, each signed per Standard Webhooks, in sequence', async () => {
    receiver = await startWebhookReceiver();
    const id = await send(receiver.url);
    await receiver.waitFor((all) => forMessage(all, id).some((e) => e.type === 'message.delivered'));
    const events = forMessage(receiver.received, id);
    expect(events.map((e) => e.type)).toEqual(['message.accepted', 'message.queued', 'message.sent', 'message.delivered']);
    const seqs = events.map((e) => e.data.sequence);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const r of receiver.received) {
      expect(verify(SECRET, r)).toEqual(JSON.parse(r.body));
      expect(verify(OLD_SECRET, r)).toEqual(JSON.parse(r.body));
      expect(r.headers['webhook-id']).toBe(parse(r).id);
      expect(r.headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    }
    const delivered = events.at(-1);
    expect(delivered).toMatchObject({
      id: expect.stringMatching(/^evt_/),
      data: {
        status: 'delivered',
        channel: 'sms',
        provider: 'twilio',
        to: expect.stringMatching(/^\+1415\*\*\*3\d{3}$/),
        attempt: 1,
        metadata: { order: 7 },
      },
    });
    expect(receiver.received.map((r) => r.body).join('')).not.toMatch(/code \d{6}/);
  });

  it('retries a receiver that answers 500 twice, with the same webhook-id each time', async () => {
    receiver = await startWebhookReceiver();
    const tries = new Map<string, number>();
    receiver.respond = (r) => {
      const n = (tries.get(parse(r).id) ?? 0) + 1;
      tries.set(parse(r).id, n);
      return { status: parse(r).type === 'message.accepted' && n <= 2 ? 500 : 204 };
    };
    const id = await send(receiver.url);
    await receiver.waitFor((all) => forMessage(all, id).filter((e) => e.type === 'message.accepted').length === 3);
    const accepted = receiver.received.filter((r) => parse(r).type === 'message.accepted' && parse(r).data.messageId === id);
    expect(new Set(accepted.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect((accepted[1]?.at ?? 0) - (accepted[0]?.at ?? 0)).toBeGreaterThanOrEqual(100);
    await new Promise((r) => setTimeout(r, 600));
    expect(forMessage(receiver.received, id).filter((e) => e.type === 'message.accepted')).toHaveLength(3);
  });

  it('delivers a relay batch from one job in order per message; a failed event gets its own job that counts its tries', async () => {
    receiver = await startWebhookReceiver();
    const messages = [newMessageId(), newMessageId(), newMessageId()];
    const items: OutboxItem[] = messages.flatMap((messageId) =>
      ['message.accepted', 'message.queued', 'message.sent'].map((type, i) => ({
        url: receiver.url,
        keyName: 'sandbox',
        event: {
          type,
          id: newEventId(),
          timestamp: new Date().toISOString(),
          data: {
            messageId,
            status: type.slice(8),
            channel: 'sms',
            provider: 'twilio',
            to: '+1415555****',
            attempt: 1,
            sequence: i + 1,
            metadata: {},
          },
        },
      })),
    );
    const failing = items[4]?.event.id; // the second message's `queued`
    let failed = false;
    receiver.respond = (r) => {
      if (parse(r).id === failing && !failed) {
        failed = true;
        return { status: 500 };
      }
      return { status: 204 };
    };
    const events = new Queue('events', { connection: gw.redis, prefix: gw.prefix });
    await events.add('deliver-batch', { items }, { jobId: `test-batch-${messages[0]}`, removeOnComplete: true });
    await events.close();
    await receiver.waitFor((all) => all.length >= items.length + 1);
    for (const messageId of messages) {
      const firstArrivals = [...new Set(forMessage(receiver.received, messageId).map((e) => e.data.sequence))];
      expect(firstArrivals).toEqual([1, 2, 3]);
    }
    expect(receiver.received.filter((r) => r.headers['webhook-id'] === failing)).toHaveLength(2);
    const log = new WebhookDeliveryLog(gw.redis, redisKeys(gw.prefix), 3_600);
    const tries = (await log.list(messages[1] as string)).filter((e) => e.eventId === failing).map((e) => [e.try, e.outcome]);
    expect(tries).toEqual([
      [1, 'failure'],
      [2, 'success'],
    ]);
  });

  it('honours Retry-After from the receiver', async () => {
    receiver = await startWebhookReceiver();
    receiver.respond = (_r, i) => (i === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 204 });
    const id = await send(receiver.url);
    await receiver.waitFor((all) => forMessage(all, id).filter((e) => e.type === 'message.accepted').length === 2);
    const [first, second] = receiver.received.filter((r) => parse(r).type === 'message.accepted');
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it('dead-letters an event after the schedule is exhausted, and replays it on request', async () => {
    receiver = await startWebhookReceiver();
    receiver.respond = () => ({ status: 500 });
    const id = await send(receiver.url);
    await receiver.waitFor((all) => forMessage(all, id).filter((e) => e.type === 'message.accepted').length === 4);
    let items: Array<{ eventId: string; messageId: string; type: string; attempts: number; lastError: string }> = [];
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      items = ((await (await gw.api('/v1/webhooks/dead-letters')).json()) as { items: typeof items }).items.filter(
        (d) => d.messageId === id,
      );
      if (items.some((d) => d.type === 'message.accepted')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const dl = items.find((d) => d.type === 'message.accepted');
    expect(dl).toMatchObject({ attempts: 4, lastError: 'HTTP 500' });
    const metrics = await (await fetch(`${gw.apiUrl}/metrics`)).text();
    expect(Number(/^switchboard_webhook_dead_letters (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);

    receiver.respond = () => ({ status: 204 });
    const before = receiver.received.length;
    const replay = await gw.api(`/v1/webhooks/dead-letters/${dl?.eventId}/replay`, { method: 'POST' });
    expect(replay.status).toBe(202);
    await receiver.waitFor((all) => all.slice(before).some((r) => parse(r).id === dl?.eventId && r.headers['webhook-id'] === dl?.eventId));
    const again = await gw.api(`/v1/webhooks/dead-letters/${dl?.eventId}/replay`, { method: 'POST' });
    expect(again.status).toBe(404);
  });

  it('treats a redirect as a failure and never follows it', async () => {
    receiver = await startWebhookReceiver();
    receiver.respond = (r) =>
      r.path === '/hooks' && parse(r).type === 'message.accepted'
        ? { status: 307, headers: { location: receiver.url.replace('/hooks', '/elsewhere') } }
        : { status: 204 };
    const id = await send(receiver.url);
    await receiver.waitFor((all) => forMessage(all, id).filter((e) => e.type === 'message.accepted').length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received.filter((r) => r.path !== '/hooks')).toEqual([]);
  });

  it('disables an endpoint that answers 410 Gone and posts nothing more to it', async () => {
    receiver = await startWebhookReceiver();
    receiver.respond = () => ({ status: 410 });
    const id = await send(receiver.url);
    await gw.waitForStatus(id, ['delivered']);
    await new Promise((r) => setTimeout(r, 500));
    const types = forMessage(receiver.received, id).map((e) => e.type);
    expect(types.length).toBeGreaterThanOrEqual(1);
    expect(types).not.toContain('message.delivered');
    const metrics = await (await fetch(`${gw.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/^switchboard_webhook_deliveries_total\{result="disabled"\} [1-9]/m);
  });

  it('dead-letters the events of an endpoint that answered 410, lists it disabled and enables it again', async () => {
    receiver = await startWebhookReceiver();
    let gone = true;
    receiver.respond = () => ({ status: gone ? 410 : 204 });
    const url = `${receiver.url}?gone=1`;
    const id = await send(url);
    await gw.waitForStatus(id, ['delivered']);
    type Dl = { eventId: string; messageId: string; type: string; url: string; lastError: string };
    let dls: Dl[] = [];
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      dls = ((await (await gw.api('/v1/webhooks/dead-letters?limit=500')).json()) as { items: Dl[] }).items.filter(
        (d) => d.messageId === id,
      );
      if (dls.some((d) => d.type === 'message.delivered')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Every event of the message is kept: the one answered 410 and those never posted.
    expect(dls.map((d) => d.type).sort()).toEqual(['message.accepted', 'message.delivered', 'message.queued', 'message.sent']);
    expect(dls.every((d) => d.url === url)).toBe(true);
    const listed = (await (await gw.api('/v1/webhooks/endpoints')).json()) as {
      items: Array<{ url: string; state: string; disabledAt?: string; reason?: string }>;
    };
    expect(listed.items.find((e) => e.url === url)).toEqual({
      url,
      state: 'disabled',
      disabledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      reason: 'HTTP 410 Gone',
    });

    gone = false;
    const enable = await gw.api('/v1/webhooks/endpoints/enable', { method: 'POST', json: { url } });
    expect(enable.status).toBe(204);
    const after = (await (await gw.api('/v1/webhooks/endpoints')).json()) as { items: Array<{ url: string; state: string }> };
    expect(after.items.find((e) => e.url === url)).toEqual({ url, state: 'enabled' });
    const next = await send(url);
    await receiver.waitFor((all) => forMessage(all, next).some((e) => e.type === 'message.delivered'));
  });

  it('refuses an enable request without a valid url and changes nothing', async () => {
    const before = await (await gw.api('/v1/webhooks/endpoints')).text();
    const res = await gw.api('/v1/webhooks/endpoints/enable', { method: 'POST', json: { url: 'not a url' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SB_VALIDATION_FAILED');
    expect(await (await gw.api('/v1/webhooks/endpoints')).text()).toBe(before);
  });

  it('refuses the endpoint routes to callers without the admin key', async () => {
    expect((await fetch(`${gw.apiUrl}/v1/webhooks/endpoints`)).status).toBe(401);
    expect(
      (
        await fetch(`${gw.apiUrl}/v1/webhooks/endpoints/enable`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"url":"http://127.0.0.1/x"}',
        })
      ).status,
    ).toBe(401);
  });

  it('refuses dead-letter routes to keys without the admin scope', async () => {
    const res = await fetch(`${gw.apiUrl}/v1/webhooks/dead-letters`);
    expect(res.status).toBe(401);
  });
});
