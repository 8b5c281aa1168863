/**
 * The carrier sandbox's shared state (CONTRACTS §6): per-provider scenarios and counters, the
 * number and push-token tables, the request log, and the timers emulators schedule (callbacks,
 * device acks). Emulators see it only through the `SandboxControl` interface of
 * `providers/provider.ts`; the scenario API (`sandbox.server.ts`) uses the rest.
 *
 * Everything is in memory and per process: the sandbox is a test double, not a store. Hot-path
 * operations (`record`, `scenario`, `injectedFailure`) are O(1) so the sandbox never becomes the
 * benchmark's bottleneck.
 */
import { z } from 'zod';
import { defaultProviderScenario, providerRegistry } from '../../providers/index.ts';
import type { ProviderScenario, SandboxControl, SandboxLogEntry, SandboxNumber, SandboxPushToken } from '../../providers/index.ts';

/** The built-in registry's provider ids (CONTRACTS §1), in its stable order: the sandbox's default providers. */
export const SANDBOX_PROVIDER_IDS: readonly string[] = providerRegistry.ids;

/** How many log entries the ring buffer keeps (oldest dropped first). */
export const SANDBOX_LOG_CAPACITY = 10_000;
/** Default and maximum page size of `log()`. */
const DEFAULT_LOG_LIMIT = 100;

/** Scenario defaults (CONTRACTS §6): no errors, no latency, delivered after 200 ms. */
export function defaultScenario(): ProviderScenario {
  return defaultProviderScenario();
}

/** Default for numbers nobody configured (CONTRACTS §6). */
const DEFAULT_NUMBER: Readonly<SandboxNumber> = Object.freeze({ valid: true, lineType: 'mobile', rcs: false });
/** Default for push tokens nobody configured: accepted, never acked. */
const DEFAULT_PUSH: Readonly<SandboxPushToken> = Object.freeze({ result: 'ok' });

/**
 * `PUT /_sandbox/providers/:id` body: every field optional, merged into the current settings.
 * `null` clears the optional ones (`retryAfterSec`, `dlrErrorCode`). Unknown fields are refused so
 * a typo (`latency`) does not silently do nothing.
 */
export const scenarioPatchSchema = z.strictObject({
  outage: z.boolean().optional(),
  errorRate: z.number().min(0).max(1).optional(),
  errorStatus: z.number().int().min(400).max(599).optional(),
  retryAfterSec: z.number().min(0).max(86_400).nullable().optional(),
  latencyMs: z.number().min(0).max(120_000).optional(),
  dlr: z.enum(['delivered', 'undelivered', 'none']).optional(),
  dlrErrorCode: z
    .union([z.string().min(1).max(64), z.number().int()])
    .transform((v) => String(v))
    .nullable()
    .optional(),
  dlrDelayMs: z.number().min(0).max(3_600_000).optional(),
  callbacks: z.enum(['post', 'drop']).optional(),
  /** `carrier` (or `null`): the emulated carrier's documented schedule; else the delays (ms) between tries. */
  callbackRetry: z
    .union([z.literal('carrier'), z.array(z.number().int().min(0).max(86_400_000)).max(20)])
    .nullable()
    .optional(),
});
/** A scenario patch as clients send it. */
export type ScenarioPatch = z.input<typeof scenarioPatchSchema>;

/** `PUT /_sandbox/numbers/:e164` body: merged into the number's entry; `null` clears optional fields. */
export const numberPatchSchema = z.strictObject({
  valid: z.boolean().optional(),
  lineType: z.enum(['mobile', 'landline', 'voip', 'tollfree', 'unknown']).optional(),
  rcs: z.boolean().optional(),
  /** Whether the number has a WhatsApp account; unset (or `null`): every valid non-landline number has one. */
  whatsapp: z.boolean().nullable().optional(),
  simSwap: z
    .strictObject({
      swappedWithinSeconds: z.number().int().min(0).optional(),
      lastSwapAt: z
        .string()
        .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected an ISO 8601 date-time' })
        .optional(),
    })
    .nullable()
    .optional(),
  mccmnc: z
    .string()
    .regex(/^\d{5,6}$/, { message: 'expected MCC+MNC, 5 or 6 digits' })
    .nullable()
    .optional(),
  ported: z.boolean().nullable().optional(),
  roaming: z.boolean().nullable().optional(),
});
/** A number-table patch as clients send it. */
export type NumberPatch = z.input<typeof numberPatchSchema>;

