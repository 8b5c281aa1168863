/**
 * The SMS-pumping guard (DESIGN §6): runs in the worker right after the lookup stage,
 * before anything is sent. SMS pumping (artificially inflated traffic) is a fraudster requesting
 * codes to number ranges they share revenue on; it shows as a burst to one country or prefix far
 * above its usual volume, and as codes that are never entered.
 *
 * Two signals, per country and per prefix (the number minus its last 4 digits: the range a
 * fraudster rents):
 * - burst: sends in the last `windowMs` (5 min) against the baseline — the decayed average sends
 *   per window (half-life 24 h). Over `max(minSends, baselineMultiplier × baseline)` is suspicious;
 *   never during the first `warmupMs` (24 h) after a dimension is first seen, when the baseline
 *   means nothing yet.
 * - conversion tripwire: of the sends by keys that report conversions (verify or
 *   `POST …/conversion`) over `windowHours`, fewer than `minRate` verified, once there are at least
 *   `minSends` of them. Keys that never report are left out of the count: their silence says
 *   nothing about conversion.
 *
 * Mode `block` fails the message `SB_POLICY_PUMPING` (the `message.failed` event carries
 * `reason: "pumping_suspected"`); `shadow` lets it through. Both record a `pumping` timeline entry,
 * `switchboard_policy_blocks_total{reason="pumping"}` and an audit entry (`flagged`). CONTRACTS §4
 * has no event type for a delivered-but-flagged message, so shadow mode adds none. The safe list
 * (countries, prefixes) is counted but never blocked. Push-only messages are not guarded: a push
 * costs nothing to pump.
 *
 * Cost: one Redis round trip per message in the common case. The single Lua call of
 * `PumpingStore.count` counts the message and returns the tripwire's send sums too; whether the
 * key reports conversions and the conversion sums are read through short in-process caches (see
 * {@link REPORTER_CACHE_MS} and {@link CONVERSION_CACHE_MS}), the latter only once a dimension has
 * `minSends` tripwire sends. The decision ({@link assessPumping}) is apart from its effect on the
 * message ({@link applyPumpingVerdict}, pure) and its report ({@link reportPumpingVerdict}), so a
 * send job applies it to its in-memory draft and reports it once its commit saved it.
 */
import type { Channel } from '../../providers/provider.ts';
import type { MessageRecord } from '../domain/message.ts';
import { finalize } from '../domain/status.ts';
import { hmacParts, recentToken } from '../security/hmac.ts';
import type { KeyRing } from '../security/master-key.ts';
import { numberPrefix } from '../store/conversion.store.ts';
import type { PumpingDimension } from '../store/pumping.store.ts';
import type { PipelineDeps } from './pipeline-deps.ts';

/** Channels a fraudster can pump (a carrier is paid per message or call). */
const PUMPABLE: ReadonlySet<Channel> = new Set(['sms', 'voice', 'rcs']);

/** The burst prefix: `+` and every digit but the last 4. */
export function burstPrefix(e164: string): string {
  const digits = e164.replace(/\D/g, '');
  return `+${digits.slice(0, Math.max(1, digits.length - 4))}`;
}

function prefixToken(ring: KeyRing, kind: 'burst' | 'conv', prefix: string): string {
  return recentToken(
    ring,
    `pumping-prefix\u0000${kind}\u0000${prefix}`,
    () => `prefix:${hmacParts(ring.subkey('phone-hmac'), ['pumping-prefix', kind, prefix]).subarray(0, 16).toString('base64url')}`,
  );
}

/**
 * The dimensions of a message: burst (country, number minus 4 digits) and tripwire (country, the
 * conversion store's prefix, so sends and conversions are counted over the same ranges).
 */
export function pumpingDimensions(
  ring: KeyRing,
  msg: Pick<MessageRecord, 'to' | 'country'>,
): { burst: PumpingDimension[]; tripwire: PumpingDimension[] } {
  const country = `country:${msg.country || 'ZZ'}`;
  const burst = burstPrefix(msg.to);
  const conv = numberPrefix(msg.to);
  return {
    burst: [
      { label: country, token: country },
      { label: `prefix:${burst}`, token: prefixToken(ring, 'burst', burst) },
    ],
    tripwire: [
      { label: country, token: `tw-${country}` },
      { label: `prefix:${conv}`, token: prefixToken(ring, 'conv', conv) },
    ],
  };
}

/**
 * How long a process trusts a key's "reports conversions" mark it read (`PumpingStore` option). A
 * key becomes a reporter once and stays one for `reportingKeySeconds` (a week): the mark is a slow
 * signal, so reading it per message buys nothing. Seconds of staleness only mean a new reporter's
 * first few sends are left out of the tripwire counts (as if it had started reporting a little
 * later), and the process that records the report updates its own cache at once.
 */
export const REPORTER_CACHE_MS = 5_000;

/**
 * How long a process reuses a dimension's conversion sums (`ConversionStore` option). They are
 * read only once a dimension has `minSends` tripwire sends over `windowHours`, and then per message
 * of a range that is under attack, exactly when reads pile up; against a 24 h window, a second's
 * staleness cannot move a rate that decides anything.
 */
export const CONVERSION_CACHE_MS = 1_000;

/** The kind of a dimension label without its value (`country`, `prefix`): logs and timelines name no digits. */
const kindOf = (label: string): string => label.split(':')[0] ?? label;

