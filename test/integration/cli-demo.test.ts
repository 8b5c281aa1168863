/**
 * The ops CLI against a running gateway: `switchboard demo` (its summary
 * equals what `GET /v1/messages` lists for the run), `send`, `status`, `queues`, `dlq`, and one-line
 * errors when the gateway does not answer. Every command runs as a real child process
 * (`node src/cli.ts …`), the way an operator runs it.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_NAMES } from '../../src/cli/role-names.ts';
import { ROLES } from '../../src/main.ts';
import { freePort } from '../helpers/free-port.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ROOT } from '../helpers/processes.ts';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface View {
  id: string;
  status: string;
  channel: string | null;
  provider: string | null;
  cost: { amount: number };
  attempts: Array<{ channel: string; provider: string; status: string; cost?: { amount: number }; error?: { code: string } }>;
  timeline: Array<{ type: string; detail?: string }>;
  metadata: Record<string, unknown>;
}

let gw: TestGateway;

beforeAll(async () => {
  // All three SMS carriers, so the demo's outage has somewhere to fail over to.
  gw = await startTestGateway({ label: 'clidemo' });
});
afterAll(async () => {
  await gw?.stop();
});

/** Runs `node src/cli.ts <args>` with only the variables given (plus PATH/HOME), bounded in time. */
function cli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`switchboard ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const target = (): string[] => ['--url', gw.apiUrl, '--sandbox-url', gw.sandboxUrl];

async function listRun(since: string, runId: string): Promise<View[]> {
  const out: View[] = [];
  let cursor: string | null = null;
  do {
    const res = await gw.api(`/v1/messages?since=${encodeURIComponent(since)}&limit=100${cursor !== null ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: View[]; nextCursor: string | null };
    out.push(...page.items.filter((m) => m.metadata['demo'] === runId));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

describe('switchboard demo', () => {
  it('ends with a summary whose counts equal what GET /v1/messages lists for the run', async () => {
    const run = await cli(['demo', '--json', ...target()], {}, 120_000);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as {
      runId: string;
      since: string;
      complete: boolean;
      messages: Array<{ id: string; scenario: string }>;
      skipped: Array<{ scenario: string; reason: string }>;
      summary: {
        messages: number;
        byStatus: Record<string, number>;
        byRoute: Array<{
          channel: string;
          provider: string;
          messages: number;
          delivered: number;
          undelivered: number;
          failed: number;
          expired: number;
          pending: number;
          costUsd: number;
        }>;
        attempts: Array<{
          channel: string;
          provider: string;
          attempts: number;
          delivered: number;
          undelivered: number;
          failed: number;
          pending: number;
          costUsd: number;
        }>;
        costUsd: number;
      };
    };
    expect(result.complete).toBe(true);

    const listed = await listRun(result.since, result.runId);
    expect(listed.map((m) => m.id).sort()).toEqual(result.messages.map((m) => m.id).sort());
    expect(result.summary.messages).toBe(listed.length);

    // Recount from the API, independently of the demo's own code.
    const byStatus: Record<string, number> = {};
    for (const m of listed) byStatus[m.status] = (byStatus[m.status] ?? 0) + 1;
    expect(result.summary.byStatus).toEqual(byStatus);
    const routeKey = (m: View): string => `${m.channel ?? 'none'}/${m.provider ?? 'none'}`;
    const routes = new Map<string, { messages: number; delivered: number; cost: number }>();
    for (const m of listed) {
      const r = routes.get(routeKey(m)) ?? { messages: 0, delivered: 0, cost: 0 };
      r.messages++;
      if (m.status === 'delivered') r.delivered++;
      r.cost += m.cost.amount;
      routes.set(routeKey(m), r);
    }
    expect(result.summary.byRoute.map((r) => `${r.channel}/${r.provider}`).sort()).toEqual([...routes.keys()].sort());
    for (const row of result.summary.byRoute) {
      const r = routes.get(`${row.channel}/${row.provider}`);
      expect(row.messages).toBe(r?.messages);
      expect(row.delivered).toBe(r?.delivered);
      expect(row.costUsd).toBeCloseTo(r?.cost ?? -1, 6);
    }
    const attempts = new Map<string, { attempts: number; failed: number; cost: number }>();
    for (const a of listed.flatMap((m) => m.attempts)) {
      const k = `${a.channel}/${a.provider}`;
      const r = attempts.get(k) ?? { attempts: 0, failed: 0, cost: 0 };
      r.attempts++;
      if (a.status === 'failed') r.failed++;
      r.cost += a.cost?.amount ?? 0;
      attempts.set(k, r);
    }
    expect(
      result.summary.attempts
        .map((r) => ({ k: `${r.channel}/${r.provider}`, attempts: r.attempts, failed: r.failed }))
        .sort((a, b) => a.k.localeCompare(b.k)),
    ).toEqual([...attempts].map(([k, r]) => ({ k, attempts: r.attempts, failed: r.failed })).sort((a, b) => a.k.localeCompare(b.k)));
    expect(result.summary.costUsd).toBeCloseTo(
      listed.reduce((s, m) => s + m.cost.amount, 0),
      6,
    );

    // The mix the demo promises, as the API records it.
    const of = (scenario: string): View[] => listed.filter((m) => m.metadata['scenario'] === scenario);
    for (const m of of('push-acked')) expect(m).toMatchObject({ status: 'delivered', channel: 'push', provider: 'fcm' });
    for (const m of of('push-ignored')) {
      expect(m).toMatchObject({ status: 'delivered', channel: 'sms' });
      expect(m.attempts[0]?.error?.code).toBe('SB_PUSH_ACK_TIMEOUT');
      expect(m.timeline.some((t) => t.type === 'fallback' && (t.detail ?? '').startsWith('ack_timeout'))).toBe(true);
    }
    expect(of('landline-voice')).toHaveLength(1);
    const outage = of('outage');
    expect(outage).toHaveLength(4);
    const down = outage[0]?.attempts[0]?.provider;
    for (const m of outage) {
      expect(m.status).toBe('delivered');
      expect(m.provider).not.toBe(down);
    }
    // The outage was lifted again.
    const settings = (await (await gw.sandbox(`/_sandbox/providers/${down}`)).json()) as { settings: { outage?: boolean } };
    expect(settings.settings.outage ?? false).toBe(false);
    // RCS: either served (then it is in the run) or skipped with a reason.
    expect(of('rcs').length + result.skipped.filter((s) => s.scenario === 'rcs').length).toBe(1);
    // WhatsApp is served by the sandbox: delivered there, and SMS at once for a number not on WhatsApp.
    expect(result.skipped.filter((s) => s.scenario === 'whatsapp')).toEqual([]);
    expect(of('whatsapp')).toHaveLength(1);
    for (const m of of('whatsapp')) expect(m).toMatchObject({ status: 'delivered', channel: 'whatsapp' });
    expect(of('whatsapp-not-registered')).toHaveLength(1);
    for (const m of of('whatsapp-not-registered')) {
      expect(m).toMatchObject({ status: 'delivered', channel: 'sms' });
      expect(m.attempts[0]?.error?.code).toBe('SB_WHATSAPP_NOT_REGISTERED');
      expect(m.timeline.some((t) => t.type === 'fallback' && (t.detail ?? '').startsWith('whatsapp_not_registered'))).toBe(true);
    }
  });

  it('prints tables per channel/provider with cost for people', async () => {
    const run = await cli(['demo', ...target()], {}, 120_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/channel\s+provider\s+messages\s+delivered/);
    expect(run.stdout).toMatch(/channel\s+provider\s+attempts/);
    expect(run.stdout).toMatch(/cost USD/);
    expect(run.stdout).toMatch(/^total\s+\d+/m);
    expect(run.stderr).toContain('outage:');
  });
});

