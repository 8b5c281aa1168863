/**
 * Bull Board at `/admin/queues` and `GET /v1/admin/queues`: the admin key
 * opens the board (Basic password or Bearer), anything else gets the Basic challenge — on the page,
 * its JSON API and its static assets alike — and the board drives our BullMQ 6 queues.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const sha = (key: string): string => createHash('sha256').update(key).digest('hex');
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const CHALLENGE = 'Basic realm="switchboard-admin"';

let gw: TestGateway;
let boardHtml = '';

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'board',
    smsProviders: ['twilio'],
    overrides: {
      apiKeys: [
        { name: 'sandbox', sha256: sha('sandbox-key'), scopes: ['send', 'read', 'verify', 'admin'] },
        { name: 'reader', sha256: sha('reader-key'), scopes: ['send', 'read', 'verify'] },
      ],
    },
  });
});
afterAll(async () => {
  await gw?.stop();
});

function board(path: string, authorization?: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${gw.apiUrl}/admin/queues${path}`, { ...init, headers: authorization !== undefined ? { authorization } : {} });
}

async function expectChallenge(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe(CHALLENGE);
  expect(await res.json()).toMatchObject({ error: { code: 'SB_AUTH_UNAUTHORIZED' } });
}

describe('/admin/queues', () => {
  it('answers 401 with the Basic challenge without the admin key', async () => {
    await expectChallenge(await board(''));
    await expectChallenge(await board('/'));
    await expectChallenge(await board('', basic('ops', 'wrong-key')));
    await expectChallenge(await board('', 'Bearer wrong-key'));
    // A real key without the admin scope is not the admin key.
    await expectChallenge(await board('', basic('ops', 'reader-key')));
    await expectChallenge(await board('', 'Bearer reader-key'));
    await expectChallenge(await board('', 'Basic !!!not-base64'));
    await expectChallenge(await board('', basic('sandbox-key', '')));
  });

  it('serves the board with the admin key as the Basic password (any user) or as a Bearer token', async () => {
    for (const auth of [basic('ops', 'sandbox-key'), basic('', 'sandbox-key'), 'Bearer sandbox-key']) {
      const res = await board('', auth);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      boardHtml = await res.text();
      expect(boardHtml).toContain('<base href="/admin/queues/"');
      expect(boardHtml).toContain('Switchboard queues');
    }
    // Offline: the one external link Bull Board's page carries (Google Fonts) is removed.
    expect(boardHtml).not.toMatch(/https?:\/\//);
  });

  it('guards the static assets under the base path, which load with the key', async () => {
    const assets = [...boardHtml.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      const withKey = await board(`/${asset}`, basic('ops', 'sandbox-key'));
      expect(withKey.status, asset).toBe(200);
      expect((await withKey.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
      await expectChallenge(await board(`/${asset}`));
    }
  });

  it('drives the send, dlr and events queues through its API (BullMQ 6)', async () => {
    const sent = await gw.api('/v1/messages', { method: 'POST', json: { to: '+14155550950', body: 'board check' } });
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    await gw.waitForStatus(id, ['delivered']);
    await expectChallenge(await board('/api/queues'));
    const res = await board('/api/queues?activeQueue=send&status=completed&page=1&jobsPerPage=50', 'Bearer sandbox-key');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      queues: Array<{ name: string; type: string; counts: Record<string, number>; jobs: Array<{ id: string }> }>;
    };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['dlr', 'events', 'send']);
    const send = body.queues.find((q) => q.name === 'send');
    expect(send?.type).toBe('bullmq');
    expect(send?.counts['completed']).toBeGreaterThanOrEqual(1);
    expect(send?.jobs.map((j) => j.id)).toContain(id);
  });

  it('pauses and resumes a queue from the board (bodiless PUTs), seen by GET /v1/admin/queues', async () => {
    const paused = async (): Promise<boolean | undefined> => {
      const res = await gw.api('/v1/admin/queues');
      expect(res.status).toBe(200);
      const { queues } = (await res.json()) as { queues: Array<{ name: string; paused: boolean; counts: Record<string, number> }> };
      expect(queues.map((q) => q.name)).toEqual(['send', 'dlr', 'events']);
      for (const q of queues)
        expect(Object.keys(q.counts).sort()).toEqual([
          'active',
          'completed',
          'delayed',
          'failed',
          'prioritized',
          'waiting',
          'waiting-children',
        ]);
      return queues.find((q) => q.name === 'dlr')?.paused;
    };
    expect(await paused()).toBe(false);
    expect((await board('/api/queues/dlr/pause', 'Bearer sandbox-key', { method: 'PUT' })).status).toBe(200);
    expect(await paused()).toBe(true);
    expect((await board('/api/queues/dlr/resume', 'Bearer sandbox-key', { method: 'PUT' })).status).toBe(200);
    expect(await paused()).toBe(false);
  });
});

describe('GET /v1/admin/queues', () => {
  it('needs the admin scope', async () => {
    expect((await fetch(`${gw.apiUrl}/v1/admin/queues`)).status).toBe(401);
    const res = await fetch(`${gw.apiUrl}/v1/admin/queues`, { headers: { authorization: 'Bearer reader-key' } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'SB_AUTH_FORBIDDEN' } });
  });
});
