/**
 * A small, real (not mocked) in-memory `SandboxControl` for provider tests. `providers/` never
 * imports `src/` (DESIGN §3), so emulator tests cannot use the sandbox's own control; this one
 * implements the same interface with the same defaults, plus direct access to its state.
 */
import type { ProviderId, ProviderScenario, SandboxControl, SandboxLogEntry, SandboxNumber, SandboxPushToken } from '../provider.ts';
import { defaultProviderScenario } from '../provider.ts';

/** Counters the fake keeps per provider (same meaning as the sandbox's). */
export interface FakeSandboxCounters {
  requests: number;
  accepted: number;
  byStatus: Record<string, number>;
  callbacksSent: number;
  callbacksFailed: number;
}

/** The fake's surface: `SandboxControl` plus setters and state for assertions. */
export interface FakeSandboxControl extends SandboxControl {
  /** Merges scenario settings for a provider. */
  set(provider: ProviderId, patch: Partial<ProviderScenario>): void;
  setNumber(e164: string, entry: Partial<SandboxNumber>): void;
  counters(provider: ProviderId): FakeSandboxCounters;
  readonly entries: SandboxLogEntry[];
  /** Cancels pending scheduled work. */
  close(): void;
}

/** Creates the fake with CONTRACTS §6 defaults (no errors, no latency, `delivered` after 200 ms). */
export function createFakeSandboxControl(): FakeSandboxControl {
  const scenarios = new Map<ProviderId, ProviderScenario>();
  const counters = new Map<ProviderId, FakeSandboxCounters>();
  const numbers = new Map<string, SandboxNumber>();
  const timers = new Set<NodeJS.Timeout>();
  const entries: SandboxLogEntry[] = [];

  const scenarioOf = (p: ProviderId): ProviderScenario => {
    let s = scenarios.get(p);
    if (s === undefined) {
      s = defaultProviderScenario();
      scenarios.set(p, s);
    }
    return s;
  };
  const countersOf = (p: ProviderId): FakeSandboxCounters => {
    let c = counters.get(p);
    if (c === undefined) {
      c = { requests: 0, accepted: 0, byStatus: {}, callbacksSent: 0, callbacksFailed: 0 };
      counters.set(p, c);
    }
    return c;
  };

  return {
    entries,
    scenario: scenarioOf,
    number: (e164) => numbers.get(e164) ?? { valid: true, lineType: 'mobile', rcs: false },
    pushToken: (): SandboxPushToken => ({ result: 'ok' }),
    injectedFailure(p) {
      const s = scenarioOf(p);
      if (s.outage) return 503;
      return s.errorRate > 0 && Math.random() < s.errorRate ? s.errorStatus : undefined;
    },
    delay(p) {
      const ms = scenarioOf(p).latencyMs;
      return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
    },
    record(entry, opts) {
      const c = countersOf(entry.provider);
      c.requests += 1;
      c.byStatus[String(entry.status)] = (c.byStatus[String(entry.status)] ?? 0) + 1;
      if (opts?.acceptedSend === true) c.accepted += 1;
      entries.push({ at: new Date().toISOString(), ...entry });
    },
    callbackResult(p, ok) {
      const c = countersOf(p);
      if (ok) c.callbacksSent += 1;
      else c.callbacksFailed += 1;
    },
    schedule(ms, fn) {
      const t = setTimeout(() => {
        timers.delete(t);
        fn().catch(() => undefined);
      }, ms);
      timers.add(t);
    },
    set(p, patch) {
      scenarios.set(p, { ...scenarioOf(p), ...patch });
    },
    setNumber(e164, entry) {
      numbers.set(e164, { valid: true, lineType: 'mobile', rcs: false, ...numbers.get(e164), ...entry });
    },
    counters: countersOf,
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
