/**
 * The SMS-pumping guard (issue 10, DESIGN §6): runs in the worker right after the lookup stage,
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
 */
import type { Channel } from '../../providers/provider.ts';
import type { MessageRecord } from '../domain/message.ts';
import { finalize } from '../domain/status.ts';
import { hmacParts } from '../security/hmac.ts';
import type { KeyRing } from '../security/master-key.ts';
import { numberPrefix, type ConversionStore } from '../store/conversion.store.ts';
import type { PumpingDimension, PumpingStore } from '../store/pumping.store.ts';
import type { PipelineDeps } from './pipeline-deps.ts';

/** Channels a fraudster can pump (a carrier is paid per message or call). */
const PUMPABLE: ReadonlySet<Channel> = new Set(['sms', 'voice', 'rcs']);

/** The burst prefix: `+` and every digit but the last 4. */
export function burstPrefix(e164: string): string {
  const digits = e164.replace(/\D/g, '');
  return `+${digits.slice(0, Math.max(1, digits.length - 4))}`;
}

function prefixToken(ring: KeyRing, kind: 'burst' | 'conv', prefix: string): string {
  return `prefix:${hmacParts(ring.subkey('phone-hmac'), ['pumping-prefix', kind, prefix]).subarray(0, 16).toString('base64url')}`;
}

/**
 * The dimensions of a message: burst (country, number minus 4 digits) and tripwire (country, the
 * conversion store's prefix, so sends and conversions are counted over the same ranges).
 */
export function pumpingDimensions(ring: KeyRing, msg: Pick<MessageRecord, 'to' | 'country'>): { burst: PumpingDimension[]; tripwire: PumpingDimension[] } {
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

/** What the pumping stage needs beyond the pipeline's usual deps. */
export interface PumpingStageDeps {
  store: PumpingStore;
  conversions: ConversionStore;
}

/** The kind of a dimension label without its value (`country`, `prefix`): logs and timelines name no digits. */
const kindOf = (label: string): string => label.split(':')[0] ?? label;

/**
 * Counts the message and blocks or flags it. Returns the message as it is now (failed when
 * blocked). Runs once per message: skipped once an attempt exists or a verdict is recorded.
 */
export async function runPumpingStage(deps: PipelineDeps, msg: MessageRecord): Promise<MessageRecord> {
  const cfg = deps.config.pumping;
  if (msg.attempts.length > 0 || msg.timeline.some((t) => t.type === 'pumping')) return msg;
  if (!msg.channels.some((c) => PUMPABLE.has(c))) return msg;
  const now = deps.now();
  const neverBlock = cfg.safeList.countries.includes(msg.country) || cfg.safeList.prefixes.some((p) => msg.to.startsWith(p));
  const dims = pumpingDimensions(deps.keyRing, msg);
  const reporting = cfg.conversion.enabled && (await deps.pumping.store.isReporter(msg.keyName, now, cfg.conversion.reportingKeySeconds * 1000));
  const counted = await deps.pumping.store.count(msg.id, now, dims.burst, cfg, { neverBlock, ...(reporting ? { tripwire: dims.tripwire } : {}) });

  const reasons: string[] = counted.readings
    .filter((r) => r.over)
    .map((r) => `${kindOf(r.label)}: ${r.count} sends in ${Math.round(cfg.windowMs / 1000)} s over the threshold ${Math.floor(r.threshold)}`);
  if (cfg.conversion.enabled && !neverBlock) {
    const from = now - cfg.conversion.windowHours * 3_600_000;
    const tripped = await Promise.all(
      dims.tripwire.map(async (dim) => {
        const sends = await deps.pumping.store.tripwireSends(dim, from, now);
        if (sends < cfg.conversion.minSends) return undefined;
        const { converted } = await deps.pumping.conversions.counts(dim.label, from, now);
        return converted / sends < cfg.conversion.minRate
          ? `${kindOf(dim.label)}: ${converted} of ${sends} codes verified in ${cfg.conversion.windowHours} h (under ${cfg.conversion.minRate})`
          : undefined;
      }),
    );
    for (const t of tripped) if (t !== undefined) reasons.push(t);
  }
  if (reasons.length === 0) return msg;

  const block = cfg.mode === 'block';
  const iso = new Date(now).toISOString();
  const detail = `${block ? 'blocked' : 'shadow (delivered)'}: ${reasons.join('; ')}`;
  const res = await deps.recorder.update(msg.id, (d) => {
    if (d.attempts.length > 0 || d.timeline.some((t) => t.type === 'pumping')) return false;
    d.timeline.push({ at: iso, type: 'pumping', detail });
    d.updatedAt = iso;
    if (block) finalize(d, iso, { code: 'SB_POLICY_PUMPING', message: 'suspected SMS pumping: this country or number prefix is far over its usual volume or never converts' });
    return true;
  });
  if (res) {
    deps.metrics.policyBlocks.inc({ reason: 'pumping' });
    deps.log.warn({ country: msg.country, mode: cfg.mode, over: reasons.map((r) => r.split(':')[0]) }, 'pumping guard: suspected SMS pumping');
  }
  return res?.after ?? (await deps.store.get(msg.id))?.doc ?? msg;
}
