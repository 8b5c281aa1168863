/**
 * The ops console over HTTP: the admin guard on every path under /console, number search through
 * the phone token, filters, escaping, bad input, and the dead-letter replay and endpoint enable
 * forms. What a browser sees is tested in test/browser/console.browser.test.ts.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskPhone } from '../../src/domain/mask.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { keysUnder } from '../helpers/redis.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const sha = (key: string): string => createHash('sha256').update(key).digest('hex');
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ADMIN = basic('ops', 'sandbox-key');

let gw: TestGateway;
let receiver: WebhookReceiver;

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'console',
    smsProviders: ['twilio'],
    overrides: {
      apiKeys: [
        { name: 'sandbox', sha256: sha('sandbox-key'), scopes: ['send', 'read', 'verify', 'admin'] },
        { name: 'reader', sha256: sha('reader-key'), scopes: ['send', 'read', 'verify'] },
      ],
      webhooks: { retrySchedule: [100, 100], jitter: 0, relayIntervalMs: 20 },
    },
  });
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await gw?.stop();
});

function consoleFetch(path: string, authorization?: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (authorization !== undefined) headers.set('authorization', authorization);
  return fetch(`${gw.apiUrl}${path}`, { redirect: 'manual', ...init, headers });
}

async function page(path: string): Promise<{ status: number; text: string }> {
  const res = await consoleFetch(path, ADMIN);
  return { status: res.status, text: await res.text() };
}

async function send(body: Record<string, unknown>): Promise<string> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: { body: 'console check', ...body } });
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

function form(fields: Record<string, string>, origin = gw.apiUrl): RequestInit {
  return {
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
  };
}

describe('/console', () => {
  it('answers 401 with the Basic challenge on every console path without the admin key', async () => {
    const id = await send({ to: '+14155550960' });
    const paths: Array<[string, RequestInit?]> = [
      ['/console'],
      ['/console/'],
      ['/console/messages'],
      ['/console/messages?to=%2B14155550960'],
      [`/console/messages/${id}`],
      ['/console/carriers'],
      ['/console/webhooks'],
      ['/console/assets/console.css'],
      ['/console/no-such-page'],
      ['/console/webhooks/dead-letters/evt_01JAAAAAAAAAAAAAAAAAAAAAAA/replay', form({})],
      ['/console/webhooks/endpoints/enable', form({ endpoint: '0'.repeat(32) })],
    ];
    for (const [path, init] of paths) {
      for (const auth of [
        undefined,
        basic('ops', 'wrong-key'),
        'Bearer wrong-key',
        basic('ops', 'reader-key'),
        'Bearer reader-key',
        'Basic !!!',
      ]) {
        const res = await consoleFetch(path, auth, init);
        expect(res.status, `${init?.method ?? 'GET'} ${path} with ${auth ?? 'no key'}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Basic realm="switchboard-admin"');
        expect(await res.json()).toMatchObject({ error: { code: 'SB_AUTH_UNAUTHORIZED' } });
      }
    }
  });

  it('serves its pages with the admin key as the Basic password or a Bearer token, loading nothing from the web', async () => {
    const id = await send({ to: '+14155550961' });
    await gw.waitForStatus(id, ['delivered']);
    for (const auth of [ADMIN, basic('', 'sandbox-key'), 'Bearer sandbox-key']) {
      const root = await consoleFetch('/console', auth);
      expect(root.status).toBe(302);
      expect(root.headers.get('location')).toBe('/console/messages');
    }
    for (const path of ['/console/messages', `/console/messages/${id}`, '/console/carriers', '/console/webhooks']) {
      const res = await consoleFetch(path, 'Bearer sandbox-key');
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      const text = await res.text();
      expect(text, path).not.toMatch(/(src|href)="(https?:)?\/\//);
      expect(text, path).not.toContain('<script');
    }
    const css = await consoleFetch('/console/assets/console.css', ADMIN);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
    expect(await css.text()).not.toMatch(/url\(|@import/);
    const missing = await consoleFetch('/console/no-such-page', ADMIN);
    expect(missing.status).toBe(404);
  });

  it('finds a message by number through its phone token, shows the number masked and keeps no plain index', async () => {
    const number = '+14155550962';
    const id = await send({ to: number, metadata: { ticket: 'T-1' } });
    const other = await send({ to: '+14155550963' });
    const found = await page(`/console/messages?to=${encodeURIComponent(number)}`);
    expect(found.status).toBe(200);
    expect(found.text).toContain(id);
    expect(found.text).not.toContain(other);
    expect(found.text).not.toContain('4155550962');
    expect(found.text).toContain(maskPhone(number));
    const national = await page(`/console/messages?to=${encodeURIComponent('(415) 555-0962')}&country=us`);
    expect(national.text).toContain(id);
    const detail = await page(`/console/messages/${id}`);
    expect(detail.text).not.toContain('4155550962');
    expect(detail.text).not.toContain('console check');
    const keys = await keysUnder(gw.redis, gw.prefix);
    expect(keys.filter((k) => k.includes('4155550962'))).toEqual([]);
  });

  it('filters by id, status, channel, provider, key, time and a metadata field', async () => {
    const acme = await send({ to: '+14155550964', metadata: { tenant: 'acme', n: 3 } });
    const globex = await send({ to: '+14155550965', metadata: { tenant: 'globex' } });
    await gw.waitForStatus(acme, ['delivered']);
    await gw.waitForStatus(globex, ['delivered']);
    const byMeta = await page('/console/messages?meta=tenant%3Dacme');
    expect(byMeta.text).toContain(acme);
    expect(byMeta.text).not.toContain(globex);
    expect((await page('/console/messages?meta=n%3D3')).text).toContain(acme);
    const byId = await page(`/console/messages?id=${globex}`);
    expect(byId.text).toContain(globex);
    expect(byId.text).not.toContain(acme);
    const delivered = await page('/console/messages?status=delivered&channel=sms&provider=twilio&key=sandbox');
    expect(delivered.text).toContain(acme);
    expect(delivered.text).toContain(globex);
    expect((await page('/console/messages?status=failed')).text).not.toContain(acme);
    expect((await page('/console/messages?provider=sinch')).text).not.toContain(acme);
    expect((await page('/console/messages?key=reader')).text).not.toContain(acme);
    const future = new Date(Date.now() + 3_600_000).toISOString().slice(0, 16);
    expect((await page(`/console/messages?since=${future}`)).text).not.toContain(acme);
    expect((await page(`/console/messages?until=${future}&meta=tenant%3Dglobex`)).text).toContain(globex);
    // Empty form fields are absent, not invalid.
    expect((await page(`/console/messages?id=&to=&status=&meta=tenant%3Dacme`)).text).toContain(acme);
  });

  it('escapes metadata and carrier text, so nothing a sender controls becomes markup', async () => {
    const id = await send({
      to: '+14155550966',
      metadata: { '<img src=x onerror=alert(1)>': '</pre><script>alert(2)</script>', note: '" onmouseover="alert(3)' },
    });
    await gw.waitForStatus(id, ['delivered']);
    for (const path of [`/console/messages/${id}`, `/console/messages?id=${id}`]) {
      const { text } = await page(path);
      expect(text).not.toContain('<script>alert(2)');
      expect(text).not.toContain('<img src=x');
      expect(text).not.toContain('" onmouseover="');
      expect(text).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    }
  });

  it('answers 400 to bad query parameters and bodies, and changes nothing', async () => {
    for (const path of [
      '/console/messages?status=bogus',
      '/console/messages?channel=fax',
      '/console/messages?since=yesterday',
      '/console/messages?limit=1000',
      '/console/messages?unknown=1',
      '/console/messages?meta=novalue',
      '/console/messages?id=msg_short',
      '/console/messages?to=not-a-number',
      '/console/messages/not-an-id',
      '/console/carriers?country=USA',
      '/console/webhooks?limit=0',
    ]) {
      const res = await page(path);
      expect(res.status, path).toBe(400);
      expect(res.text, path).toMatch(/SB_VALIDATION_(FAILED|PHONE_NUMBER)/);
    }
    // The outbox relay's short lock comes and goes on its own; everything else must stay as it is.
    const state = async (): Promise<string[]> => (await keysUnder(gw.redis, gw.prefix)).filter((k) => !k.includes(':lock:')).sort();
    const before = await state();
    const badReplay = await consoleFetch('/console/webhooks/dead-letters/not-an-event/replay', ADMIN, form({}));
    expect(badReplay.status).toBe(400);
    const badEnable = await consoleFetch('/console/webhooks/endpoints/enable', ADMIN, form({ endpoint: 'x' }));
    expect(badEnable.status).toBe(400);
    const unknownEnable = await consoleFetch('/console/webhooks/endpoints/enable', ADMIN, form({ endpoint: 'a'.repeat(32) }));
    expect(unknownEnable.status).toBe(404);
    expect(await state()).toEqual(before);
    expect((await page('/console/messages/msg_01JAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
  });

  it('answers every hostile search with a page or a 400, never a 5xx, and echoes nothing unescaped', async () => {
    const fields = ['id', 'to', 'country', 'key', 'status', 'channel', 'provider', 'since', 'until', 'meta', 'limit', 'cursor', 'other'];
    const hostile = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        '<script>alert(1)</script>',
        '"><img src=x onerror=alert(1)>',
        '%00',
        '../../etc',
        'msg_01JAAAAAAAAAAAAAAAAAAAAAAA',
        '+14155550962',
        'tenant=<b>',
        '1769846400',
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom(...fields), hostile, { maxKeys: 4 }), async (query) => {
        const res = await consoleFetch(`/console/messages?${new URLSearchParams(query).toString()}`, ADMIN);
        const text = await res.text();
        expect([200, 400]).toContain(res.status);
        expect(text).not.toContain('<script>alert');
        expect(text).not.toContain('<img src=x');
      }),
      { numRuns: 150 },
    );
  });

  it('shows the webhook deliveries with their answers, replays a dead letter and enables a disabled endpoint', async () => {
    let gone = true;
    receiver.respond = () => ({ status: gone ? 410 : 204 });
    const id = await send({ to: '+14155550967', callbackUrl: receiver.url });
    await gw.waitForStatus(id, ['delivered']);
    // The 410 disables the endpoint; that event and every later one are dead-lettered.
    let webhooks = '';
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      webhooks = (await page('/console/webhooks')).text;
      if (webhooks.includes(id) && webhooks.includes('name="endpoint"')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(webhooks).toContain(id);
    expect(webhooks).toContain(receiver.url.replace(/\?.*/, ''));
    const detail = (await page(`/console/messages/${id}`)).text;
    expect(detail).toMatch(/status-gone[^>]*>gone</);
    expect(detail).toContain('410');

    const ref = /name="endpoint" value="([0-9a-f]{32})"/.exec(webhooks)?.[1] as string;
    expect(ref).toMatch(/^[0-9a-f]{32}$/);
    // A post from another site is refused even with the key (the browser would send it along).
    const crossSite = await consoleFetch('/console/webhooks/endpoints/enable', ADMIN, form({ endpoint: ref }, 'http://evil.example'));
    expect(crossSite.status).toBe(403);
    const endpointsBefore = (await (await gw.api('/v1/webhooks/endpoints')).json()) as { items: Array<{ url: string; state: string }> };
    expect(endpointsBefore.items.find((e) => e.url === receiver.url)?.state).toBe('disabled');

    const enabled = await consoleFetch('/console/webhooks/endpoints/enable', ADMIN, form({ endpoint: ref }));
    expect(enabled.status).toBe(303);
    expect(enabled.headers.get('location')).toBe('/console/webhooks?done=enabled');
    const endpointsAfter = (await (await gw.api('/v1/webhooks/endpoints')).json()) as { items: Array<{ url: string; state: string }> };
    expect(endpointsAfter.items.find((e) => e.url === receiver.url)?.state).toBe('enabled');

    gone = false;
    const eventId = new RegExp(`data-dead-letter="(evt_[0-9A-Z]{26})"[^]*?${id}`).exec(webhooks)?.[1] as string;
    expect(eventId).toMatch(/^evt_/);
    const postsOf = (all: readonly { headers: Record<string, unknown> }[]): number =>
      all.filter((r) => r.headers['webhook-id'] === eventId).length;
    const before = postsOf(receiver.received);
    const replayed = await consoleFetch(`/console/webhooks/dead-letters/${eventId}/replay`, ADMIN, form({}));
    expect(replayed.status).toBe(303);
    expect(replayed.headers.get('location')).toBe('/console/webhooks?done=replayed');
    await receiver.waitFor((all) => postsOf(all) > before, 10_000);
    expect((await page('/console/webhooks')).text).not.toContain(`data-dead-letter="${eventId}"`);
    const again = await consoleFetch(`/console/webhooks/dead-letters/${eventId}/replay`, ADMIN, form({}));
    expect(again.status).toBe(404);
  });
});
