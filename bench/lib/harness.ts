/**
 * What both modes share: the processes (carrier sandbox, gateway api + workers, baseline intake +
 * worker), the bench's own Redis connection and key prefixes, recipient numbers, RSS sampling,
 * closed-loop throughput measurement, and the teardown that removes only the bench's own keys.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { redisKeys } from '../../src/store/redis-keys.ts';
import type { BenchOptions } from './args.ts';
import {
  gatewayEnv,
  newWorkDir,
  startGateway,
  startSandbox,
  writeBenchConfigDir,
  type GatewayEnv,
  type RunningGateway,
} from './gateway.ts';
import { closedLoop, HttpClient, nowMs } from './load.ts';
import { Progress } from './progress.ts';
import { baseEnv, cpuSnapshot, freePort, RssSampler, sleep, spawnNode, waitForOk, type BenchProcess } from './processes.ts';
import { commandStats, connectRedis, deletePrefix, diffStats, hasRedisServer, startPrivateRedis } from './redis-tools.ts';
import { SandboxClient } from './sandbox-client.ts';

export interface ThroughputResult {
  /** POSTs answered 202. */
  accepted: number;
  /** Sends the carrier accepted for them. */
  delivered: number;
  /** accepted → carrier: messages at the carrier / (last carrier receipt − first POST). */
  msgPerSec: number;
  /** 202 answers per second while posting. */
  intakePerSec: number;
  statuses: Record<string, number>;
  /** Redis commands per message (INFO commandstats delta, commands inside Lua scripts included). */
  redisCommandsPerMessage: number;
  redisTopCommands: Array<[string, number]>;
  /** CPU ms per message used by each process during the run (/proc/<pid>/stat). */
  cpuMsPerMessage: Record<string, number>;
  /** Window of the run on CLOCK_MONOTONIC (µs), for the CPU profile. */
  monotonicUs: { from: number; to: number };
}

export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

export class Harness {
  readonly opts: BenchOptions;
  readonly progress = new Progress();
  readonly workDir = newWorkDir();
  readonly logDir = join(this.workDir, 'logs');
  readonly prefix = `sbbench-${randomBytes(4).toString('hex')}`;
  readonly baselinePrefix = `${this.prefix}-base`;
  readonly rss = new RssSampler(500);
  redisUrl: string;
  redis!: Redis;
  sandbox!: SandboxClient;
  gateway: RunningGateway | undefined;
  gatewayEnv!: GatewayEnv;
  baselineUrl = '';
  private readonly procs: BenchProcess[] = [];
  private numberSeq = 0;
  private privateRedisDir: string | undefined;
  private sendQueue: Queue | undefined;

  constructor(opts: BenchOptions) {
    this.opts = opts;
    this.redisUrl = opts.redisUrl;
  }

  /** A recipient nobody else used in this bench (valid US numbers; no admission limit is hit). */
  nextNumber(): string {
    const n = this.numberSeq++ % 7_999_999;
    return `+1415${2_000_000 + n}`;
  }

  async start(): Promise<void> {
    if (this.opts.privateRedis) {
      if (!hasRedisServer()) throw new Error('--private-redis: redis-server is not installed');
      const r = await startPrivateRedis(this.logDir);
      this.procs.push(r.proc);
      this.redisUrl = r.url;
      this.privateRedisDir = r.dir;
    }
    this.redis = connectRedis(this.redisUrl);
    try {
      await this.redis.ping();
    } catch {
      throw new Error(`Redis is not reachable at ${this.redisUrl}: start one (redis-server --daemonize yes) or set REDIS_URL`);
    }
    const sandboxPort = await freePort();
    const configDir = writeBenchConfigDir(this.workDir);
    this.gatewayEnv = await gatewayEnv({
      prefix: this.prefix,
      redisUrl: this.redisUrl,
      sandboxPort,
      configDir,
      logLevel: this.opts.logLevel,
    });
    this.progress.note(
      `starting sandbox, gateway (api + ${this.opts.workers} ` +
        `worker${this.opts.workers > 1 ? 's' : ''}) and baseline; logs in ${this.logDir}`,
    );
    const sb = await startSandbox(this.gatewayEnv.env, sandboxPort, this.logDir);
    this.procs.push(sb.proc);
    this.sandbox = new SandboxClient(sb.url);
    await this.sandbox.configure('twilio', { dlr: 'none' });

    this.gateway = await startGateway(this.gatewayEnv, this.opts.workers, this.logDir, this.opts.profileDir);
    this.rss.watch('api', [this.gateway.api.pid]);
    this.rss.watch(
      'worker',
      this.gateway.workers.map((w) => w.pid),
    );
    this.rss.watch('sandbox', [sb.proc.pid]);
    this.sendQueue = new Queue('send', { connection: this.redis, prefix: this.prefix });

    const [intakePort, workerPort] = [await freePort(), await freePort()];
    const env = { ...baseEnv(), REDIS_URL: this.redisUrl, BASELINE_PREFIX: this.baselinePrefix, SANDBOX_URL: sb.url };
    const intake = spawnNode('baseline-intake', 'bench/baseline/intake.ts', [], { ...env, PORT: String(intakePort) }, this.logDir);
    const worker = spawnNode('baseline-worker', 'bench/baseline/worker.ts', [], { ...env, PORT: String(workerPort) }, this.logDir);
    this.procs.push(intake, worker);
    await waitForOk(`http://127.0.0.1:${workerPort}/healthz`, worker);
    this.baselineUrl = `http://127.0.0.1:${intakePort}`;
    await waitForOk(`${this.baselineUrl}/healthz`, intake);
  }

