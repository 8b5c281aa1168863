import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../sandbox-kit/loopback-fixtures.ts';
import { parseTwilioInbound } from './twilio.inbound.ts';
import { postTwilioInbound } from './sandbox/twilio.inbound-emulator.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './sandbox/twilio.sandbox.ts';
import { verifyTwilioWebhook } from './twilio.webhook.ts';

let receiver: CallbackReceiver;
beforeAll(async () => {
  receiver = await startCallbackReceiver();
});
afterAll(async () => {
  await receiver.close();
});

describe('Twilio inbound SMS', () => {
  it('posts a form body signed like a status callback, which verifies and parses', async () => {
    const url = `${receiver.origin}/webhooks/twilio/inbound`;
    expect(await postTwilioInbound({ from: '+14155550142', to: '+15005550006', text: 'STOP' }, url)).toBe(204);
    const [raw] = await receiver.waitFor(1);
    expect(raw).toBeDefined();
    expect(verifyTwilioWebhook(TWILIO_SANDBOX_CREDENTIALS.authToken, raw!)).toBe(true);
    expect(verifyTwilioWebhook('another-token', raw!)).toBe(false);
    expect(parseTwilioInbound(raw!)).toMatchObject({
      from: '+14155550142',
      to: '+15005550006',
      text: 'STOP',
      providerMessageId: expect.stringMatching(/^SM[0-9a-f]{32}$/),
    });
  });

  it('parses nothing from a status callback or garbage', () => {
    const base = { method: 'POST', publicUrl: 'http://x/webhooks/twilio/inbound', headers: {}, query: {} };
    expect(parseTwilioInbound({ ...base, rawBody: Buffer.from('MessageStatus=delivered') })).toBeUndefined();
    expect(parseTwilioInbound({ ...base, rawBody: Buffer.from('%%%') })).toBeUndefined();
  });
});
