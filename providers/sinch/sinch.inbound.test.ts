import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../sandbox-kit/loopback-fixtures.ts';
import { parseSinchInbound } from './sinch.inbound.ts';
import { postSinchInbound } from './sandbox/sinch.inbound-emulator.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sandbox/sinch.sandbox.ts';
import { parseSinchWebhook, verifySinchWebhook } from './sinch.webhook.ts';

let receiver: CallbackReceiver;
beforeAll(async () => {
  receiver = await startCallbackReceiver();
});
afterAll(async () => {
  await receiver.close();
});

describe('Sinch inbound SMS (MO)', () => {
  it('posts an mo_text with the callback Basic credentials, which verifies and parses (and is no delivery report)', async () => {
    const url = `${receiver.origin}/webhooks/sinch/inbound`;
    expect(await postSinchInbound({ from: '+447700900123', to: '+15005550006', text: 'Stop' }, url)).toBe(204);
    const [raw] = await receiver.waitFor(1);
    expect(verifySinchWebhook(SINCH_SANDBOX_CREDENTIALS, raw!)).toBe(true);
    expect(verifySinchWebhook({ callbackUsername: 'sinch-callback', callbackPassword: 'wrong' }, raw!)).toBe(false);
    expect(parseSinchInbound(raw!)).toMatchObject({ from: '447700900123', to: '15005550006', text: 'Stop' });
    expect(parseSinchWebhook(raw!)).toEqual([]);
  });

  it('parses nothing from a delivery report', () => {
    const dlr = {
      type: 'recipient_delivery_report_sms',
      batch_id: '01FC',
      recipient: '4670',
      code: 0,
      status: 'Delivered',
      at: '2024-06-06T09:22:14.304Z',
    };
    expect(
      parseSinchInbound({ method: 'POST', publicUrl: 'http://x', headers: {}, query: {}, rawBody: Buffer.from(JSON.stringify(dlr)) }),
    ).toBeUndefined();
  });
});