  /** Starts a node script of bench/ as a child that this harness stops at the end. */
  spawnHelper(name: string, script: string, env: Record<string, string>): BenchProcess {
    const p = spawnNode(name, script, [], { ...baseEnv(), ...env }, this.logDir);
    this.procs.push(p);
    return p;
  }

  gatewayBody(extra: Record<string, unknown> = {}): () => string {
    // OTP TTL of an hour: the expiry job of each message must not fire during the bench.
    return () => JSON.stringify({ to: this.nextNumber(), otp: { ttlSeconds: 3_600 }, ...extra });
  }

  baselineBody(): () => string {
    return () => JSON.stringify({ to: this.nextNumber() });
  }

  /** Waits (bounded) until the gateway's send queue has nothing waiting or running. */
  async waitSendQueueIdle(timeoutMs = 120_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const c = await this.sendQueue?.getJobCounts('waiting', 'active', 'prioritized');
      if (c === undefined || (c['waiting'] ?? 0) + (c['active'] ?? 0) + (c['prioritized'] ?? 0) === 0) return true;
      await sleep(200);
    }
    return false;
  }

  /**
   * Closed loop: `messages` POSTs from `clients` keep-alive clients, then waits until the
   * carrier sandbox has accepted a send for each 202 (bounded).
   */
  async throughput(label: string, url: string, headers: Record<string, string>, body: () => string): Promise<ThroughputResult> {
    const { messages, clients } = this.opts;
    const client = new HttpClient(url, clients, headers);
    const c0 = (await this.sandbox.counters()).accepted;
    const stats0 = await commandStats(this.redis);
    const pids = await this.cpuGroups();
    const cpu0 = cpuSnapshot(pids);
    const from = monotonicUs();
    this.progress.start(label, messages);
    let posted = 0;
    let carrier = 0;
    let polling = false;
    const poller = setInterval(() => {
      if (polling) return;
      polling = true;
      this.sandbox
        .counters()
        .then((c) => {
          carrier = c.accepted - c0;
          this.progress.update(carrier, `posted ${posted.toLocaleString('en-US')}`);
        })
        .catch(() => undefined)
        .finally(() => (polling = false));
    }, 250);
    let loop;
    try {
      loop = await closedLoop({
        client,
        path: '/v1/messages',
        count: messages,
        concurrency: clients,
        body: () => body(),
        onProgress: (n) => (posted = n),
      });
    } finally {
      client.close();
    }
    if (loop.accepted === 0) {
      clearInterval(poller);
      const tail = this.gateway && url === this.gateway.apiUrl ? `\n${this.gateway.api.tail(3).slice(0, 2_000)}` : '';
      throw new Error(`${label}: no POST was accepted (${JSON.stringify(loop.statuses)})${tail}`);
    }
    const reached = await this.sandbox.waitForAccepted(c0 + loop.accepted, {
      stallMs: 30_000,
      deadlineMs: Date.now() + 600_000,
      onProgress: (n) => this.progress.update(n - c0, `posted ${posted.toLocaleString('en-US')}`),
    });
    clearInterval(poller);
    const to = monotonicUs();
    const cpu1 = cpuSnapshot(pids);
    const stats1 = await commandStats(this.redis);
    const lastAt = (await this.sandbox.newestAcceptedAt()) ?? nowMs();
    const delivered = reached - c0;
    const seconds = Math.max(0.001, (lastAt - loop.startMs) / 1000);
    const delta = diffStats(stats0, stats1);
    const total = [...delta.values()].reduce((a, b) => a + b, 0);
    const result: ThroughputResult = {
      accepted: loop.accepted,
      delivered,
      msgPerSec: delivered / seconds,
      intakePerSec: loop.accepted / Math.max(0.001, (loop.endMs - loop.startMs) / 1000),
      statuses: loop.statuses,
      redisCommandsPerMessage: delivered > 0 ? total / delivered : 0,
      redisTopCommands: [...delta.entries()].sort((a, b) => b[1] - a[1]),
      monotonicUs: { from, to },
      cpuMsPerMessage: Object.fromEntries(
        [...cpu1.entries()].map(([name, ms]) => [name, delivered > 0 ? (ms - (cpu0.get(name) ?? 0)) / delivered : 0]),
      ),
    };
    const lost = loop.accepted - delivered;
    this.progress.finish(
      `${Math.round(result.msgPerSec).toLocaleString('en-US')} msg/s accept→carrier ` +
        `(intake ${Math.round(result.intakePerSec).toLocaleString('en-US')} 202/s)` +
        (loop.failed > 0 ? `; ${loop.failed} POSTs failed ${JSON.stringify(loop.statuses)}` : '') +
        (lost > 0 ? `; ${lost} accepted messages never reached the carrier` : ''),
    );
    return result;
  }

  /**
   * Unmeasured warm-up (JIT, connection pools, Redis scripts loaded): a closed loop of
   * min(1,000, messages / 10) messages, at least 50, through `url`, waited for at the carrier.
   */
  async warmup(label: string, url: string, headers: Record<string, string>, body: () => string): Promise<void> {
    const count = Math.min(1_000, Math.max(50, Math.round(this.opts.messages / 10)));
    const client = new HttpClient(url, this.opts.clients, headers);
    const c0 = (await this.sandbox.counters()).accepted;
    this.progress.start(`warm-up: ${label}`, count);
    try {
      const loop = await closedLoop({
        client,
        path: '/v1/messages',
        count,
        concurrency: this.opts.clients,
        body: () => body(),
        onProgress: (n) => this.progress.update(n),
      });
      await this.sandbox.waitForAccepted(c0 + loop.accepted, { stallMs: 15_000, deadlineMs: Date.now() + 120_000 });
      this.progress.finish(`${loop.accepted} messages`);
    } finally {
      client.close();
    }
  }

  /** Stops every process (by its own pid) and deletes the bench's keys (SCAN + DEL of its prefixes). */
  async stop(): Promise<void> {
    this.rss.stop();
    await this.sendQueue?.close().catch(() => undefined);
    await this.gateway?.stop().catch(() => undefined);
    this.gateway = undefined;
    const redisProc = this.procs.find((p) => p.name === 'redis');
    await Promise.all(this.procs.filter((p) => p !== redisProc).map((p) => p.stop(10_000)));
    if (this.redis) {
      for (const prefix of [this.prefix, this.baselinePrefix]) await deletePrefix(this.redis, prefix).catch(() => 0);
      this.redis.disconnect();
    }
    await redisProc?.stop(5_000);
    if (this.privateRedisDir !== undefined) rmSync(this.privateRedisDir, { recursive: true, force: true });
    if (!this.opts.keepLogs) rmSync(this.workDir, { recursive: true, force: true });
  }

  /** Every process of the bench by role, plus Redis when it runs on this machine (INFO server process_id). */
  async cpuGroups(): Promise<Record<string, number[]>> {
    const out: Record<string, number[]> = { ...this.processPids() };
    const sandbox = this.procs.find((p) => p.name === 'sandbox');
    if (sandbox) out['sandbox'] = [sandbox.pid];
    const m = /process_id:(\d+)/.exec(await this.redis.info('server').catch(() => ''));
    const host = new URL(this.redisUrl).hostname;
    if (m && (host === '127.0.0.1' || host === 'localhost' || host === '::1')) out['redis'] = [Number(m[1])];
    return out;
  }

  /** Pids of the processes talking to Redis, by name (for MONITOR attribution). */
  processPids(): Record<string, number[]> {
    const out: Record<string, number[]> = { bench: [process.pid] };
    if (this.gateway) {
      out['api'] = [this.gateway.api.pid];
      out['worker'] = this.gateway.workers.map((w) => w.pid);
    }
    for (const p of this.procs) if (p.name.startsWith('baseline')) out[p.name] = [p.pid];
    return out;
  }

  /** The gateway's non-BullMQ keys (outbox list) for backlog checks. */
  get keys(): ReturnType<typeof redisKeys> {
    return redisKeys(this.prefix);
  }
}
