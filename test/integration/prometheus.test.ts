/**
 * The monitoring stack against a real Prometheus: the `api`, `worker` and `sandbox` roles run as
 * processes, a Prometheus on a loopback port scrapes them every second and loads
 * `config/prometheus/alerts.yml`, traffic goes through the carrier sandbox, and then every
 * dashboard panel query and every alert expression must evaluate, the Overview's first row must
 * show data, promtool must accept the compose configuration and the alert unit tests, and every
 * metric of CONTRACTS §7 must be on a fresh process's `/metrics`.
 *
 * Prometheus and promtool run in a testcontainer when a Docker engine answers, else as the local
 * binaries (Debian package `prometheus`); with neither, the suite skips with a console line locally
 * and fails under CI=true (`.ci/run` installs the binaries).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { generateWebhookSecret } from '../../src/webhooks/webhook-signer.ts';
import { freePort } from '../helpers/free-port.ts';
import { ROOT, spawnRole, waitForOk, type RoleProcess } from '../helpers/processes.ts';
import { findPrometheus, startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.ts';
import { parsePrometheusText, type Sample } from '../helpers/prometheus-text.ts';
import { deletePrefix, TEST_REDIS_URL, testPrefix, testRedis } from '../helpers/redis.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const IN_CI = process.env['CI'] === 'true';
const RUNNER = await findPrometheus();
const HAVE_PROMETHEUS = RUNNER !== undefined;
if (!HAVE_PROMETHEUS && !IN_CI) {
  console.warn(
    'SKIPPED test/integration/prometheus.test.ts: no Docker engine and no `prometheus`/`promtool` on PATH ' +
      '(apt-get install prometheus); under CI=true this fails.',
  );
}

/** CONTRACTS §7, plus `switchboard_redis_up` (the Redis alert's signal). */
const CONTRACT_METRICS: Record<string, { type: 'counter' | 'gauge' | 'histogram'; labels: string[] }> = {
  switchboard_messages_total: { type: 'counter', labels: ['channel', 'provider', 'country', 'outcome'] },
  switchboard_attempts_total: { type: 'counter', labels: ['channel', 'provider', 'status'] },
  switchboard_send_duration_seconds: { type: 'histogram', labels: ['provider', 'channel'] },
  switchboard_accept_to_send_seconds: { type: 'histogram', labels: [] },
  switchboard_delivery_latency_seconds: { type: 'histogram', labels: ['provider', 'channel'] },
  switchboard_fallbacks_total: { type: 'counter', labels: ['from', 'to', 'reason'] },
  switchboard_provider_errors_total: { type: 'counter', labels: ['provider', 'kind'] },
  switchboard_breaker_state: { type: 'gauge', labels: ['provider', 'channel'] },
  switchboard_route_decisions_total: { type: 'counter', labels: ['provider', 'reason'] },
  switchboard_cost_usd_total: { type: 'counter', labels: ['provider', 'country', 'kind'] },
  switchboard_lookup_total: { type: 'counter', labels: ['provider', 'result', 'cache'] },
  switchboard_policy_blocks_total: { type: 'counter', labels: ['reason'] },
  switchboard_otp_verifications_total: { type: 'counter', labels: ['result'] },
  switchboard_webhook_deliveries_total: { type: 'counter', labels: ['result'] },
  switchboard_webhook_dead_letters: { type: 'gauge', labels: [] },
  switchboard_queue_jobs: { type: 'gauge', labels: ['queue', 'state'] },
  switchboard_carrier_callbacks_total: { type: 'counter', labels: ['provider', 'result'] },
  switchboard_redis_up: { type: 'gauge', labels: [] },
};

interface Target {
  expr: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; datasource?: { uid?: string }; definition?: string }> };
}
interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  annotations: Record<string, string>;
}
interface PromResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value?: [number, string] }> };
}

const repoFile = (...p: string[]): string => path.join(ROOT, ...p);
const readJson = async <T>(...p: string[]): Promise<T> => JSON.parse(await readFile(repoFile(...p), 'utf8')) as T;
const readYaml = async <T>(...p: string[]): Promise<T> => parseYaml(await readFile(repoFile(...p), 'utf8')) as T;

/** Grafana's built-in intervals become a fixed window; `$provider` the provider that carried traffic. */
function concrete(expr: string, provider: string): string {
  return expr.replaceAll('$__rate_interval', '30s').replaceAll('$__interval', '30s').replaceAll('$provider', provider);
}