/** What the guard decided about a message that is over a threshold. */
export interface PumpingVerdict {
  /** Mode `block`: the message fails `SB_POLICY_PUMPING`; otherwise it is only flagged (shadow). */
  block: boolean;
  /** The timeline entry's detail: the mode's outcome and every reason. */
  detail: string;
  /** One per dimension over a threshold, each starting with its kind (`country: …`, `prefix: …`). */
  reasons: string[];
}

/** What {@link assessPumping} reads. */
export type PumpingAssessDeps = Pick<PipelineDeps, 'config' | 'keyRing' | 'now' | 'pumping'>;

/** What {@link reportPumpingVerdict} uses. */
export type PumpingReportDeps = Pick<PipelineDeps, 'config' | 'metrics' | 'log'>;

/** A message already judged (a verdict recorded) or past the guard (an attempt exists) is not judged again. */
function alreadyAssessed(msg: Pick<MessageRecord, 'attempts' | 'timeline'>): boolean {
  return msg.attempts.length > 0 || msg.timeline.some((t) => t.type === 'pumping');
}

/**
 * Counts the message and decides: undefined when nothing is over a threshold (or the message is
 * not guarded, or already judged). Writes counters only, never the message: the caller applies the
 * verdict ({@link applyPumpingVerdict}) and reports it once saved ({@link reportPumpingVerdict}).
 *
 * The tripwire dimensions are counted only for keys that report conversions, and read whenever the
 * tripwire is on and the message is not safe-listed; both happen in the one counting call.
 */
export async function assessPumping(deps: PumpingAssessDeps, msg: MessageRecord): Promise<PumpingVerdict | undefined> {
  const cfg = deps.config.pumping;
  const tw = cfg.conversion;
  if (alreadyAssessed(msg)) return undefined;
  if (!msg.channels.some((c) => PUMPABLE.has(c))) return undefined;
  const now = deps.now();
  const neverBlock = cfg.safeList.countries.includes(msg.country) || cfg.safeList.prefixes.some((p) => msg.to.startsWith(p));
  const dims = pumpingDimensions(deps.keyRing, msg);
  const reporting = tw.enabled && (await deps.pumping.store.isReporter(msg.keyName, now, tw.reportingKeySeconds * 1000));
  const readTripwire = tw.enabled && !neverBlock;
  const from = now - tw.windowHours * 3_600_000;
  const counted = await deps.pumping.store.count(msg.id, now, dims.burst, cfg, {
    neverBlock,
    ...(reporting || readTripwire ? { tripwire: { dimensions: dims.tripwire, count: reporting, fromMs: from } } : {}),
  });

  const reasons: string[] = counted.readings
    .filter((r) => r.over)
    .map(
      (r) => `${kindOf(r.label)}: ${r.count} sends in ${Math.round(cfg.windowMs / 1000)} s over the threshold ${Math.floor(r.threshold)}`,
    );
  if (readTripwire) {
    const tripped = await Promise.all(
      counted.tripwire.map(async ({ label, sends }) => {
        if (sends < tw.minSends) return undefined;
        const { converted } = await deps.pumping.conversions.counts(label, from, now);
        return converted / sends < tw.minRate
          ? `${kindOf(label)}: ${converted} of ${sends} codes verified in ${tw.windowHours} h (under ${tw.minRate})`
          : undefined;
      }),
    );
    for (const t of tripped) if (t !== undefined) reasons.push(t);
  }
  if (reasons.length === 0) return undefined;
  const block = cfg.mode === 'block';
  return { block, detail: `${block ? 'blocked' : 'shadow (delivered)'}: ${reasons.join('; ')}`, reasons };
}

/**
 * Applies a verdict to a message draft (pure): a `pumping` timeline entry and, when it blocks, the
 * failure `SB_POLICY_PUMPING`. Returns false and changes nothing when the draft was already judged
 * or has an attempt (a retried job, a lost race re-applied).
 */
export function applyPumpingVerdict(draft: MessageRecord, verdict: PumpingVerdict, iso: string): boolean {
  if (alreadyAssessed(draft)) return false;
  draft.timeline.push({ at: iso, type: 'pumping', detail: verdict.detail });
  draft.updatedAt = iso;
  if (verdict.block)
    finalize(draft, iso, {
      code: 'SB_POLICY_PUMPING',
      message: 'suspected SMS pumping: this country or number prefix is far over its usual volume or never converts',
    });
  return true;
}

/**
 * The metric and the ops log of an applied verdict. Call it once the message carrying the verdict
 * is saved, so a lost race or a crash before the write counts nothing.
 */
export function reportPumpingVerdict(deps: PumpingReportDeps, msg: Pick<MessageRecord, 'country'>, verdict: PumpingVerdict): void {
  deps.metrics.policyBlocks.inc({ reason: 'pumping' });
  deps.log.warn(
    { country: msg.country, mode: deps.config.pumping.mode, over: verdict.reasons.map(kindOf) },
    'pumping guard: suspected SMS pumping',
  );
}

/**
 * Counts the message and blocks or flags it, saving the verdict at once through the recorder.
 * Returns the message as it is now (failed when blocked). Runs once per message: skipped once an
 * attempt exists or a verdict is recorded.
 */
export async function runPumpingStage(deps: PipelineDeps, msg: MessageRecord): Promise<MessageRecord> {
  const verdict = await assessPumping(deps, msg);
  if (verdict === undefined) return msg;
  const iso = new Date(deps.now()).toISOString();
  const res = await deps.recorder.update(msg.id, (d) => applyPumpingVerdict(d, verdict, iso));
  if (res) reportPumpingVerdict(deps, msg, verdict);
  return res?.after ?? (await deps.store.get(msg.id))?.doc ?? msg;
}
