/**
 * Named templates (CONTRACTS §3 "Templates") on a whole gateway: the text the carrier sandbox
 * receives is the text the handset shows, so these tests read it there. `{{code}}` is legal only
 * when a code is generated; vars are checked at admission; `GET /v1/templates` lists what exists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { keysUnder } from '../helpers/redis.ts';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'tpl',
    smsProviders: ['twilio'],
    overrides: {
      templates: { 'order-shipped': { locales: { en: 'Order {{order}} is on its way.', fr: 'La commande {{order}} est en route.' } } },
    },
  });
});
afterAll(async () => {
  await gw?.stop();
});

let seq = 0;
/** Fresh numbers: OTP limits are enforced and lookups are cached per number. */
const fresh = (): string => `+1415555${String(7000 + seq++).padStart(4, '0')}`;

async function post(
  json: Record<string, unknown>,
): Promise<{ status: number; body: { id?: string; error?: { code: string; message: string; details?: Array<{ path: string }> } } }> {
  const res = await gw.api('/v1/messages', { method: 'POST', json });
  return {
    status: res.status,
    body: (await res.json()) as { id?: string; error?: { code: string; message: string; details?: Array<{ path: string }> } },
  };
}

/** The text the sandbox carrier received for message `id`. */
async function handsetText(id: string, to: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const entries = (await (await gw.sandbox(`/_sandbox/log?to=${encodeURIComponent(to)}`)).json()) as Array<{
      reference?: string;
      body?: string;
      status: number;
    }>;
    const sent = entries.find((e) => e.reference === id && e.status === 201 && e.body !== undefined);
    if (sent?.body !== undefined) return sent.body;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no sandbox send for ${id}`);
}

/** Messages created so far, and idempotency keys claimed (a refusal adds to neither). */
async function stateKeys(): Promise<{ messages: number; idempotency: number }> {
  const keys = await keysUnder(gw.redis, gw.prefix);
  return {
    messages: await gw.redis.zcard(`${gw.prefix}:idx:all`),
    idempotency: keys.filter((k) => k.startsWith(`${gw.prefix}:idem:`)).length,
  };
}

describe('templates', () => {
  it('sends the otp template without an otp field as a generated code, never the literal {{code}}', async () => {
    const to = fresh();
    const res = await post({ to, template: 'otp' });
    expect(res.status).toBe(202);
    const text = await handsetText(res.body.id ?? '', to);
    expect(text).not.toContain('{{code}}');
    expect(text).toMatch(/^Your verification code is \d{6}\. /);
    const code = /(\d{6})/.exec(text)?.[1];
    const verify = await gw.api(`/v1/messages/${res.body.id}/verify`, { method: 'POST', json: { code } });
    expect(await verify.json()).toEqual({ valid: true });
  });

  it('refuses a body holding {{code}} without otp with SB_VALIDATION_CODE_PLACEHOLDER and creates nothing', async () => {
    const before = await stateKeys();
    const res = await post({ to: fresh(), body: 'Your code: {{code}}' });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('SB_VALIDATION_CODE_PLACEHOLDER');
    expect(await stateKeys()).toEqual(before);
  });

  it('fills vars into a template at admission', async () => {
    const to = fresh();
    const res = await post({ to, template: 'login-alert', vars: { app: 'Acme', device: 'Firefox on Linux' } });
    expect(res.status).toBe(202);
    expect(await handsetText(res.body.id ?? '', to)).toBe(
      'New sign-in to Acme from Firefox on Linux. If this was not you, reset your password.',
    );
    const msg = (await (await gw.api(`/v1/messages/${res.body.id}`)).json()) as { status: string };
    expect(msg.status).not.toBe('failed');
  });

  it('fills a template that holds {{code}} and vars, implying otp', async () => {
    const to = fresh();
    const res = await post({ to, template: 'otp-app', locale: 'es', vars: { app: 'Acme' } });
    expect(res.status).toBe(202);
    expect(await handsetText(res.body.id ?? '', to)).toMatch(/^\d{6} es tu código de verificación de Acme\. /);
  });

  it('refuses a missing var, an unknown var and a var smuggling a placeholder with SB_VALIDATION_TEMPLATE and details', async () => {
    const before = await stateKeys();
    const missing = await post({ to: fresh(), template: 'login-alert', vars: { app: 'Acme' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error?.code).toBe('SB_VALIDATION_TEMPLATE');
    expect(missing.body.error?.details).toEqual([{ path: 'vars.device', message: 'missing' }]);
    const unknown = await post({ to: fresh(), template: 'login-alert', vars: { app: 'Acme', device: 'x', city: 'Paris' } });
    expect(unknown.body.error?.code).toBe('SB_VALIDATION_TEMPLATE');
    expect(unknown.body.error?.details?.map((d) => d.path)).toEqual(['vars.city']);
    const smuggled = await post({ to: fresh(), template: 'login-alert', vars: { app: '{{code}}', device: 'x' } });
    expect(smuggled.body.error?.code).toBe('SB_VALIDATION_TEMPLATE');
    const noVars = await post({ to: fresh(), template: 'otp', vars: { code: '123456' } });
    expect(noVars.body.error?.code).toBe('SB_VALIDATION_TEMPLATE');
    expect(await stateKeys()).toEqual(before);
  });

  it('refuses vars given with a body instead of ignoring them', async () => {
    const res = await post({ to: fresh(), body: 'Hello {{name}}', vars: { name: 'Ada' } });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('SB_VALIDATION_TEMPLATE');
  });

  it('refuses an unknown template and a locale the template lacks with SB_VALIDATION_TEMPLATE', async () => {
    const unknown = await post({ to: fresh(), template: 'welcome' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error?.code).toBe('SB_VALIDATION_TEMPLATE');
    const locale = await post({ to: fresh(), template: 'otp', locale: 'ja' });
    expect(locale.status).toBe(400);
    expect(locale.body.error?.code).toBe('SB_VALIDATION_TEMPLATE');
    expect(locale.body.error?.details?.map((d) => d.path)).toEqual(['locale']);
  });

  it('falls back from a regional locale to its language', async () => {
    const to = fresh();
    const res = await post({ to, otp: {}, locale: 'pt-BR' });
    expect(res.status).toBe(202);
    expect(await handsetText(res.body.id ?? '', to)).toMatch(/^Seu código de verificação é \d{6}\./);
  });

  it('sends Arabic right to left, with the code isolated left to right', async () => {
    const to = fresh();
    const res = await post({ to, otp: {}, locale: 'ar' });
    expect(res.status).toBe(202);
    const text = await handsetText(res.body.id ?? '', to);
    expect(text.startsWith('\u200F')).toBe(true);
    expect(text).toMatch(/\u2066\d{6}\u2069/);
    expect(text).toContain('رمز التحقق');
  });

  it('sends a template from config in the locale asked for', async () => {
    const to = fresh();
    const res = await post({ to, template: 'order-shipped', locale: 'fr', vars: { order: 'A-17' } });
    expect(res.status).toBe(202);
    expect(await handsetText(res.body.id ?? '', to)).toBe('La commande A-17 est en route.');
  });

  it('lists every template with its locales, vars and whether it generates an OTP', async () => {
    const res = await gw.api('/v1/templates');
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: Array<{ name: string; locales: string[]; vars: string[]; otp: boolean }> };
    const byName = new Map(items.map((t) => [t.name, t]));
    expect(byName.get('otp')).toEqual({ name: 'otp', locales: ['ar', 'de', 'en', 'es', 'fr', 'hi', 'pt'], vars: [], otp: true });
    expect(byName.get('otp-app')).toMatchObject({ vars: ['app'], otp: true });
    expect(byName.get('login-alert')).toMatchObject({ vars: ['app', 'device'], otp: false });
    expect(byName.get('order-shipped')).toEqual({ name: 'order-shipped', locales: ['en', 'fr'], vars: ['order'], otp: false });
    for (const t of items) expect(t.locales.length).toBeGreaterThan(0);
    expect((await fetch(`${gw.apiUrl}/v1/templates`)).status).toBe(401);
  });
});