/** The panels between the first row header and the next one. */
function firstRow(d: Dashboard): Panel[] {
  const sorted = [...d.panels].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  const rows = sorted.filter((p) => p.type === 'row');
  const start = rows[0]?.gridPos.y ?? -1;
  const end = rows[1]?.gridPos.y ?? Infinity;
  return sorted.filter((p) => p.type !== 'row' && p.gridPos.y > start && p.gridPos.y < end);
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

if (!HAVE_PROMETHEUS && IN_CI) {
  describe('prometheus binaries under CI', () => {
    it('are installed (.ci/run installs the Debian package prometheus)', () => {
      expect.fail('`prometheus` and `promtool` must be on PATH under CI=true: a missing binary is a failure, not a skip');
    });
  });
}

describe.runIf(HAVE_PROMETHEUS)('Prometheus, dashboards and alerts', () => {
  const prefix = testPrefix('prom');
  const procs: RoleProcess[] = [];
  let receiver: WebhookReceiver;
  let urls: { api: string; sandbox: string; worker: string; prometheus: string };
  let prometheus: PrometheusServer | undefined;
  let fresh: { api: string; worker: string };
  let overview: Dashboard;
  let carrier: Dashboard;
  let rules: AlertRule[];
  let provider = 'twilio';

  async function query(expr: string): Promise<PromResponse> {
    const res = await fetch(`${urls.prometheus}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
    return (await res.json()) as PromResponse;
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await probe();
      if (got !== undefined) return got;
      if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms\n${(prometheus?.log() ?? '').slice(-2_000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  beforeAll(async () => {
    [overview, carrier] = [
      await readJson<Dashboard>('grafana/dashboards/overview.json'),
      await readJson<Dashboard>('grafana/dashboards/carrier.json'),
    ];
    rules = (await readYaml<{ groups: Array<{ rules: AlertRule[] }> }>('config/prometheus/alerts.yml')).groups.flatMap((g) => g.rules);

    receiver = await startWebhookReceiver();
    const [api, sandbox, metrics, prom] = [await freePort(), await freePort(), await freePort(), await freePort()];
    urls = {
      api: `http://127.0.0.1:${api}`,
      sandbox: `http://127.0.0.1:${sandbox}`,
      worker: `http://127.0.0.1:${metrics}`,
      prometheus: `http://127.0.0.1:${prom}`,
    };
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      SWITCHBOARD_REDIS_PREFIX: prefix,
      PORT: String(api),
      SANDBOX_PORT: String(sandbox),
      METRICS_PORT: String(metrics),
      SWITCHBOARD_WEBHOOK_SECRET: generateWebhookSecret(),
    };
    const sb = spawnRole('sandbox', env);
    procs.push(sb);
    await waitForOk(`${urls.sandbox}/_sandbox/healthz`, sb);
    const apiProc = spawnRole('api', env);
    const workerProc = spawnRole('worker', env);
    procs.push(apiProc, workerProc);
    await Promise.all([waitForOk(`${urls.api}/readyz`, apiProc), waitForOk(`${urls.worker}/readyz`, workerProc)]);
    fresh = {
      api: await (await fetch(`${urls.api}/metrics`)).text(),
      worker: await (await fetch(`${urls.worker}/metrics`)).text(),
    };

    // The compose scrape jobs, pointed at the processes above, every second.
    prometheus = await startPrometheus(RUNNER ?? 'binary', {
      port: prom,
      config: (repoPath) => ({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: [repoPath('config/prometheus/alerts.yml')],
        scrape_configs: [
          { job_name: 'switchboard-api', static_configs: [{ targets: [`127.0.0.1:${api}`] }] },
          { job_name: 'switchboard-worker', static_configs: [{ targets: [`127.0.0.1:${metrics}`] }] },
        ],
      }),
    });
    await until(
      'Prometheus did not become ready',
      async () => ((await fetch(`${urls.prometheus}/-/ready`).catch(() => undefined))?.ok ? true : undefined),
      20_000,
    );

    // Traffic: four delivered OTPs and one the carrier refuses, each reported to a webhook receiver.
    const headers = { authorization: 'Bearer sandbox-key', 'content-type': 'application/json' };
    const recipients = ['+14155550601', '+14155550602', '+14155550603', '+14155550604', '+15005550001'];
    const ids = await Promise.all(
      recipients.map(async (to) => {
        const res = await fetch(`${urls.api}/v1/messages`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ to, otp: {}, callbackUrl: receiver.url }),
        });
        expect(res.status).toBe(202);
        return ((await res.json()) as { id: string }).id;
      }),
    );
    await receiver.waitFor(
      (all) =>
        ids.every((id) =>
          all.some((r) => r.body.includes(id) && (r.body.includes('"message.delivered"') || r.body.includes('"message.failed"'))),
        ),
      20_000,
    );
    const carried = await until(
      'no provider carried traffic',
      async () =>
        (await query('topk(1, sum by (provider) (switchboard_attempts_total{status="delivered"}) > 0)')).data?.result[0]?.metric[
          'provider'
        ],
      15_000,
    );
    provider = carried;
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    const codes = await Promise.all(procs.map((p) => p.stop()));
    await receiver?.close();
    const redis = testRedis();
    await deletePrefix(redis, prefix);
    redis.disconnect();
    expect(codes.every((c) => c === 0)).toBe(true);
  }, 30_000);

  it('evaluates every panel query of both dashboards and every alert expression without error', async () => {
    const exprs = [
      ...[overview, carrier].flatMap((d) =>
        d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${d.title} / ${p.title}`, expr: t.expr }))),
      ),
      ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ];
    expect(exprs.length).toBeGreaterThan(30);
    const failures: string[] = [];
    for (const { where, expr } of exprs) {
      const promql = concrete(expr, provider);
      expect(promql, where).not.toContain('$');
      const res = await query(promql);
      if (res.status !== 'success') failures.push(`${where}: ${res.error ?? res.status}\n  ${promql}`);
    }
    expect(failures).toEqual([]);
  });

  it('shows data in every panel of the Overview first row', async () => {
    const row = firstRow(overview);
    expect(row.map((p) => p.title)).toEqual([
      'Send rate by channel and provider',
      'Delivery rate',
      'Accept → send p50 / p95 / p99',
      'Fallback rate push → SMS, RCS → SMS',
      'Breaker states',
    ]);
    const empty = await until(
      'first-row panels kept returning no data',
      async () => {
        const missing: string[] = [];
        for (const panel of row) {
          for (const t of panel.targets ?? []) {
            const res = await query(concrete(t.expr, provider));
            if (res.status !== 'success' || (res.data?.result.length ?? 0) === 0) missing.push(`${panel.title}: ${t.expr}`);
          }
        }
        return missing.length === 0 ? missing : undefined;
      },
      20_000,
    ).catch((err: Error) => [err.message]);
    expect(empty).toEqual([]);
    // The traffic itself shows: a send rate for the provider that carried it, a real delivery share.
    const sent = await query(
      concrete('sum by (channel, provider) (rate(switchboard_attempts_total{status="sent"}[$__rate_interval]))', provider),
    );
    expect(sent.data?.result.some((r) => r.metric['provider'] === provider && r.metric['channel'] === 'sms')).toBe(true);
  });

  it('offers the providers that carried traffic in the Carrier dashboard variable', async () => {
    const variable = carrier.templating.list.find((v) => v.name === 'provider');
    expect(variable?.definition).toMatch(/^label_values\((\w+), provider\)$/);
    const metric = /^label_values\((\w+), provider\)$/.exec(variable?.definition ?? '')?.[1] ?? '';
    const res = (await (
      await fetch(`${urls.prometheus}/api/v1/label/provider/values?${new URLSearchParams({ 'match[]': metric })}`)
    ).json()) as { data: string[] };
    expect(res.data).toContain(provider);
    for (const p of carrier.panels.filter((x) => x.type !== 'row')) {
      for (const t of p.targets ?? []) expect(t.expr, p.title).toContain('provider="$provider"');
    }
  });

  it('loads every alert rule and evaluates it without error', async () => {
    const loaded = await until(
      'rules were not all evaluated',
      async () => {
        const res = (await (await fetch(`${urls.prometheus}/api/v1/rules?type=alert`)).json()) as {
          data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
        };
        const all = res.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
      },
      15_000,
    );
    expect(loaded.map((r) => r.name).sort()).toEqual(rules.map((r) => r.alert).sort());
    expect(loaded.filter((r) => r.health !== 'ok')).toEqual([]);
    // A healthy gateway on a reachable Redis raises neither of these.
    const firing = (await (await fetch(`${urls.prometheus}/api/v1/alerts`)).json()) as {
      data: { alerts: Array<{ labels: Record<string, string> }> };
    };
    expect(firing.data.alerts.map((a) => a.labels['alertname'])).not.toContain('SwitchboardRedisUnavailable');
    expect((await query('min(switchboard_redis_up)')).data?.result[0]?.value?.[1]).toBe('1');
  });

  it('passes promtool on the alert rules, the compose configuration and the alert unit tests', async () => {
    const promtool = (prometheus as PrometheusServer).promtool;
    await expect(promtool(['check', 'rules', 'config/prometheus/alerts.yml'])).resolves.toBeDefined();
    await expect(promtool(['check', 'config', 'config/prometheus/prometheus.yml'])).resolves.toBeDefined();
    const tests = await promtool(['test', 'rules', 'config/prometheus/alerts.test.yml']);
    expect(tests.stdout).toContain('SUCCESS');
  });

  it('exposes every metric of CONTRACTS §7 with its type and labels on fresh api and worker processes', async () => {
    for (const [role, text] of Object.entries(fresh)) {
      const samples = parsePrometheusText(text);
      for (const [name, { type, labels }] of Object.entries(CONTRACT_METRICS)) {
        expect(text, `${role}: ${name}`).toContain(`# TYPE ${name} ${type}\n`);
        const own = samples.filter((s) => s.name === name || s.name.startsWith(`${name}_`));
        for (const s of own)
          expect(
            Object.keys(s.labels)
              .filter((l) => l !== 'le')
              .sort(),
            `${role}: ${s.name}`,
          ).toEqual([...labels].sort());
      }
    }
    // queue_jobs comes from the api role only; every process reports reaching Redis.
    const api = parsePrometheusText(fresh.api);
    expect(api.some((s) => s.name === 'switchboard_queue_jobs' && s.labels['queue'] === 'send')).toBe(true);
    expect(parsePrometheusText(fresh.worker).some((s) => s.name === 'switchboard_queue_jobs')).toBe(false);
    for (const text of Object.values(fresh))
      expect(parsePrometheusText(text).find((s) => s.name === 'switchboard_redis_up')?.value).toBe(1);
  });

  it('buckets latencies in seconds: 1 ms to 10 s for accept to send, up to 120 s for delivery', async () => {
    const samples = parsePrometheusText(await (await fetch(`${urls.worker}/metrics`)).text());
    const bounds = (name: string): number[] =>
      [...new Set(samples.filter((s: Sample) => s.name === `${name}_bucket`).map((s) => Number(s.labels['le'])))]
        .filter(Number.isFinite)
        .sort((a, b) => a - b);
    const acceptToSend = bounds('switchboard_accept_to_send_seconds');
    expect([acceptToSend[0], acceptToSend.at(-1)]).toEqual([0.001, 10]);
    expect(bounds('switchboard_delivery_latency_seconds').at(-1)).toBe(120);
  });

  it('links every alert to a runbook section and gives it a summary and a description', async () => {
    const runbooks = await readFile(repoFile('docs/runbooks.md'), 'utf8');
    const anchors = new Set([...runbooks.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] ?? '')));
    for (const r of rules) {
      expect(r.annotations['summary'], r.alert).toBeTruthy();
      expect(r.annotations['description'], r.alert).toBeTruthy();
      const url = r.annotations['runbook_url'] ?? '';
      expect(url, r.alert).toMatch(/^docs\/runbooks\.md#[a-z0-9-]+$/);
      expect(anchors, `${r.alert} → ${url}`).toContain(url.split('#')[1]);
    }
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'SwitchboardBreakerOpen',
        'SwitchboardDeliveryRateDrop',
        'SwitchboardQueueWaitHigh',
        'SwitchboardWebhookDeadLetters',
        'SwitchboardPumpingBlocksSpike',
        'SwitchboardRedisUnavailable',
      ]),
    );
    expect(rules.find((r) => r.alert === 'SwitchboardBreakerOpen')?.for).toBe('1m');
    expect(rules.find((r) => r.alert === 'SwitchboardPumpingBlocksSpike')?.expr).toContain(
      'switchboard_policy_blocks_total{reason="pumping"}',
    );
  });

  it('keeps both dashboards valid Grafana JSON on the provisioned datasource', async () => {
    const ds = (
      await readYaml<{ datasources: Array<{ uid: string; type: string; url: string }> }>('grafana/provisioning/datasources/prometheus.yml')
    ).datasources;
    expect(ds).toHaveLength(1);
    const uid = ds[0]?.uid;
    expect(ds[0]?.type).toBe('prometheus');
    for (const d of [overview, carrier]) {
      expect(d.schemaVersion, d.title).toBeGreaterThanOrEqual(36);
      expect(d.uid, d.title).toMatch(/^[a-z0-9-]{1,40}$/);
      expect(new Set(d.panels.map((p) => p.id)).size, d.title).toBe(d.panels.length);
      for (const p of d.panels) {
        const g = p.gridPos;
        expect(g.x >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 24, `${d.title} / ${p.title}`).toBe(true);
        if (p.type === 'row') continue;
        expect(p.datasource?.uid, `${d.title} / ${p.title}`).toBe(uid);
        expect(p.targets?.length, `${d.title} / ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets ?? []) {
          expect(t.datasource?.uid, `${d.title} / ${p.title}`).toBe(uid);
          expect(t.refId).toMatch(/^[A-Z]$/);
        }
      }
      // No two panels cover the same cell.
      const cells = new Set<string>();
      for (const p of d.panels) {
        for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
          for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
            expect(cells.has(`${x},${y}`), `${d.title} / ${p.title} overlaps at ${x},${y}`).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
      }
    }
    for (const v of carrier.templating.list) if (v.type === 'query') expect(v.datasource?.uid).toBe(uid);
  });

  it('wires the compose stack: two unpublished workers found by DNS, the provisioned Grafana, Overview as home', async () => {
    interface Service {
      environment?: Record<string, string>;
      ports?: string[];
      volumes?: string[];
      command?: string[];
      deploy?: { replicas?: number };
    }
    const compose = await readYaml<{ services: Record<string, Service> }>('docker-compose.yml');
    const { api, worker, prometheus: promSvc, grafana } = compose.services;
    expect(worker?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(worker?.ports).toBeUndefined();
    const prom = await readYaml<{
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; type: string; port: number }> }>;
    }>('config/prometheus/prometheus.yml');
    expect(prom.rule_files).toEqual(['alerts.yml']);
    const sd = (job: string): { names: string[]; type: string; port: number } | undefined =>
      prom.scrape_configs.find((j) => j.job_name === job)?.dns_sd_configs?.[0];
    expect(sd('switchboard-worker')).toEqual({
      names: ['worker'],
      type: 'A',
      port: Number(worker?.environment?.['METRICS_PORT']),
      refresh_interval: '15s',
    });
    expect(sd('switchboard-api')).toEqual({ names: ['api'], type: 'A', port: Number(api?.environment?.['PORT']), refresh_interval: '15s' });
    expect(promSvc?.volumes).toContain('./config/prometheus:/etc/prometheus:ro');
    expect(promSvc?.command).toContain('--config.file=/etc/prometheus/prometheus.yml');

    // Grafana: every mounted host folder exists, the provider reads the mounted dashboards, home is Overview.
    const mounts = new Map(
      (grafana?.volumes ?? []).map((v) => v.split(':') as [string, string]).map(([host, inContainer]) => [inContainer, host]),
    );
    for (const host of mounts.values()) expect(existsSync(repoFile(host)), host).toBe(true);
    const provider = (await readYaml<{ providers: Array<{ options: { path: string } }> }>('grafana/provisioning/dashboards/dashboards.yml'))
      .providers[0];
    expect(mounts.get(provider?.options.path ?? '')).toBe('./grafana/dashboards');
    expect(mounts.get('/etc/grafana/provisioning')).toBe('./grafana/provisioning');
    const home = grafana?.environment?.['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'] ?? '';
    const homeDir = path.posix.dirname(home);
    expect(mounts.has(homeDir)).toBe(true);
    const homeFile = JSON.parse(await readFile(repoFile(mounts.get(homeDir) ?? '', path.posix.basename(home)), 'utf8')) as Dashboard;
    expect(homeFile.uid).toBe(overview.uid);
    const ds = (await readYaml<{ datasources: Array<{ url: string }> }>('grafana/provisioning/datasources/prometheus.yml')).datasources[0];
    expect(ds?.url).toBe('http://prometheus:9090');
    expect(compose.services['prometheus']).toBeDefined();
  });
});
