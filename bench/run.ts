/**
 * `npm run bench -- --messages N --clients C --mode send|lifecycle|both`: starts the carrier
 * sandbox, the gateway (api + worker processes) and the fixed baseline against REDIS_URL under
 * the bench's own key prefix, measures, prints a table and writes bench-results.json
 * (CONTRACTS §8). Method and figures: docs/performance.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs, USAGE, UsageError, type BenchMode, type BenchOptions } from './lib/args.ts';
import { profileMarkdown, summariseProfile } from './lib/cpu-profile.ts';
import { Harness } from './lib/harness.ts';
import { closedLoop, HttpClient } from './lib/load.ts';
import { monitorDuring } from './lib/redis-monitor.ts';
import { connectedClients, redisPersistence } from './lib/redis-tools.ts';
import { KANNEL_REFERENCE_MSG_PER_SEC, machine, table, type BenchResult, type Cell } from './lib/report.ts';
import { median, medianPercentiles, round } from './lib/stats.ts';
import { lifecycleMode, type LifecycleOutcome } from './lifecycle-mode.ts';
import { GATEWAY_HEADERS, sendModeBody, sendRun, type SendRun } from './send-mode.ts';

function resultFile(opts: BenchOptions, mode: BenchMode): string {
  if (opts.modes.length === 1 || mode === 'send') return opts.out;
  return opts.out.replace(/(\.json)?$/, '.lifecycle.json');
}

const ms = (n: number): string => n.toFixed(1);

function sendReport(h: Harness, runs: SendRun[], persistence: string): BenchResult {
  const gw = median(runs.map((r) => r.gateway.msgPerSec));
  const base = median(runs.map((r) => r.baseline.msgPerSec));
  const latencyMs: BenchResult['pipeline']['latencyMs'] = {};
  for (const rate of h.opts.latencyRates) {
    const steps = runs.flatMap((r) => r.latency.filter((s) => s.rate === rate).map((s) => s.latency));
    const m = medianPercentiles(steps);
    latencyMs[String(rate)] = { p50: round(m.p50), p95: round(m.p95), p99: round(m.p99) };
  }
  const result: BenchResult = {
    mode: 'send',
    runs: runs.length,
    redisPersistence: persistence,
    pipeline: {
      throughputMsgPerSec: round(gw),
      latencyMs,
      rssMb: { api: round(h.rss.peak('api')), worker: round(h.rss.peak('worker')), sandbox: round(h.rss.peak('sandbox')) },
    },
    baseline: { throughputMsgPerSec: round(base) },
    ratioToBaseline: base > 0 ? round(gw / base, 3) : 0,
    machine: machine(),
  };

  const header: Cell[] = ['send mode', ...runs.map((_, i) => `run ${i + 1}`), 'median'];
  const col = (f: (r: SendRun) => number, fmt: (n: number) => Cell = (n) => Math.round(n)): Cell[] => [
    ...runs.map((r) => fmt(f(r))),
    fmt(median(runs.map(f))),
  ];
  const rows: Cell[][] = [
    ['gateway accept→carrier (msg/s)', ...col((r) => r.gateway.msgPerSec)],
    ['gateway intake (202/s)', ...col((r) => r.gateway.intakePerSec)],
    ['baseline accept→carrier (msg/s)', ...col((r) => r.baseline.msgPerSec)],
    [
      'gateway / baseline',
      ...col(
        (r) => r.gateway.msgPerSec / r.baseline.msgPerSec,
        (n) => n.toFixed(3),
      ),
    ],
    [
      `gateway / Kannel ref. (${KANNEL_REFERENCE_MSG_PER_SEC.toLocaleString('en-US')}*)`,
      ...col(
        (r) => r.gateway.msgPerSec / KANNEL_REFERENCE_MSG_PER_SEC,
        (n) => n.toFixed(3),
      ),
    ],
    [
      'Redis cmds/msg gateway',
      ...col(
        (r) => r.gateway.redisCommandsPerMessage,
        (n) => n.toFixed(1),
      ),
    ],
    [
      'Redis cmds/msg baseline',
      ...col(
        (r) => r.baseline.redisCommandsPerMessage,
        (n) => n.toFixed(1),
      ),
    ],
  ];
  for (const rate of h.opts.latencyRates) {
    const pick = (r: SendRun): { p50: number; p95: number; p99: number; issuedRate: number; missing: number } | undefined => {
      const s = r.latency.find((x) => x.rate === rate);
      return s ? { ...s.latency, issuedRate: s.issuedRate, missing: s.missing } : undefined;
    };
    rows.push([
      `latency @${rate}/s p50/p95/p99 (ms)`,
      ...runs.map((r) => {
        const p = pick(r);
        return p ? `${ms(p.p50)}/${ms(p.p95)}/${ms(p.p99)}${p.missing > 0 ? ` (${p.missing} missing)` : ''}` : '-';
      }),
      `${ms(latencyMs[String(rate)]?.p50 ?? 0)}/${ms(latencyMs[String(rate)]?.p95 ?? 0)}/${ms(latencyMs[String(rate)]?.p99 ?? 0)}`,
    ]);
  }
  rows.push([
    'peak RSS api/worker/sandbox (MiB)',
    ...runs.map(() => ''),
    `${Math.round(h.rss.peak('api'))}/${Math.round(h.rss.peak('worker'))}/${Math.round(h.rss.peak('sandbox'))}`,
  ]);
  process.stdout.write(`\n${table(header, rows)}\n`);
  process.stdout.write(
    `* Kannel 1.4.5 (Debian; HTTP sendsms → fake SMSC, 10 clients) measured separately on this machine; not run by this harness.\n`,
  );
  const cpuLine = (label: string, pick: (r: SendRun) => Record<string, number>, names: string[]): string =>
    `${label}: ${names
      .map((n) => `${n} ${median(runs.map((r) => pick(r)[n] ?? 0)).toFixed(3)}`)
      .join(', ')} (sum ${median(runs.map((r) => names.reduce((a, n) => a + (pick(r)[n] ?? 0), 0))).toFixed(3)})`;
  const gatewayCpu = cpuLine('gateway', (r) => r.gateway.cpuMsPerMessage, ['api', 'worker', 'sandbox', 'redis', 'bench']);
  const baselineCpu = cpuLine('baseline', (r) => r.baseline.cpuMsPerMessage, [
    'baseline-intake',
    'baseline-worker',
    'sandbox',
    'redis',
    'bench',
  ]);
  process.stdout.write(
    `CPU ms per message (median of runs; /proc/<pid>/stat over the throughput run)\n  ${gatewayCpu}\n  ${baselineCpu}\n`,
  );
  const top = runs[runs.length - 1]?.gateway.redisTopCommands ?? [];
  if (top.length > 0) {
    const n = runs[runs.length - 1]?.gateway.delivered ?? 1;
    process.stdout.write(
      `Redis commands per gateway message (last run): ${top
        .slice(0, 12)
        .map(([c, k]) => `${c} ${(k / n).toFixed(2)}`)
        .join(', ')}\n`,
    );
  }
  return result;
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message ? `${err.message}\n\n` : ''}${USAGE}`);
      return err.message ? 2 : 0;
    }
    throw err;
  }
  if (opts.profileDir !== undefined) mkdirSync(opts.profileDir, { recursive: true });
  const h = new Harness(opts);
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    h.progress.note('interrupted: stopping processes and removing the bench keys…');
    void h.stop().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const load = (): string =>
    loadavg()
      .map((n) => n.toFixed(2))
      .join(' ');
  try {
    await h.start();
    const persistence = await redisPersistence(h.redis);
    const others = await connectedClients(h.redis);
    h.progress.note(
      `Redis ${h.redisUrl} (persistence ${persistence}, ${others} clients connected); prefix ${h.prefix}; ` +
        `${opts.messages.toLocaleString('en-US')} messages, ${opts.clients} clients; load ${load()}`,
    );
    const sendRuns: SendRun[] = [];
    for (const mode of opts.modes) {
      h.rss.reset();
      let result: BenchResult;
      if (mode === 'send') {
        for (let i = 1; i <= opts.runs; i++) sendRuns.push(await sendRun(h, i));
        result = sendReport(h, sendRuns, persistence);
        if (opts.profileDir !== undefined) await profileReport(h, sendRuns);
      } else {
        const outcome: LifecycleOutcome = await lifecycleMode(
          h,
          sendRuns.map((r) => r.baseline),
        );
        result = { ...outcome.result, redisPersistence: persistence };
        if (opts.profileDir !== undefined) await lifecycleProfileReport(h, opts.profileDir);
      }
      const file = resultFile(opts, mode);
      writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(`wrote ${file}\n`);
    }
    process.stdout.write(`load average at the end: ${load()}\n`);
    return 0;
  } finally {
    await h.stop();
  }
}

/** Stops the gateway so `--cpu-prof` writes its profiles, then summarises them over the gateway's throughput window. */
async function profileReport(h: Harness, runs: SendRun[]): Promise<void> {
  const dir = h.opts.profileDir;
  const last = runs[runs.length - 1];
  if (dir === undefined || last === undefined) return;
  // Round trips per message by process: MONITOR over a separate, unmeasured batch of each.
  const sample = Math.min(500, h.opts.messages);
  const monitorLine = async (
    label: string,
    url: string,
    headers: Record<string, string>,
    body: () => string,
    names: string[],
  ): Promise<string> => {
    const c0 = (await h.sandbox.counters()).accepted;
    const counts = await monitorDuring(h.redisUrl, h.processPids(), async () => {
      const client = new HttpClient(url, h.opts.clients, headers);
      try {
        const loop = await closedLoop({ client, path: '/v1/messages', count: sample, concurrency: h.opts.clients, body: () => body() });
        await h.sandbox.waitForAccepted(c0 + loop.accepted, { stallMs: 15_000, deadlineMs: Date.now() + 120_000 });
        await h.waitSendQueueIdle(30_000);
      } finally {
        client.close();
      }
    });
    const per = (n: number): string => (n / sample).toFixed(2);
    const rows = names.map((name) => {
      const cmds = [...(counts.byProcessCommand.get(name) ?? new Map<string, number>()).entries()].sort((a, b) => b[1] - a[1]);
      return `| ${label} ${name} | ${per(counts.byProcess.get(name) ?? 0)} | ${cmds
        .slice(0, 10)
        .map(([c, n]) => `${c} ${per(n)}`)
        .join(', ')} |`;
    });
    const lua = [...counts.luaByCommand.entries()].sort((a, b) => b[1] - a[1]);
    rows.push(
      `| ${label} inside Lua scripts | ${per(counts.lua)} | ${lua
        .slice(0, 10)
        .map(([c, n]) => `${c} ${per(n)}`)
        .join(', ')} |`,
    );
    const other = counts.byProcess.get('other') ?? 0;
    if (other > 0) rows.push(`| ${label} unattributed clients | ${per(other)} | |`);
    return rows.join('\n');
  };
  const gwRows = await monitorLine('gateway', h.gateway?.apiUrl ?? '', GATEWAY_HEADERS, sendModeBody(h), ['api', 'worker', 'bench']);
  const baseRows = await monitorLine('baseline', h.baselineUrl, {}, h.baselineBody(), ['baseline-intake', 'baseline-worker']);
  await h.gateway?.stop();
  h.gateway = undefined;
  const window = { fromUs: last.gateway.monotonicUs.from, toUs: last.gateway.monotonicUs.to };
  writeFileSync(join(dir, 'window.json'), `${JSON.stringify({ ...window, messages: last.gateway.delivered })}\n`);
  const parts: string[] = [];
  for (const name of ['api', 'worker']) {
    const file = join(dir, `${name}.cpuprofile`);
    try {
      parts.push(
        profileMarkdown(
          `${name} (${last.gateway.delivered.toLocaleString('en-US')} messages)`,
          summariseProfile(file, window),
          last.gateway.delivered,
        ),
      );
    } catch (err) {
      parts.push(`#### ${name}\n\nno profile: ${(err as Error).message}\n`);
    }
  }
  parts.push(
    `#### Redis commands per message (INFO commandstats delta over the gateway run; commands inside Lua scripts included)\n\n` +
      `total ${last.gateway.redisCommandsPerMessage.toFixed(1)} per message ` +
      `(baseline ${last.baseline.redisCommandsPerMessage.toFixed(1)})\n\n` +
      `| command | per message |\n|---|---:|\n` +
      last.gateway.redisTopCommands
        .slice(0, 20)
        .map(([c, n]) => `| ${c} | ${(n / Math.max(1, last.gateway.delivered)).toFixed(2)} |`)
        .join('\n') +
      '\n',
  );
  parts.push(
    `#### Redis round trips per message (MONITOR over a separate batch of ${sample}; ` +
      `commands a client sends, pipelined or not, and commands run inside Lua)\n\n` +
      `| process | commands / message | most frequent (per message) |\n|---|---:|---|\n${gwRows}\n${baseRows}\n`,
  );
  const md = parts.join('\n');
  writeFileSync(join(dir, 'summary.md'), md);
  process.stdout.write(`\n${md}\nprofile summary written to ${join(dir, 'summary.md')}\n`);
}

/** Lifecycle mode with `--profile`: each process's profile summarised over its whole life (search, hold, bursts). */
async function lifecycleProfileReport(h: Harness, dir: string): Promise<void> {
  await h.gateway?.stop();
  h.gateway = undefined;
  const parts = ['api', 'worker'].map((name) => {
    try {
      return profileMarkdown(`${name} (lifecycle mode, whole run)`, summariseProfile(join(dir, `${name}.cpuprofile`)), 0);
    } catch (err) {
      return `#### ${name}\n\nno profile: ${(err as Error).message}\n`;
    }
  });
  const md = parts.join('\n');
  writeFileSync(join(dir, 'summary.md'), md);
  process.stdout.write(`\n${md}\nprofile summary written to ${join(dir, 'summary.md')}\n`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
