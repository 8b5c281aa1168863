/**
 * `switchboard queues`: jobs per queue and state from `GET /v1/admin/queues` (admin key), so it
 * works against any reachable gateway without Redis credentials on the operator's machine.
 */
import { QUEUE_STATES, type QueueCounts } from '../api/routes/admin-queue-counts.ts';
import { renderTable } from './cli-output.ts';
import { CliUsageError, EXIT, type OpsContext } from './ops-context.ts';

/** `switchboard queues [--json]`. */
export async function queuesCommand(ctx: OpsContext, positionals: readonly string[]): Promise<number> {
  if (positionals.length > 0) throw new CliUsageError('usage: switchboard queues [--json]');
  const { queues } = await ctx.http.api<{ queues: QueueCounts[] }>('GET', '/v1/admin/queues');
  if (ctx.json) {
    ctx.out(JSON.stringify({ queues }, null, 2));
    return EXIT.ok;
  }
  ctx.out(
    renderTable(
      ['queue', ...QUEUE_STATES, 'paused'],
      queues.map((q) => [q.name, ...QUEUE_STATES.map((s) => q.counts[s]), q.paused ? 'PAUSED' : 'no']),
    ),
  );
  return EXIT.ok;
}