describe('switchboard send / status / queues / dlq', () => {
  it('sends, follows the timeline to the SMS fallback and exits 0 on delivery', async () => {
    const token = `cli-silent-${Date.now()}`;
    expect((await gw.sandbox(`/_sandbox/push/${token}`, { method: 'PUT', json: { result: 'ok' } })).status).toBe(200);
    const run = await cli([
      'send',
      '--to',
      '+14155550777',
      '--channels',
      'push,sms',
      '--push-token',
      token,
      '--ack-timeout-ms',
      '1000',
      ...target(),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/fallback\s+sms\/\w+\s+ack_timeout/);
    expect(run.stdout).toContain('DELIVERED');
    const id = /^(msg_[0-9A-Z]{26}) accepted/.exec(run.stdout)?.[1];
    expect(id).toBeDefined();

    const status = await cli(['status', id as string, '--json', ...target()]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual(await (await gw.api(`/v1/messages/${id}`)).json());
  });

  it('exits 1 with the gateway’s code when a send is refused or not delivered', async () => {
    const refused = await cli(['send', '--to', '12', ...target()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/SB_VALIDATION_\w+ \(HTTP 400\)/);
    const failed = await cli(['send', '--to', '+15005550001', '--body', 'hi', '--json', ...target()]);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'failed', error: { code: 'SB_CARRIER_REJECTED' } });
  });

  it('lists queue counts and dead letters, and refuses an unknown replay in one line', async () => {
    const queues = await cli(['queues', '--json', ...target()]);
    expect(queues.code, queues.stderr).toBe(0);
    expect((JSON.parse(queues.stdout) as { queues: Array<{ name: string }> }).queues.map((q) => q.name)).toEqual(['send', 'dlr', 'events']);
    const human = await cli(['queues', ...target()]);
    expect(human.stdout).toMatch(/^send\s+\d+\s+\d+/m);

    const dlq = await cli(['dlq', 'list', '--json', ...target()]);
    expect(dlq.code).toBe(0);
    expect(JSON.parse(dlq.stdout)).toEqual({ items: [] });
    const replay = await cli(['dlq', 'replay', 'evt_01M86MKZJZ2DBN2X4FEYAXFF8G', ...target()]);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toMatch(/^switchboard: the gateway refused: SB_WEBHOOK_DEAD_LETTER_NOT_FOUND \(HTTP 404\)/);
    const noAdmin = await cli(['queues', '--key', 'not-a-key', ...target()]);
    expect(noAdmin.code).toBe(1);
    expect(noAdmin.stderr).toContain('SB_AUTH_UNAUTHORIZED');
  });

  it('says in one line that the gateway is not reachable, and exits 69', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    for (const args of [['status', 'msg_01M86MKZJZ2DBN2X4FEYAXFF8G'], ['queues'], ['send', '--to', '+14155550100'], ['demo']]) {
      const run = await cli([...args, '--url', dead]);
      expect(run.code, args.join(' ')).toBe(69);
      expect(run.stdout).toBe('');
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`cannot reach the gateway at ${dead}`);
      expect(lines[0]).toContain('ECONNREFUSED');
    }
    // The base URL also comes from SWITCHBOARD_URL.
    const fromEnv = await cli(['queues'], { SWITCHBOARD_URL: dead });
    expect(fromEnv.code).toBe(69);
    expect(fromEnv.stderr).toContain(dead);
  });

  it('keeps the role commands: the same names, and unknown ones refused with exit 2', async () => {
    expect([...ROLE_NAMES]).toEqual([...ROLES]);
    const unknown = await cli(['nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown role "nope"');
    const usage = await cli(['send', '--no-such-flag']);
    expect(usage.code).toBe(2);
  });
});
