/**
 * Predicted push skip (DESIGN §6.3, CONTRACTS §4 `push_predicted_unacked`): before a message's
 * push rung, the token's ack posterior (domain/ack-posterior.ts) decides whether the push is
 * worth its ack timeout. When an ack is unlikely the rung is skipped and the next one (SMS, same
 * code) goes out at once, recorded as a fallback with that reason; now and then a skipped token
 * is pushed anyway so a recovered device earns push back.
 *
 * The decision is made once per message: it is kept as the fallback reason of the attempt that
 * replaced push, so a later run of the job (a retry, a failover) never reconsiders it, and a
 * message whose push already went out is never skipped. Push is never skipped when it is the last
 * usable rung. Cost: one HMGET, only for a message whose next rung is push.
 */
import type { LadderStep } from './plan.stage.ts';
import { hasRungAfter, nextStep } from './plan.stage.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import type { SendContext } from './send-context.ts';
import { pushVerdict } from '../domain/ack-posterior.ts';

const REASON = 'push_predicted_unacked';

/** The ladder with the push rung marked skipped when the token's history predicts no ack. */
export async function applyPushSkip(
  deps: Pick<PipelineDeps, 'config' | 'now' | 'log' | 'pushPosterior'>,
  ctx: SendContext,
  ladder: LadderStep[],
): Promise<LadderStep[]> {
  const i = ladder.findIndex((s) => s.channel === 'push' && s.skip === undefined);
  if (i === -1) return ladder;
  const skipped = (): LadderStep[] => ladder.map((s, j) => (j === i ? { channel: 'push', skip: REASON } : s));
  const msg = ctx.doc;
  if (msg.attempts.some((a) => a.fallback?.reason === REASON)) return skipped();
  const opts = deps.config.push.prediction;
  const token = msg.push?.token;
  const store = deps.pushPosterior;
  if (!opts.enabled || store === undefined || token === undefined) return ladder;
  if (msg.attempts.some((a) => a.channel === 'push') || !hasRungAfter(ladder, 'push') || nextStep(msg, ladder)?.channel !== 'push')
    return ladder;

  const verdict = pushVerdict(await store.read(token), deps.now(), opts);
  if (verdict.kind !== 'skip') {
    if (verdict.kind === 'explore')
      deps.log.debug({ pAckRateAtLeast: verdict.pAckRateAtLeast }, 'push predicted unacked; pushing anyway to explore');
    return ladder;
  }
  deps.log.debug({ pAckRateAtLeast: verdict.pAckRateAtLeast }, 'push predicted unacked; skipping to the next channel');
  ctx.carry({ before: (p) => store.queueSkip(p, token) });
  return skipped();
}
