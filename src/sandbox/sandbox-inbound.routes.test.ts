import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerModules } from '../../providers/index.ts';
import { closedPortUrl, startCallbackReceiver, type CallbackReceiver } from '../../providers/sandbox-kit/loopback-fixtures.ts';
import { createSandboxServer, type SandboxServer } from './sandbox.server.ts';

let receiver: CallbackReceiver;
let sandbox: SandboxServer;

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  sandbox = createSandboxServer({ providers: Object.values(providerModules), gatewayUrl: receiver.origin });
});
afterAll(async () => {
  await sandbox.app.close();
  await receiver.close();
});

const post = (payload: Record<string, unknown>) => sandbox.app.inject({ method: 'POST', url: '/_sandbox/inbound', payload });

describe('POST /_sandbox/inbound', () => {
  it('makes the carrier emulator post the inbound message to the gateway URL it knows', async () => {
    const res = await post({ provider: 'sinch', from: '+14155550100', text: 'STOP' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ provider: 'sinch', url: `${receiver.origin}/webhooks/sinch/inbound`, status: 204 });
    const [raw] = await receiver.waitFor(1);
    expect(raw?.publicUrl).toBe(`${receiver.origin}/webhooks/sinch/inbound`);
    expect(providerModules.sinch.inbound?.parse(raw!)).toMatchObject({ from: '14155550100', to: '15005550006', text: 'STOP' });
  });

  it('posts to the `url` of the request when given, and says when nobody answers there', async () => {
    const res = await post({ provider: 'twilio', from: '+14155550100', text: 'START', url: await closedPortUrl() });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ error: { code: 'SB_UNAVAILABLE' } });
  });

  it('refuses a provider without an inbound emulator and a malformed body', async () => {
    expect((await post({ provider: 'fcm', from: '+14155550100', text: 'STOP' })).json()).toMatchObject({
      error: { code: 'SB_SANDBOX_UNKNOWN_PROVIDER' },
    });
    const bad = await post({ provider: 'twilio', from: 'nobody', text: 'STOP' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'SB_VALIDATION_FAILED' } });
  });

  it('needs a gateway URL from the request when the sandbox has none', async () => {
    const bare = createSandboxServer({ providers: Object.values(providerModules) });
    try {
      const res = await bare.app.inject({
        method: 'POST',
        url: '/_sandbox/inbound',
        payload: { provider: 'twilio', from: '+14155550100', text: 'STOP' },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json<{ error: { message: string } }>().error.message).toContain('url');
    } finally {
      await bare.app.close();
    }
  });
});
