/**
 * Command line of `npm run bench` (bench/run.ts). Every option has a default so that a plain
 * `npm run bench` measures what docs/performance.md reports.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type BenchMode = 'send' | 'lifecycle';

export interface BenchOptions {
  /** Messages per closed-loop throughput run (send mode) and cap of each latency step. */
  messages: number;
  /** Keep-alive HTTP clients (sockets) driving the load. */
  clients: number;
  modes: BenchMode[];
  runs: number;
  /** Gateway worker processes (the baseline always has one). */
  workers: number;
  /** Open-loop rates (msg/s) of the latency steps. */
  latencyRates: number[];
  /** Length of each open-loop latency step (capped at `messages` messages). */
  latencySeconds: number;
  /** Lifecycle search: length of each short step. */
  stepSeconds: number;
  /** Lifecycle: length of the final confirmation at the found rate. */
  holdSeconds: number;
  /** Lifecycle: how long after load stops every queue must be empty and every webhook received. */
  drainSeconds: number;
  /** Where the JSON goes (the lifecycle result of a two-mode run goes beside it, `.lifecycle.json`). */
  out: string;
  redisUrl: string;
  /** Start a private `redis-server` on a free loopback port instead of using REDIS_URL. */
  privateRedis: boolean;
  /** Directory for `--cpu-prof` profiles of the api and worker (send mode); implies one run and a private Redis. */
  profileDir: string | undefined;
  /** LOG_LEVEL of the gateway's processes. */
  logLevel: string;
  /** Keep the role logs (temp dir) after the run. */
  keepLogs: boolean;
}

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const USAGE = `usage: npm run bench -- [options]

  --messages N        messages per throughput run (default 20000)
  --clients C         keep-alive HTTP clients (default 10)
  --mode M            send | lifecycle | both (default both)
  --runs R            runs per mode; the table shows the median (default 3)
  --workers K         gateway worker processes (default 1)
  --latency-rates L   open-loop rates for the latency steps (default 500,1000,2000)
  --latency-seconds S length of each latency step (default 3)
  --step-seconds S    lifecycle search step length (default 5)
  --hold-seconds S    lifecycle confirmation length (default 60)
  --drain-seconds S   lifecycle drain limit after load stops (default 10)
  --out FILE          result file (default bench-results.json at the repository root)
  --private-redis     run a private redis-server on a free port (clean INFO commandstats)
  --profile DIR       send mode (or --mode lifecycle), one run, private Redis: --cpu-prof profiles of api and worker
                      in DIR, summarised, plus Redis round trips per message (MONITOR);
                      the JSON goes to DIR/bench-results.json unless --out is given
  --log-level L       LOG_LEVEL of the gateway processes (default info)
  --keep-logs         keep the processes' logs
`;

/** Thrown for a bad command line; the message says what is wrong. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function positiveInt(name: string, value: string | undefined, max: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`${name}: expected an integer between 1 and ${max}, got "${value ?? ''}"`);
  return n;
}

export function parseArgs(argv: readonly string[], env: Record<string, string | undefined> = process.env): BenchOptions {
  const opts: BenchOptions = {
    messages: 20_000,
    clients: 10,
    modes: ['send', 'lifecycle'],
    runs: 3,
    workers: 1,
    latencyRates: [500, 1000, 2000],
    latencySeconds: 3,
    stepSeconds: 5,
    holdSeconds: 60,
    drainSeconds: 10,
    out: resolve(REPO_ROOT, 'bench-results.json'),
    redisUrl: env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    privateRedis: false,
    profileDir: undefined,
    logLevel: 'info',
    keepLogs: false,
  };
  let runsGiven = false;
  let outGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? (arg.split(/=(.*)/s, 2) as [string, string]) : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--messages':
        opts.messages = positiveInt(flag, value(), 10_000_000);
        break;
      case '--clients':
        opts.clients = positiveInt(flag, value(), 1_000);
        break;
      case '--mode': {
        const m = value();
        if (m === 'send' || m === 'lifecycle') opts.modes = [m];
        else if (m === 'both') opts.modes = ['send', 'lifecycle'];
        else throw new UsageError(`--mode: expected send, lifecycle or both, got "${m ?? ''}"`);
        break;
      }
      case '--runs':
        opts.runs = positiveInt(flag, value(), 20);
        runsGiven = true;
        break;
      case '--workers':
        opts.workers = positiveInt(flag, value(), 16);
        break;
      case '--latency-rates': {
        const v = value() ?? '';
        const rates = v.split(',').map((s) => Number(s.trim()));
        if (rates.length === 0 || rates.some((r) => !Number.isInteger(r) || r < 1 || r > 100_000))
          throw new UsageError(`--latency-rates: expected e.g. 500,1000,2000, got "${v}"`);
        opts.latencyRates = rates;
        break;
      }
      case '--latency-seconds':
        opts.latencySeconds = positiveInt(flag, value(), 600);
        break;
      case '--step-seconds':
        opts.stepSeconds = positiveInt(flag, value(), 600);
        break;
      case '--hold-seconds':
        opts.holdSeconds = positiveInt(flag, value(), 3_600);
        break;
      case '--drain-seconds':
        opts.drainSeconds = positiveInt(flag, value(), 600);
        break;
      case '--out': {
        const v = value();
        if (v === undefined || v === '') throw new UsageError('--out: expected a file name');
        opts.out = resolve(v);
        outGiven = true;
        break;
      }
      case '--private-redis':
        opts.privateRedis = true;
        break;
      case '--profile': {
        const v = value();
        if (v === undefined || v === '') throw new UsageError('--profile: expected a directory');
        opts.profileDir = resolve(v);
        break;
      }
      case '--log-level': {
        const v = value();
        if (v === undefined || !['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v))
          throw new UsageError(`--log-level: not a pino level: "${v ?? ''}"`);
        opts.logLevel = v;
        break;
      }
      case '--keep-logs':
        opts.keepLogs = true;
        break;
      case '--help':
      case '-h':
        throw new UsageError('');
      default:
        throw new UsageError(`unknown option "${arg}"`);
    }
  }
  if (opts.profileDir !== undefined) {
    // MONITOR and clean commandstats need a Redis nobody else uses.
    opts.privateRedis = true;
    // A profiling run is not the measurement: its JSON stays beside the profiles.
    if (!outGiven) opts.out = resolve(opts.profileDir, 'bench-results.json');
    // Send mode unless lifecycle mode alone was asked for (then the profiles cover the whole run).
    if (!(opts.modes.length === 1 && opts.modes[0] === 'lifecycle')) opts.modes = ['send'];
    if (!runsGiven) opts.runs = 1;
  }
  return opts;
}
