/**
 * RCS capability (DESIGN §6.3): RCS is tried only for a number Google RBM says can take it,
 * checked once and cached under the phone's HMAC token (capable / not capable for
 * `rcs.capabilityTtlSeconds`; "unknown" and "agent not launched" are not cached, so they are
 * retried on the next message). An agent that is not launched is an ops problem, not the
 * handset's: it is logged as an error and counted, and the message goes by SMS.
 */
import type { RcsCapabilityStatus } from '../../providers/provider.ts';
import type { MessageRecord } from '../domain/message.ts';
import { phoneToken } from '../security/hmac.ts';
import type { PipelineDeps } from './pipeline-deps.ts';

export type RcsDeps = Pick<PipelineDeps, 'config' | 'adapters' | 'keyRing' | 'metrics' | 'log' | 'redis'>;

export async function rcsCapability(deps: RcsDeps, msg: MessageRecord): Promise<RcsCapabilityStatus> {
  // The capability provider is whichever adapter answers capability checks (Google RBM).
  const capability = [...deps.adapters.values()].find((a) => a.checkCapability !== undefined);
  if (!capability?.checkCapability) return 'unknown';
  const key = `${deps.config.redis.prefix}:rcs:cap:${phoneToken(deps.keyRing, msg.to)}`;
  const cached = await deps.redis.get(key);
  if (cached === 'capable' || cached === 'not_capable') {
    deps.metrics.rcsChecks.inc({ result: cached, cache: 'hit' });
    return cached;
  }
  const answer = await capability.checkCapability(msg.to);
  deps.metrics.rcsChecks.inc({ result: answer.status, cache: 'miss' });
  if (answer.status === 'capable' || answer.status === 'not_capable') {
    await deps.redis.set(key, answer.status, 'EX', deps.config.rcs.capabilityTtlSeconds);
  } else if (answer.status === 'agent_not_launched') {
    deps.log.error(
      { provider: capability.id, httpStatus: answer.httpStatus },
      'RBM says the RCS agent is not launched (403): RCS is off until ops launch it; sending SMS',
    );
  }
  return answer.status;
}