/** `PUT /_sandbox/push/:token` body: replaces the token's behaviour. */
export const pushTokenSchema = z.strictObject({
  result: z.enum(['ok', 'unregistered', 'invalid', 'unavailable']),
  autoAckMs: z.number().int().min(0).max(3_600_000).optional(),
});
/** A push-token behaviour as clients send it. */
export type PushTokenInput = z.input<typeof pushTokenSchema>;

/** E.164: `+`, a non-zero digit, up to 15 digits in all. */
export const E164_PATTERN = /^\+[1-9]\d{1,14}$/;

/** What `counters(id)` and `GET /_sandbox/providers/:id` report. */
export interface SandboxCounters {
  requests: number;
  accepted: number;
  rejected: number;
  byStatus: Record<string, number>;
  callbacksSent: number;
  callbacksFailed: number;
}

/** Filters of `log()` / `GET /_sandbox/log`; newest entries first. */
export interface SandboxLogQuery {
  provider?: string;
  to?: string;
  /** ISO date-time or epoch milliseconds; entries at or after it. */
  since?: string | number | Date;
  limit?: number;
}

/** Why a scenario-API call was refused; the server maps `status` and `code` to its JSON error body. */
export class SandboxRequestError extends Error {
  readonly status: 400 | 404;
  readonly code: 'SB_VALIDATION_FAILED' | 'SB_SANDBOX_UNKNOWN_PROVIDER';

  constructor(status: 400 | 404, code: SandboxRequestError['code'], message: string) {
    super(message);
    this.name = 'SandboxRequestError';
    this.status = status;
    this.code = code;
  }
}

/** The sandbox's full control surface: what emulators get plus what the scenario API needs. */
export interface SandboxControlHandle extends SandboxControl<string> {
  getSettings(id: string): ProviderScenario;
  putSettings(id: string, patch: unknown): ProviderScenario;
  counters(id: string): SandboxCounters;
  putNumber(e164: string, patch: unknown): SandboxNumber;
  putPushToken(token: string, input: unknown): SandboxPushToken;
  log(query?: SandboxLogQuery): SandboxLogEntry<string>[];
  /** Restores every default; clears numbers, tokens, counters, log; cancels scheduled work. */
  reset(): void;
  /** Cancels scheduled work; the control stays usable (for a clean shutdown). */
  close(): void;
}

interface StoredLogEntry {
  atMs: number;
  entry: Omit<SandboxLogEntry<string>, 'at'>;
}

function emptyCounters(): SandboxCounters {
  return { requests: 0, accepted: 0, rejected: 0, byStatus: {}, callbacksSent: 0, callbacksFailed: 0 };
}

function validationMessage(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw new SandboxRequestError(400, 'SB_VALIDATION_FAILED', validationMessage(parsed.error));
  return parsed.data;
}

function sinceMs(since: SandboxLogQuery['since']): number | undefined {
  if (since === undefined || since === '') return undefined;
  if (since instanceof Date) return since.getTime();
  if (typeof since === 'number') return since;
  const asNumber = Number(since);
  if (Number.isFinite(asNumber)) return asNumber;
  const parsed = Date.parse(since);
  if (Number.isNaN(parsed))
    throw new SandboxRequestError(400, 'SB_VALIDATION_FAILED', 'since: expected an ISO date-time or epoch milliseconds');
  return parsed;
}

/**
 * Creates the sandbox state. `random` is injectable so error-rate behaviour can be tested
 * deterministically.
 */
