/**
 * `POST /v1/push/ack {messageId, ackToken}` (CONTRACTS §3): the app's proof that the push arrived.
 * No API key — the token is the credential. It races the fallback-check on one compare-and-set:
 * the winner decides (delivered via push, or SMS), the loser is recorded (`late_ack`) or does nothing.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { moveAttempt, settle } from '../../domain/status.ts';
import { verifyAckToken } from '../../security/push-ack-token.ts';
import type { ApiDeps } from '../api-deps.ts';
import { ApiError } from '../../domain/error-catalogue.ts';
import { parseOrThrow } from '../validation.ts';

/** The ack body (exported for the OpenAPI document). */
export const pushAckBodySchema = z.strictObject({
  messageId: z.string().regex(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/, 'not a message id'),
  ackToken: z.string().min(1).max(256),
});

export function registerPushAckRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post('/v1/push/ack', async (req, reply) => {
    const { messageId, ackToken } = parseOrThrow(pushAckBodySchema, req.body, 'body');
    const check = verifyAckToken(deps.keyRing.subkey('push-ack'), messageId, ackToken, deps.now());
    if (!check.ok)
      throw new ApiError(
        'SB_PUSH_ACK_INVALID',
        check.reason === 'expired' ? 'the ack token has expired' : 'the ack token is not valid for this message',
      );
    const at = new Date(deps.now()).toISOString();
    await deps.recorder.update(messageId, (d) => {
      const a = [...d.attempts].reverse().find((x) => x.channel === 'push');
      if (!a) return false;
      if (a.status === 'queued' || a.status === 'sent') {
        moveAttempt(d, a.n, 'delivered', at);
        d.timeline.push({ at, type: 'ack', channel: 'push', provider: a.provider, detail: `attempt ${a.n}` });
        settle(d, at);
        return true;
      }
      if (a.status === 'delivered' || d.timeline.some((t) => t.type === 'late_ack')) return false;
      d.timeline.push({ at, type: 'late_ack', channel: 'push', provider: a.provider, detail: `attempt ${a.n} was ${a.status}` });
      d.updatedAt = at;
      return true;
    });
    return reply.code(204).send();
  });
}
