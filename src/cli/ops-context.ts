/**
 * What every ops command shares: where the gateway (and its carrier sandbox) is, which key to
 * use, how to print, and how failures become one clear line and an exit code.
 *
 * Ops commands talk to a running gateway over HTTP only — the same API operators and scripts use —
 * so they work against any deployment the operator can reach, and need no Redis credentials.
 */
import { SwitchboardClient, SwitchboardError } from '../client.ts';

/** Exit codes (sysexits where one fits): scripts can tell "gateway down" from "message failed" from "still running". */
export const EXIT = { ok: 0, failed: 1, usage: 2, pending: 3, unreachable: 69 } as const;

/** A problem the user can fix (bad flags, unknown command): printed as is, exit 2 unless told. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** The gateway or the sandbox did not answer at all. */
export class UnreachableError extends Error {
  readonly url: string;
  constructor(what: string, url: string, cause: string, hint: string) {
    super(`cannot reach the ${what} at ${url} (${cause}). ${hint}`);
    this.name = 'UnreachableError';
    this.url = url;
  }
}

/** Resolved connection settings and output mode of one CLI invocation. */
export interface OpsContext {
  apiUrl: string;
  sandboxUrl: string;
  apiKey: string;
  json: boolean;
  client: SwitchboardClient;
  /** JSON calls outside the typed client (admin routes, list, sandbox scenario API). */
  http: OpsHttp;
  /** One line (or block) to stdout. */
  out: (text: string) => void;
  /** One line to stderr (progress notes, errors). */
  err: (text: string) => void;
  /** Raw text to stderr, no newline (a progress bar redrawing in place). */
  errRaw: (text: string) => void;
  /** Whether stderr is a terminal (live progress redraws in place only there). */
  interactive: boolean;
}

/** Environment variables that configure the CLI (CONTRACTS §5 names, plus the key). */
export interface OpsEnv {
  SWITCHBOARD_URL?: string;
  SWITCHBOARD_API_KEY?: string;
  SWITCHBOARD_SANDBOX_URL?: string;
  PORT?: string;
  SANDBOX_PORT?: string;
}

const trimSlash = (u: string): string => u.replace(/\/+$/, '');

/** `--url` > `SWITCHBOARD_URL` > `http://127.0.0.1:$PORT` (3000); the key: `--key` > `SWITCHBOARD_API_KEY` > `sandbox-key`. */
export function resolveTarget(
  flags: { url?: string | undefined; key?: string | undefined; sandboxUrl?: string | undefined },
  env: OpsEnv,
): { apiUrl: string; apiKey: string; sandboxUrl: string } {
  const apiUrl = trimSlash(flags.url ?? env.SWITCHBOARD_URL ?? `http://127.0.0.1:${env.PORT ?? '3000'}`);
  const sandboxUrl = trimSlash(flags.sandboxUrl ?? env.SWITCHBOARD_SANDBOX_URL ?? `http://127.0.0.1:${env.SANDBOX_PORT ?? '3100'}`);
  for (const [name, value] of [
    ['--url', apiUrl],
    ['--sandbox-url', sandboxUrl],
  ] as const) {
    if (!/^https?:\/\/[^/\s]+/.test(value)) throw new CliUsageError(`${name} must be an http(s) URL, got "${value}"`);
  }
  return { apiUrl, apiKey: flags.key ?? env.SWITCHBOARD_API_KEY ?? 'sandbox-key', sandboxUrl };
}

/**
 * Minimal JSON-over-HTTP for the routes `SwitchboardClient` does not cover. Refusals become the
 * same `SwitchboardError` the client throws; no answer at all becomes `UnreachableError`.
 */
export class OpsHttp {
  private readonly apiUrl: string;
  private readonly sandboxUrl: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;

  constructor(opts: { apiUrl: string; sandboxUrl: string; apiKey: string; timeoutMs?: number }) {
    this.apiUrl = opts.apiUrl;
    this.sandboxUrl = opts.sandboxUrl;
    this.apiKey = opts.apiKey;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** A call to the gateway's API with the key. */
  api<T>(method: string, path: string, json?: unknown): Promise<T> {
    return this.call<T>('gateway', this.apiUrl, method, path, json, true);
  }

  /** A call to the carrier sandbox's scenario API (CONTRACTS §6; no key). */
  sandbox<T>(method: string, path: string, json?: unknown): Promise<T> {
    return this.call<T>('carrier sandbox', this.sandboxUrl, method, path, json, false);
  }

  private async call<T>(what: string, base: string, method: string, path: string, json: unknown, withKey: boolean): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (withKey) headers['authorization'] = `Bearer ${this.apiKey}`;
    if (json !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new UnreachableError(what, base, describeNetworkError(err), what === 'gateway' ? GATEWAY_HINT : SANDBOX_HINT);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.ok) return body as T;
    const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    throw new SwitchboardError(
      res.status,
      typeof error?.code === 'string' ? error.code : `HTTP_${res.status}`,
      typeof error?.message === 'string' ? error.message : `${method} ${path} answered ${res.status}`,
      error?.details,
    );
  }
}

export const GATEWAY_HINT = 'Start it with `npm start`, or point --url / SWITCHBOARD_URL at it.';
export const SANDBOX_HINT =
  'The demo drives the carrier sandbox: run the gateway in sandbox mode ' +
  '(`npm start`), or point --sandbox-url / SWITCHBOARD_SANDBOX_URL at it.';

/** The innermost cause of a fetch failure (`ECONNREFUSED`, a DNS error, a timeout), for one line. */
export function describeNetworkError(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'no answer within the timeout';
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error && e.cause !== undefined; depth++) e = e.cause;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

/**
 * Turns any failure of an ops command into one line on stderr and an exit code: the gateway not
 * answering (69), a refusal with its `SB_*` code (1), a usage problem (2).
 */
export function reportFailure(err: unknown, ctx: Pick<OpsContext, 'apiUrl' | 'err'>): number {
  if (err instanceof CliUsageError) {
    ctx.err(`switchboard: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof UnreachableError) {
    ctx.err(`switchboard: ${err.message}`);
    return EXIT.unreachable;
  }
  if (err instanceof SwitchboardError) {
    if (err.status === 0) {
      ctx.err(`switchboard: cannot reach the gateway at ${ctx.apiUrl} (${err.message.replace(/^[A-Z]+ \S+: /, '')}). ${GATEWAY_HINT}`);
      return EXIT.unreachable;
    }
    ctx.err(`switchboard: the gateway refused: ${err.code} (HTTP ${err.status}): ${err.message}`);
    return EXIT.failed;
  }
  ctx.err(`switchboard: ${err instanceof Error ? err.message : String(err)}`);
  return EXIT.failed;
}
