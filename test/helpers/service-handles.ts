/**
 * The handles the test helpers hand out for a Redis or Prometheus of their own, and the Redis
 * readiness probe, in a module of their own so the local-binary helpers and the container helpers
 * (containers.ts, imported lazily) share them without importing each other.
 */
import { Redis } from 'ioredis';

export interface OwnRedis {
  url: string;
  port: number;
  dir: string;
  /** Starts the server (again) on the same port and data folder; resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGTERM: Redis flushes the AOF and exits; resolves with its exit code. */
  stop(): Promise<number | null>;
  /**
   * SIGKILL: Redis dies at once, without a shutdown; what it wrote to the AOF so far (every reply
   * it sent, already handed to the OS) is what `start()` loads again. Resolves once it is gone.
   */
  kill(): Promise<void>;
  /** Stops it (if running) and deletes its data folder. */
  destroy(): Promise<void>;
}

/** A running Prometheus, however it was started. */
export interface PrometheusServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** What it printed so far, for failure messages. */
  log(): string;
  /** Runs promtool in the repository root (paths repo-relative); rejects on a non-zero exit. */
  promtool(args: string[]): Promise<{ stdout: string }>;
  stop(): Promise<void>;
}

/** Resolves once the Redis at host:port answers PING with PONG (not -LOADING); rejects after `timeoutMs`. */
export async function pingable(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const client = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      // Loading the AOF answers -LOADING; wait for a real PONG.
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server at ${host}:${port} did not answer within ${timeoutMs} ms`);
}