export function createSandboxControl(
  options: { random?: () => number; logCapacity?: number; providerIds?: readonly string[] } = {},
): SandboxControlHandle {
  /** The providers this sandbox emulates: those whose scenarios and counters exist. */
  const providerIds = options.providerIds ?? SANDBOX_PROVIDER_IDS;
  const random = options.random ?? Math.random;
  const capacity = Math.max(1, options.logCapacity ?? SANDBOX_LOG_CAPACITY);

  const scenarios = new Map<string, ProviderScenario>();
  const counterMap = new Map<string, SandboxCounters>();
  const numbers = new Map<string, SandboxNumber>();
  const pushTokens = new Map<string, SandboxPushToken>();
  const timers = new Set<NodeJS.Timeout>();
  let logBuffer: (StoredLogEntry | undefined)[] = new Array<StoredLogEntry | undefined>(capacity);
  let logNext = 0;
  let logSize = 0;
  /** Bumped by reset/close so work scheduled before it never runs after it. */
  let generation = 0;

  function initProviders(): void {
    for (const id of providerIds) {
      scenarios.set(id, defaultScenario());
      counterMap.set(id, emptyCounters());
    }
  }
  initProviders();

  function requireProvider(id: string): string {
    if (!scenarios.has(id)) {
      throw new SandboxRequestError(
        404,
        'SB_SANDBOX_UNKNOWN_PROVIDER',
        `unknown provider "${id}"; expected one of ${providerIds.join(', ')}`,
      );
    }
    return id;
  }

  function scenarioOf(id: string): ProviderScenario {
    // initProviders fills every id, so this is always set.
    return scenarios.get(id) ?? defaultScenario();
  }

  function countersOf(id: string): SandboxCounters {
    let c = counterMap.get(id);
    if (c === undefined) {
      c = emptyCounters();
      counterMap.set(id, c);
    }
    return c;
  }

  function cancelTimers(): void {
    generation += 1;
    for (const t of timers) clearTimeout(t);
    timers.clear();
  }

  const control: SandboxControlHandle = {
    scenario(provider) {
      return scenarioOf(provider);
    },

    number(e164) {
      return numbers.get(e164) ?? { ...DEFAULT_NUMBER };
    },

    pushToken(token) {
      return pushTokens.get(token) ?? { ...DEFAULT_PUSH };
    },

    injectedFailure(provider) {
      const s = scenarioOf(provider);
      if (s.outage) return 503;
      if (s.errorRate > 0 && random() < s.errorRate) return s.errorStatus;
      return undefined;
    },

    delay(provider) {
      const ms = scenarioOf(provider).latencyMs;
      if (ms <= 0) return Promise.resolve();
      return new Promise((resolve) => setTimeout(resolve, ms));
    },

    record(entry, opts) {
      const c = countersOf(entry.provider);
      c.requests += 1;
      const key = String(entry.status);
      c.byStatus[key] = (c.byStatus[key] ?? 0) + 1;
      if (entry.status < 200 || entry.status >= 300) c.rejected += 1;
      if (opts?.acceptedSend === true) c.accepted += 1;
      logBuffer[logNext] = { atMs: Date.now(), entry };
      logNext = (logNext + 1) % capacity;
      if (logSize < capacity) logSize += 1;
    },

    callbackResult(provider, ok) {
      const c = countersOf(provider);
      if (ok) c.callbacksSent += 1;
      else c.callbacksFailed += 1;
    },

    schedule(ms, fn) {
      const scheduledIn = generation;
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          if (scheduledIn !== generation) return;
          fn().catch(() => undefined);
        },
        Math.max(0, ms),
      );
      timer.unref();
      timers.add(timer);
    },

    getSettings(id) {
      return { ...scenarioOf(requireProvider(id)) };
    },

    putSettings(id, patch) {
      const provider = requireProvider(id);
      const p = parseOrThrow(scenarioPatchSchema, patch);
      const next: ProviderScenario = { ...scenarioOf(provider) };
      if (p.outage !== undefined) next.outage = p.outage;
      if (p.errorRate !== undefined) next.errorRate = p.errorRate;
      if (p.errorStatus !== undefined) next.errorStatus = p.errorStatus;
      if (p.latencyMs !== undefined) next.latencyMs = p.latencyMs;
      if (p.dlr !== undefined) next.dlr = p.dlr;
      if (p.dlrDelayMs !== undefined) next.dlrDelayMs = p.dlrDelayMs;
      if (p.callbacks !== undefined) next.callbacks = p.callbacks;
      if (p.callbackRetry === null) next.callbackRetry = 'carrier';
      else if (p.callbackRetry !== undefined) next.callbackRetry = p.callbackRetry === 'carrier' ? 'carrier' : [...p.callbackRetry];
      if (p.retryAfterSec === null) delete next.retryAfterSec;
      else if (p.retryAfterSec !== undefined) next.retryAfterSec = p.retryAfterSec;
      if (p.dlrErrorCode === null) delete next.dlrErrorCode;
      else if (p.dlrErrorCode !== undefined) next.dlrErrorCode = p.dlrErrorCode;
      // Replace rather than mutate: emulators may hold the previous object mid-request.
      scenarios.set(provider, next);
      return { ...next };
    },

    counters(id) {
      const c = countersOf(requireProvider(id));
      return { ...c, byStatus: { ...c.byStatus } };
    },

    putNumber(e164, patch) {
      if (!E164_PATTERN.test(e164)) {
        throw new SandboxRequestError(400, 'SB_VALIDATION_FAILED', `"${e164}" is not an E.164 number (e.g. +14155550100)`);
      }
      const p = parseOrThrow(numberPatchSchema, patch);
      const next: SandboxNumber = { ...(numbers.get(e164) ?? DEFAULT_NUMBER) };
      if (p.valid !== undefined) next.valid = p.valid;
      if (p.lineType !== undefined) next.lineType = p.lineType;
      if (p.rcs !== undefined) next.rcs = p.rcs;
      if (p.whatsapp === null) delete next.whatsapp;
      else if (p.whatsapp !== undefined) next.whatsapp = p.whatsapp;
      if (p.simSwap === null) delete next.simSwap;
      else if (p.simSwap !== undefined) {
        const swap: NonNullable<SandboxNumber['simSwap']> = {};
        if (p.simSwap.swappedWithinSeconds !== undefined) swap.swappedWithinSeconds = p.simSwap.swappedWithinSeconds;
        if (p.simSwap.lastSwapAt !== undefined) swap.lastSwapAt = p.simSwap.lastSwapAt;
        next.simSwap = swap;
      }
      if (p.mccmnc === null) delete next.mccmnc;
      else if (p.mccmnc !== undefined) next.mccmnc = p.mccmnc;
      if (p.ported === null) delete next.ported;
      else if (p.ported !== undefined) next.ported = p.ported;
      if (p.roaming === null) delete next.roaming;
      else if (p.roaming !== undefined) next.roaming = p.roaming;
      numbers.set(e164, next);
      return { ...next };
    },

    putPushToken(token, input) {
      if (token === '') throw new SandboxRequestError(400, 'SB_VALIDATION_FAILED', 'token: must not be empty');
      const p = parseOrThrow(pushTokenSchema, input);
      const next: SandboxPushToken = { result: p.result };
      if (p.autoAckMs !== undefined) next.autoAckMs = p.autoAckMs;
      pushTokens.set(token, next);
      return { ...next };
    },

    log(query = {}) {
      const provider = query.provider === undefined || query.provider === '' ? undefined : query.provider;
      const to = query.to === undefined || query.to === '' ? undefined : query.to;
      const since = sinceMs(query.since);
      const rawLimit = query.limit ?? DEFAULT_LOG_LIMIT;
      if (!Number.isInteger(rawLimit) || rawLimit < 1) {
        throw new SandboxRequestError(400, 'SB_VALIDATION_FAILED', 'limit: expected a positive integer');
      }
      const limit = Math.min(rawLimit, capacity);
      const out: SandboxLogEntry<string>[] = [];
      for (let i = 0; i < logSize && out.length < limit; i++) {
        const stored = logBuffer[(logNext - 1 - i + capacity) % capacity];
        if (stored === undefined) break;
        // Entries are in time order, so everything older than `since` can be skipped at once.
        if (since !== undefined && stored.atMs < since) break;
        if (provider !== undefined && stored.entry.provider !== provider) continue;
        if (to !== undefined && stored.entry.to !== to) continue;
        out.push({ at: new Date(stored.atMs).toISOString(), ...stored.entry });
      }
      return out;
    },

    reset() {
      cancelTimers();
      scenarios.clear();
      counterMap.clear();
      initProviders();
      numbers.clear();
      pushTokens.clear();
      logBuffer = new Array<StoredLogEntry | undefined>(capacity);
      logNext = 0;
      logSize = 0;
    },

    close() {
      cancelTimers();
    },
  };
  return control;
}
