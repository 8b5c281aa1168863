/**
 * Child processes of the bench: Switchboard roles (`node src/cli.ts <role>`), the baseline's
 * intake and worker, the webhook sink, and an optional private redis-server. Output goes to log
 * files (never through the bench's own event loop), each child is stopped by its own pid, and
 * every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './args.ts';

export interface BenchProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
  /** The last lines of the log, for error messages. */
  tail(lines?: number): string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A port the OS says is free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Only what a child needs: no inherited carrier credentials can flip the gateway to live mode. */
export function baseEnv(): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' };
}

export function spawnProcess(
  name: string,
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  logDir: string,
): BenchProcess {
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  const proc: BenchProcess = {
    name,
    pid: child.pid ?? -1,
    child,
    logFile,
    exited,
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    tail(lines = 20) {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
  return proc;
}

/** `node [nodeArgs] <script> [args]` with the Node running the bench (the pinned one under npm). */
export function spawnNode(
  name: string,
  script: string,
  args: readonly string[],
  env: Record<string, string>,
  logDir: string,
  nodeArgs: readonly string[] = [],
): BenchProcess {
  return spawnProcess(name, process.execPath, [...nodeArgs, script, ...args], env, logDir);
}

/** Polls `url` until it answers 200; fails when the process exits or `timeoutMs` passes. */
export async function waitForOk(url: string, proc: BenchProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null)
      throw new Error(`${proc.name} exited (${proc.child.exitCode}) before ${url} was ready:\n${proc.tail()}`);
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (res !== undefined) await res.arrayBuffer().catch(() => undefined);
    if (res?.status === 200) return;
    await sleep(100);
  }
  throw new Error(`${proc.name}: ${url} not ready within ${timeoutMs} ms:\n${proc.tail()}`);
}

/** Resident set size of a process in MiB (VmRSS of /proc/<pid>/status); undefined once it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used, in ms (/proc/<pid>/stat); undefined once it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is parenthesised and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * (1000 / CLOCK_TICKS) : undefined;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/** CPU ms used by each named group of processes between two snapshots. */
export function cpuSnapshot(groups: Record<string, number[]>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, pids] of Object.entries(groups))
    out.set(
      name,
      pids.reduce((sum, pid) => sum + (cpuMs(pid) ?? 0), 0),
    );
  return out;
}

/**
 * Samples VmRSS of named processes every `intervalMs` while `active`; keeps the peak per name
 * (a process group such as several workers reports its largest member).
 */
export class RssSampler {
  private readonly peaks = new Map<string, number>();
  private readonly targets = new Map<string, number[]>();
  private timer: NodeJS.Timeout | undefined;
  active = false;

  constructor(intervalMs = 500) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  watch(name: string, pids: number[]): void {
    this.targets.set(name, pids);
  }

  sample(): void {
    if (!this.active) return;
    for (const [name, pids] of this.targets) {
      for (const pid of pids) {
        const mb = rssMb(pid);
        if (mb !== undefined && mb > (this.peaks.get(name) ?? 0)) this.peaks.set(name, mb);
      }
    }
  }

  /** Forgets the peaks (each mode reports its own). */
  reset(): void {
    this.peaks.clear();
  }

  peak(name: string): number {
    return this.peaks.get(name) ?? 0;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
