/**
 * The ops console, /docs and /admin/queues in a real browser: Debian's `chromium` driven by
 * `puppeteer-core` (no browser download), headless, against a whole gateway on loopback. The
 * browser logs in through the Basic challenge, follows a push→SMS message to its page and reads
 * every attempt's channel, provider and status, watches the carriers page during an outage until
 * the breaker shows open, and checks that the API docs and the queue board render their data —
 * with every request the pages make checked to stay on the gateway.
 *
 * Needs `/usr/bin/chromium` (or `CHROMIUM_PATH`): absent, the suite skips with a console line
 * locally and fails under CI=true (`.ci/run` installs the Debian package). With
 * `SWITCHBOARD_SCREENSHOT_DIR` set it also writes the README's screenshots there.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type HTTPRequest, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const IN_CI = process.env['CI'] === 'true';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SCREENSHOT_DIR = process.env['SWITCHBOARD_SCREENSHOT_DIR'];
if (!HAVE_CHROMIUM && !IN_CI) {
  console.warn(
    `SKIPPED test/browser/console.browser.test.ts: no browser at ${CHROMIUM} (apt-get install chromium); under CI=true this fails.`,
  );
}

if (!HAVE_CHROMIUM && IN_CI) {
  describe('chromium under CI', () => {
    it('is installed (.ci/run installs the Debian package chromium)', () => {
      expect.fail(`${CHROMIUM} must exist under CI=true: a missing browser is a failure, not a skip`);
    });
  });
}

interface Attempt {
  n: string;
  channel: string;
  provider: string;
  status: string;
}

describe.runIf(HAVE_CHROMIUM)('the ops console in a browser', () => {
  let gw: TestGateway;
  let receiver: WebhookReceiver;
  let browser: Browser;
  let page: Page;
  /** Every URL the pages asked for that is not the gateway itself. */
  const offsite: string[] = [];
  let messageId = '';

  beforeAll(async () => {
    gw = await startTestGateway({
      label: 'browser',
      // MessageBird is the cheapest for US numbers (pricing.yaml), Twilio the fallback when its breaker opens.
      smsProviders: ['messagebird', 'twilio'],
      overrides: {
        // Health scoring stays neutral so the outage is seen by the breaker, which stays open long
        // enough to be looked at.
        health: { minSamples: 100_000 },
        breaker: { samplingMs: 5_000, minimumRps: 1, halfOpenAfterMs: 60_000, maxHalfOpenAfterMs: 60_000, sharedRefreshMs: 100 },
        webhooks: { relayIntervalMs: 20 },
      },
    });
    receiver = await startWebhookReceiver();
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--disable-extensions'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 1100 });
    await page.setRequestInterception(true);
    const own = new URL(gw.apiUrl).host;
    page.on('request', (req: HTTPRequest) => {
      const url = new URL(req.url());
      if (url.protocol === 'data:' || url.host === own) void req.continue();
      else {
        offsite.push(req.url());
        void req.abort();
      }
    });
    page.setDefaultTimeout(20_000);
  });

  afterAll(async () => {
    const proc = browser?.process();
    await browser?.close().catch(() => proc?.kill('SIGKILL'));
    await receiver?.close();
    await gw?.stop();
  });

  /** The top of the page (what the README shows), when screenshots are asked for. */
  async function screenshot(name: string, height: number): Promise<void> {
    if (SCREENSHOT_DIR === undefined) return;
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, name), clip: { x: 0, y: 0, width: 1200, height } });
  }

  it('asks for the admin key and logs in with it', async () => {
    // Without the key the console answers the Basic challenge; headless Chromium has no prompt to
    // show, so it ends the navigation with ERR_INVALID_AUTH_CREDENTIALS after the 401 arrived.
    const anonymous = await browser.newPage();
    try {
      const answers: Array<{ status: number; challenge: string | undefined }> = [];
      anonymous.on('response', (r) => answers.push({ status: r.status(), challenge: r.headers()['www-authenticate'] }));
      const outcome = await anonymous.goto(`${gw.apiUrl}/console`).then(
        (r) => `status ${r?.status()}`,
        (err: Error) => err.message,
      );
      expect(outcome).toMatch(/ERR_INVALID_AUTH_CREDENTIALS|status 401/);
      expect(answers[0]).toEqual({ status: 401, challenge: 'Basic realm="switchboard-admin"' });
    } finally {
      await anonymous.close();
    }
    // The operator answers the challenge with the admin key (any user name): from then on the
    // browser sends it with every request to the site.
    await page.setExtraHTTPHeaders({ authorization: `Basic ${Buffer.from('ops:sandbox-key').toString('base64')}` });
    const res = await page.goto(`${gw.apiUrl}/console`);
    expect(res?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/console/messages');
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('Messages');
  });

  it('finds a push→SMS message by number and shows every attempt’s channel, provider and status', async () => {
    const number = '+14155550970';
    await gw.sandbox('/_sandbox/push/tok-browser', { method: 'PUT', json: { result: 'ok' } });
    const sent = await gw.api('/v1/messages', {
      method: 'POST',
      json: {
        to: number,
        otp: {},
        channels: ['push', 'sms'],
        push: { token: 'tok-browser', ackTimeoutMs: 1_000 },
        callbackUrl: receiver.url,
        metadata: { ticket: 'SUP-4711' },
      },
    });
    expect(sent.status).toBe(202);
    messageId = ((await sent.json()) as { id: string }).id;
    await gw.waitForStatus(messageId, ['delivered'], 20_000);
    // The user types the code (the same on every rung; the sandbox log shows the push's text).
    const log = (await (await gw.sandbox(`/_sandbox/log?limit=1000`)).json()) as Array<{
      provider: string;
      reference?: string;
      body?: string;
    }>;
    const texts = log.filter((e) => e.reference === messageId && e.body !== undefined).map((e) => e.body as string);
    const code = texts.map((t) => /\b(\d{6})\b/.exec(t)?.[1]).find((c) => c !== undefined);
    expect(code).toMatch(/^\d{6}$/);
    const verified = await gw.api(`/v1/messages/${messageId}/verify`, { method: 'POST', json: { code } });
    expect(await verified.json()).toEqual({ valid: true });
    await receiver.waitFor((all) => all.some((r) => r.body.includes('"message.verified"') && r.body.includes(messageId)), 10_000);

    await page.goto(`${gw.apiUrl}/console/messages`);
    await page.type('input[name="to"]', number);
    await Promise.all([page.waitForNavigation(), page.click('form.search button[type="submit"]')]);
    await page.waitForSelector(`tr[data-message-id="${messageId}"] a`);
    await Promise.all([page.waitForNavigation(), page.click(`tr[data-message-id="${messageId}"] a`)]);
    expect(new URL(page.url()).pathname).toBe(`/console/messages/${messageId}`);

    const attempts = await page.$$eval('#attempts tr[data-attempt]', (rows) =>
      rows.map((r) => ({
        n: r.getAttribute('data-attempt') ?? '',
        channel: r.querySelector('.channel')?.textContent ?? '',
        provider: r.querySelector('.provider')?.textContent ?? '',
        status: r.querySelector('.status-cell')?.textContent?.trim() ?? '',
      })),
    );
    const api = (await (await gw.api(`/v1/messages/${messageId}`)).json()) as {
      attempts: Array<{ n: number; channel: string; provider: string; status: string }>;
    };
    expect(attempts).toEqual(
      api.attempts.map((a): Attempt => ({ n: String(a.n), channel: a.channel, provider: a.provider, status: a.status })),
    );
    expect(attempts).toEqual([
      { n: '1', channel: 'push', provider: 'fcm', status: 'undelivered' },
      { n: '2', channel: 'sms', provider: 'messagebird', status: 'delivered' },
    ]);
    // The picture: two lanes, the ack timeout, the delivery and the verification on the SMS lane.
    expect(await page.$$eval('#ladder .lane', (l) => l.length)).toBe(2);
    const ladder = await page.$eval('#ladder', (l) => l.textContent ?? '');
    expect(ladder).toMatch(/ack timeout at \d/);
    expect(ladder).toMatch(/SMS via messagebird/);
    expect(ladder).toMatch(/delivered ([\d.]+ (ms|s) later|\(carrier time)/);
    expect(ladder).toMatch(/verified/);
    expect(await page.$('#verified')).not.toBeNull();
    expect(await page.$$eval('#routing tr[data-candidate]', (r) => r.map((x) => x.getAttribute('data-candidate')))).toEqual([
      'messagebird',
      'twilio',
    ]);
    const deliveries = await page.$eval('#deliveries', (t) => t.textContent ?? '');
    expect(deliveries).toContain('message.verified');
    expect(deliveries).toContain('success');
    expect(await page.$eval('#metadata', (p) => p.textContent)).toContain('SUP-4711');
    const text = await page.$eval('body', (b) => b.textContent ?? '');
    expect(text).not.toContain('4155550970');
    expect(text).not.toContain(code as string);
    await screenshot('console-message.png', 1000);
  }, 60_000);

  it('shows the breaker open during an outage and the route moving to the other carrier', async () => {
    await gw.sandbox('/_sandbox/providers/messagebird', { method: 'PUT', json: { outage: true } });
    try {
      const ids = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const res = await gw.api('/v1/messages', { method: 'POST', json: { to: `+1415555098${i}`, body: 'outage check' } });
          return ((await res.json()) as { id: string }).id;
        }),
      );
      for (const id of ids) await gw.waitForStatus(id, ['delivered'], 20_000);
      await page.goto(`${gw.apiUrl}/console/carriers`);
      const state = async (): Promise<string> =>
        page.$eval('tr[data-breaker="messagebird:sms"] .breaker-state', (c) => c.textContent?.trim() ?? '');
      const deadline = Date.now() + 15_000;
      while ((await state()) !== 'open' && Date.now() < deadline) await page.reload();
      expect(await state()).toBe('open');
      expect(await page.$eval('tr[data-breaker="twilio:sms"] .breaker-state', (c) => c.textContent?.trim())).toBe('closed');
      expect(await page.$eval('tr[data-route="sms:US"] .route-provider', (c) => c.textContent?.trim())).toBe('twilio');
      const errorRate = await page.$eval('tr[data-health="messagebird:US"] .error-rate', (c) => c.textContent ?? '');
      expect(Number.parseFloat(errorRate)).toBeGreaterThan(0);
      expect(await page.$eval('#spend-total', (c) => c.textContent ?? '')).toMatch(/^\d+\.\d{4} USD/);
      await screenshot('console-carriers.png', 1100);
    } finally {
      await gw.sandbox('/_sandbox/providers/messagebird', { method: 'PUT', json: { outage: false } });
    }
  }, 60_000);

  it('enables a disabled endpoint and replays its dead letter with the page’s buttons', async () => {
    const gone = await startWebhookReceiver();
    try {
      let answer = 410;
      gone.respond = () => ({ status: answer });
      const sent = await gw.api('/v1/messages', {
        method: 'POST',
        json: { to: '+14155550971', body: 'receiver gone', callbackUrl: gone.url },
      });
      const id = ((await sent.json()) as { id: string }).id;
      await gw.waitForStatus(id, ['delivered'], 20_000);
      await page.goto(`${gw.apiUrl}/console/webhooks`);
      const deadline = Date.now() + 15_000;
      while ((await page.$('#endpoints form button')) === null && Date.now() < deadline) await page.reload();
      await Promise.all([page.waitForNavigation(), page.click('#endpoints form button')]);
      expect(await page.$eval('.notice', (n) => n.textContent)).toContain('Endpoint enabled');
      const endpoints = (await (await gw.api('/v1/webhooks/endpoints')).json()) as { items: Array<{ url: string; state: string }> };
      expect(endpoints.items.find((e) => e.url === gone.url)?.state).toBe('enabled');

      answer = 204;
      const row = await page.waitForSelector(`xpath///tr[@data-dead-letter][.//a[text()="${id}"]]`);
      const eventId = (await row?.evaluate((r) => r.getAttribute('data-dead-letter'))) ?? '';
      expect(eventId).toMatch(/^evt_/);
      const postsOf = (all: readonly { headers: Record<string, unknown> }[]): number =>
        all.filter((r) => r.headers['webhook-id'] === eventId).length;
      const before = postsOf(gone.received);
      await Promise.all([page.waitForNavigation(), page.click(`tr[data-dead-letter="${eventId}"] button`)]);
      expect(await page.$eval('.notice', (n) => n.textContent)).toContain('queued for delivery again');
      await gone.waitFor((all) => postsOf(all) > before, 10_000);
      expect(await page.$(`tr[data-dead-letter="${eventId}"]`)).toBeNull();
    } finally {
      await gone.close();
    }
  }, 60_000);

  it('renders the API docs with their operations', async () => {
    await page.goto(`${gw.apiUrl}/docs`);
    await page.waitForSelector('.opblock');
    const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.textContent?.replace(/\u200b/g, '').trim() ?? ''));
    expect(paths).toContain('/v1/messages');
    expect(paths).toContain('/console');
  });

  it('renders the queue board with the send, dlr and events queues and their jobs', async () => {
    await page.goto(`${gw.apiUrl}/admin/queues`);
    // Bull Board is a React app: its queue list exists only once its scripts ran and its API answered.
    await page.waitForFunction(
      "['send', 'dlr', 'events'].every((q) => [...document.querySelectorAll('a')].some((a) => (a.textContent || '').trim().startsWith(q)))",
    );
    // The push→SMS message's send job, on its own page.
    await page.goto(`${gw.apiUrl}/admin/queues/queue/send/${messageId}`);
    await page.waitForFunction(
      `document.body.innerText.includes(${JSON.stringify(messageId)}) && document.body.innerText.includes('Finished at')`,
    );
  });

  it('loads nothing from outside the gateway on any of these pages', () => {
    expect(offsite).toEqual([]);
  });
});
