import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../sandbox-kit/loopback-fixtures.ts';
import { parseMessageBirdInbound } from './messagebird.inbound.ts';
import { postMessageBirdInbound } from './sandbox/messagebird.inbound-emulator.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './sandbox/messagebird.sandbox.ts';
import { verifyMessageBirdWebhook } from './messagebird.webhook.ts';

let receiver: CallbackReceiver;
beforeAll(async () => {
  receiver = await startCallbackReceiver();
});
afterAll(async () => {
  await receiver.close();
});

describe('MessageBird inbound SMS', () => {
  it('forwards JSON signed with MessageBird-Signature-JWT over the URL and body, which verifies and parses', async () => {
    const url = `${receiver.origin}/webhooks/messagebird/inbound`;
    expect(await postMessageBirdInbound({ from: '+31612345678', to: '+15005550006', text: 'STOP' }, url)).toBe(204);
    const [raw] = await receiver.waitFor(1);
    expect(await verifyMessageBirdWebhook(MESSAGEBIRD_SANDBOX_CREDENTIALS.signingKey, raw!)).toBe(true);
    expect(
      await verifyMessageBirdWebhook(MESSAGEBIRD_SANDBOX_CREDENTIALS.signingKey, {
        ...raw!,
        rawBody: Buffer.from(raw!.rawBody.toString().replace('STOP', 'START')),
      }),
    ).toBe(false);
    expect(parseMessageBirdInbound(raw!)).toMatchObject({
      from: '31612345678',
      to: '15005550006',
      text: 'STOP',
      providerMessageId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it('parses nothing from a status report', () => {
    const report = {
      method: 'GET',
      publicUrl: 'http://x',
      headers: {},
      query: { id: 'abc', status: 'delivered', recipient: '31612345678' },
      rawBody: Buffer.alloc(0),
    };
    expect(parseMessageBirdInbound(report)).toBeUndefined();
  });
});
