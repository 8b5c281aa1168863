/**
 * `switchboard dlq list [--limit n]` and `switchboard dlq replay <eventId>`: the webhook dead
 * letters (CONTRACTS §3, admin key). Replay keeps the event id, so receivers de-duplicate it.
 */
import { clock, renderTable } from './cli-output.ts';
import { intFlag, type FlagValues } from './cli-flags.ts';
import { CliUsageError, EXIT, type OpsContext } from './ops-context.ts';

/** `parseArgs` options of `dlq` (besides the common ones). */
export const DLQ_OPTIONS = { limit: { type: 'string' } } as const;
const USAGE = 'usage: switchboard dlq list [--limit n] | switchboard dlq replay <eventId>';

interface DeadLetterRow {
  eventId: string;
  messageId: string;
  type: string;
  url: string;
  failedAt: string;
  attempts: number;
  lastError: string;
}

/** `switchboard dlq list|replay`. */
export async function dlqCommand(ctx: OpsContext, values: FlagValues, positionals: readonly string[]): Promise<number> {
  const [sub, eventId, ...rest] = positionals;
  if (sub === 'list' && eventId === undefined) {
    const limit = intFlag(values, 'limit', { min: 1, max: 500 }) ?? 100;
    const { items } = await ctx.http.api<{ items: DeadLetterRow[] }>('GET', `/v1/webhooks/dead-letters?limit=${limit}`);
    if (ctx.json) ctx.out(JSON.stringify({ items }, null, 2));
    else if (items.length === 0) ctx.out('no dead letters');
    else
      ctx.out(
        renderTable(
          ['event', 'type', 'message', 'failed at', 'tries', 'endpoint', 'last error'],
          items.map((d) => [
            d.eventId,
            d.type,
            d.messageId,
            `${d.failedAt.slice(0, 10)} ${clock(d.failedAt)}`,
            d.attempts,
            d.url,
            d.lastError.slice(0, 60),
          ]),
        ),
      );
    return EXIT.ok;
  }
  if (sub === 'replay' && eventId !== undefined && rest.length === 0) {
    const answer = await ctx.http.api<{ eventId: string; status: string }>(
      'POST',
      `/v1/webhooks/dead-letters/${encodeURIComponent(eventId)}/replay`,
    );
    ctx.out(ctx.json ? JSON.stringify(answer) : `${answer.eventId} ${answer.status} for delivery again (same webhook-id)`);
    return EXIT.ok;
  }
  throw new CliUsageError(USAGE);
}
