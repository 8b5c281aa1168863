/**
 * `switchboard status <id>`: one message as people read it (status, route, cost, attempts,
 * timeline) or, with `--json`, exactly what `GET /v1/messages/:id` answers.
 */
import type { MessageView } from '../client.ts';
import { clock, formatUsd, renderTable } from './cli-output.ts';
import { CliUsageError, EXIT, type OpsContext } from './ops-context.ts';

/** Message statuses after which nothing changes (CONTRACTS §2). */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['delivered', 'undelivered', 'failed', 'expired']);

/** One timeline entry as a line: `12:00:00.123  fallback  push/fcm  ack_timeout`. */
export function timelineLine(t: MessageView['timeline'][number]): string {
  const route = [t.channel, t.provider].filter(Boolean).join('/');
  return `  ${clock(t.at)}  ${t.type.padEnd(16)} ${route.padEnd(16)} ${t.detail ?? ''}`.trimEnd();
}

/** The message summary block shared by `status` and the end of `send`. */
export function describeMessage(m: MessageView): string {
  const route = m.channel !== null ? `${m.channel}/${m.provider ?? '—'}` : '—';
  const routing = m.routing !== undefined ? `  routing: ${m.routing.provider} (${m.routing.reason})` : '';
  const lines = [
    `${m.id}  ${m.status.toUpperCase()}  via ${route}  to ${m.to}`,
    `  created ${m.createdAt}  updated ${m.updatedAt}${m.verifiedAt !== undefined ? `  verified ${m.verifiedAt}` : ''}`,
    `  cost ${formatUsd(m.cost.amount)} ${m.cost.currency}${routing}`,
  ];
  if (m.error !== undefined)
    lines.push(
      `  error ${m.error.code}: ${m.error.message}${m.error.providerCode !== undefined ? ` (carrier code ${m.error.providerCode})` : ''}`,
    );
  if (Object.keys(m.metadata).length > 0) lines.push(`  metadata ${JSON.stringify(m.metadata)}`);
  if (m.attempts.length > 0) {
    lines.push(
      '',
      renderTable(
        ['#', 'channel', 'provider', 'status', 'started', 'cost', 'error'],
        m.attempts.map((a) => [
          a.n,
          a.channel,
          a.provider,
          a.status,
          clock(a.startedAt),
          a.cost !== undefined ? formatUsd(a.cost.amount) : '—',
          a.error?.code ?? '',
        ]),
      ),
    );
  }
  return lines.join('\n');
}

/** `switchboard status <id> [--json]`. */
export async function statusCommand(ctx: OpsContext, positionals: readonly string[]): Promise<number> {
  const id = positionals[0];
  if (id === undefined || positionals.length > 1) throw new CliUsageError('usage: switchboard status <message id>');
  const m = await ctx.client.get(id);
  if (ctx.json) {
    ctx.out(JSON.stringify(m, null, 2));
    return EXIT.ok;
  }
  ctx.out(describeMessage(m));
  ctx.out(['', 'timeline', ...m.timeline.map(timelineLine)].join('\n'));
  return EXIT.ok;
}
