/**
 * The `outcome` label of `switchboard_messages_total` for a message that reached a terminal
 * status (CONTRACTS §7). Policy stops made by the worker — a recent SIM swap under a `block`
 * policy, the pumping guard, a number the lookup says does not exist — are refusals like the
 * API's, not delivery failures: nothing was sent, and dashboards must not read them as carrier
 * trouble.
 */
import type { MessageRecord } from './message.ts';

/** Terminal-message outcomes (the label's closed set). */
export type MessageOutcome = 'delivered' | 'undelivered' | 'failed' | 'expired' | 'refused';

/** Error codes the worker records when policy, not a carrier, stopped the message. */
export const WORKER_REFUSAL_CODES: ReadonlySet<string> = new Set(['SB_POLICY_SIM_SWAP', 'SB_POLICY_PUMPING', 'SB_RECIPIENT_INVALID']);

export function messageOutcome(msg: Pick<MessageRecord, 'status' | 'error'>): MessageOutcome {
  switch (msg.status) {
    case 'delivered':
    case 'undelivered':
    case 'expired':
      return msg.status;
    case 'failed':
      return msg.error !== undefined && WORKER_REFUSAL_CODES.has(msg.error.code) ? 'refused' : 'failed';
    default:
      return 'failed';
  }
}
