/**
 * The load generator: `C` keep-alive HTTP clients (one `node:http` Agent, `maxSockets: C`) driving
 * either a closed loop (each client sends its next request when the previous one is answered:
 * throughput) or an open loop (requests leave at a fixed rate whatever the answers: latency, and
 * the lifecycle search). Every request has a timeout, every loop a count and a time limit.
 */
import { Agent, request } from 'node:http';

/** Wall-clock milliseconds with sub-millisecond resolution (comparable with other processes' Date.now()). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

export interface HttpAnswer {
  status: number;
  body: string;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** POSTs JSON over a keep-alive pool of `clients` sockets. */
export class HttpClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly headers: Record<string, string>;
  /** Requests issued and not answered yet (queued in the agent or on the wire). */
  inFlight = 0;

  constructor(baseUrl: string, clients: number, headers: Record<string, string> = {}) {
    const u = new URL(baseUrl);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
    this.headers = headers;
    this.agent = new Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients, scheduling: 'fifo' });
  }

  post(path: string, body: string): Promise<HttpAnswer> {
    this.inFlight += 1;
    return new Promise<HttpAnswer>((resolve) => {
      let settled = false;
      const done = (answer: HttpAnswer): void => {
        if (settled) return;
        settled = true;
        this.inFlight -= 1;
        resolve(answer);
      };
      const req = request(
        {
          host: this.host,
          port: this.port,
          path,
          method: 'POST',
          agent: this.agent,
          headers: { ...this.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', () => done({ status: 0, body: '' }));
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
      req.on('error', () => done({ status: 0, body: '' }));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The `id` of a 202 answer (`{"id": …}`), if any. */
export function idOf(answer: HttpAnswer): string | undefined {
  if (answer.status !== 202 && answer.status !== 200) return undefined;
  try {
    const parsed: unknown = JSON.parse(answer.body);
    if (typeof parsed === 'object' && parsed !== null && 'id' in parsed) {
      const id = (parsed as { id: unknown }).id;
      return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
    }
  } catch {
    // not JSON: counted as a failure by the caller
  }
  return undefined;
}

export interface ClosedLoopResult {
  accepted: number;
  failed: number;
  statuses: Record<string, number>;
  startMs: number;
  /** When the last answer arrived. */
  endMs: number;
}

/** `count` POSTs from `concurrency` clients, each sending its next one when answered. */
export async function closedLoop(opts: {
  client: HttpClient;
  path: string;
  count: number;
  concurrency: number;
  body: (i: number) => string;
  onProgress?: (done: number) => void;
}): Promise<ClosedLoopResult> {
  const { client, path, count, concurrency, body } = opts;
  const statuses: Record<string, number> = {};
  let next = 0;
  let done = 0;
  let accepted = 0;
  const startMs = nowMs();
  async function loop(): Promise<void> {
    while (next < count) {
      const i = next++;
      const answer = await client.post(path, body(i));
      statuses[String(answer.status)] = (statuses[String(answer.status)] ?? 0) + 1;
      if (answer.status === 202) accepted += 1;
      done += 1;
      opts.onProgress?.(done);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, () => loop()));
  return { accepted, failed: count - accepted, statuses, startMs, endMs: nowMs() };
}

export interface OpenLoopSend {
  /** When the request was due (open-loop latency is measured from here, so a slow intake cannot hide its queue). */
  scheduledMs: number;
  id: string | undefined;
  status: number;
}

export interface OpenLoopResult {
  sends: OpenLoopSend[];
  startMs: number;
  /** When the last request was issued. */
  lastIssuedMs: number;
  /** When the last answer arrived. */
  endMs: number;
}

/**
 * Issues `count` POSTs at `rate` per second from `startMs` on, without waiting for answers
 * (requests beyond the pool's sockets queue in the agent, and that wait counts as latency).
 */
export async function openLoop(opts: {
  client: HttpClient;
  path: string;
  rate: number;
  count: number;
  body: (i: number) => string;
  onProgress?: (issued: number) => void;
}): Promise<OpenLoopResult> {
  const { client, path, rate, count, body } = opts;
  const sends: OpenLoopSend[] = [];
  const pending: Promise<void>[] = [];
  const startMs = nowMs();
  const intervalMs = 1000 / rate;
  let fired = 0;
  // Hard stop: twice the planned duration plus a minute, should the event loop stall.
  const deadline = startMs + (count / rate) * 2_000 + 60_000;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const t = nowMs();
      const due = Math.min(count, Math.floor((t - startMs) / intervalMs) + 1);
      while (fired < due) {
        const k = fired++;
        const send: OpenLoopSend = { scheduledMs: startMs + k * intervalMs, id: undefined, status: 0 };
        sends.push(send);
        pending.push(
          client.post(path, body(k)).then((answer) => {
            send.status = answer.status;
            send.id = idOf(answer);
          }),
        );
      }
      opts.onProgress?.(fired);
      if (fired >= count || t > deadline) resolve();
      else setTimeout(tick, Math.max(1, Math.min(10, intervalMs)));
    };
    tick();
  });
  const lastIssuedMs = nowMs();
  await Promise.all(pending);
  return { sends, startMs, lastIssuedMs, endMs: nowMs() };
}
