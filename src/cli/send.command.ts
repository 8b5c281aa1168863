/**
 * `switchboard send --to +1415… [--channels push,sms] [--body …|--otp] …`: sends one message
 * through the public API (so admission, idempotency and rate limits apply as for any client) and
 * follows its timeline live until a terminal status. Exit 0 when delivered, 1 when it ended
 * otherwise, 3 when still running at `--timeout`.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, MessageView, SendRequest } from '../client.ts';
import { boolFlag, intFlag, jsonObjectFlag, stringFlag, type FlagValues } from './cli-flags.ts';
import { describeMessage, TERMINAL_STATUSES, timelineLine } from './status.command.ts';
import { CliUsageError, EXIT, type OpsContext } from './ops-context.ts';

const CHANNELS: readonly Channel[] = ['push', 'whatsapp', 'rcs', 'sms', 'voice'];

/** `parseArgs` options of `send` (besides the common ones). */
export const SEND_OPTIONS = {
  to: { type: 'string' },
  country: { type: 'string' },
  channels: { type: 'string' },
  body: { type: 'string' },
  template: { type: 'string' },
  locale: { type: 'string' },
  otp: { type: 'boolean' },
  'otp-length': { type: 'string' },
  'otp-ttl': { type: 'string' },
  'push-token': { type: 'string' },
  'ack-timeout-ms': { type: 'string' },
  'user-id': { type: 'string' },
  'callback-url': { type: 'string' },
  metadata: { type: 'string' },
  'idempotency-key': { type: 'string' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

export const SEND_USAGE = `usage: switchboard send --to <E.164> [options]
  --channels push,sms      order of preference (default sms)
  --body <text>            text; with --otp it must hold {{code}}
  --template <name> --locale <xx>
  --otp                    generate a code (default when no --body/--template); --otp-length, --otp-ttl <s>
  --push-token <token>     FCM token for the push rung; --ack-timeout-ms <ms>
  --user-id, --callback-url, --country, --metadata '<json>', --idempotency-key (default: random)
  --no-wait                print the id and return; --timeout <s> to follow (default 60)`;

/** Builds the API body from flags; only what was given is sent, so the gateway's defaults apply. */
export function sendRequestFromFlags(values: FlagValues): SendRequest {
  const to = stringFlag(values, 'to');
  if (to === undefined) throw new CliUsageError(`--to is required\n${SEND_USAGE}`);
  const channelsFlag = stringFlag(values, 'channels');
  let channels: Channel[] | undefined;
  if (channelsFlag !== undefined) {
    const list = channelsFlag
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    const unknown = list.filter((c) => !(CHANNELS as readonly string[]).includes(c));
    if (list.length === 0 || unknown.length > 0)
      throw new CliUsageError(`--channels takes a comma list of ${CHANNELS.join(', ')}; unknown: ${unknown.join(', ') || '(empty)'}`);
    channels = list as Channel[];
  }
  const body = stringFlag(values, 'body');
  const template = stringFlag(values, 'template');
  const otpLength = intFlag(values, 'otp-length', { min: 4, max: 10 });
  const otpTtl = intFlag(values, 'otp-ttl', { min: 30, max: 86_400 });
  const wantsOtp =
    boolFlag(values, 'otp') || otpLength !== undefined || otpTtl !== undefined || (body === undefined && template === undefined);
  const pushToken = stringFlag(values, 'push-token');
  const ackTimeoutMs = intFlag(values, 'ack-timeout-ms', { min: 500, max: 60_000 });
  const req: SendRequest = { to };
  const country = stringFlag(values, 'country');
  if (country !== undefined) req.country = country;
  if (channels !== undefined) req.channels = channels;
  if (body !== undefined) req.body = body;
  if (template !== undefined) req.template = template;
  const locale = stringFlag(values, 'locale');
  if (locale !== undefined) req.locale = locale;
  if (wantsOtp)
    req.otp = { ...(otpLength !== undefined ? { length: otpLength } : {}), ...(otpTtl !== undefined ? { ttlSeconds: otpTtl } : {}) };
  if (pushToken !== undefined || ackTimeoutMs !== undefined)
    req.push = { ...(pushToken !== undefined ? { token: pushToken } : {}), ...(ackTimeoutMs !== undefined ? { ackTimeoutMs } : {}) };
  const userId = stringFlag(values, 'user-id');
  if (userId !== undefined) req.userId = userId;
  const callbackUrl = stringFlag(values, 'callback-url');
  if (callbackUrl !== undefined) req.callbackUrl = callbackUrl;
  const metadata = jsonObjectFlag(values, 'metadata');
  if (metadata !== undefined) req.metadata = metadata;
  return req;
}

/**
 * Polls the message until it is terminal or `deadline`, calling `onEntry` for each new timeline
 * entry. Timelines only grow, so the index of the last printed entry is enough.
 */
export async function followMessage(
  ctx: Pick<OpsContext, 'client'>,
  id: string,
  deadline: number,
  onEntry: (entry: MessageView['timeline'][number]) => void,
  intervalMs = 250,
): Promise<MessageView> {
  let seen = 0;
  for (;;) {
    const m = await ctx.client.get(id);
    for (const entry of m.timeline.slice(seen)) onEntry(entry);
    seen = Math.max(seen, m.timeline.length);
    if (TERMINAL_STATUSES.has(m.status) || Date.now() >= deadline) return m;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `switchboard send …`: exit 0 delivered, 1 refused or not delivered, 3 still running at `--timeout`. */
export async function sendCommand(ctx: OpsContext, values: FlagValues, positionals: readonly string[]): Promise<number> {
  if (positionals.length > 0) throw new CliUsageError(`unexpected argument "${positionals[0]}"\n${SEND_USAGE}`);
  const req = sendRequestFromFlags(values);
  const timeoutS = intFlag(values, 'timeout', { min: 1, max: 3_600 }) ?? 60;
  // Always idempotent: the client may then retry a send whose answer was lost without sending twice.
  const idempotencyKey = stringFlag(values, 'idempotency-key') ?? `cli-${randomUUID()}`;
  const started = Date.now();
  const accepted = await ctx.client.send(req, { idempotencyKey });
  if (boolFlag(values, 'no-wait')) {
    ctx.out(ctx.json ? JSON.stringify({ id: accepted.id, status: accepted.status, replayed: accepted.replayed }) : accepted.id);
    return EXIT.ok;
  }
  if (!ctx.json)
    ctx.out(
      `${accepted.id} ${accepted.replayed ? 'replayed (Idempotency-Key seen before)' : 'accepted'}; ` +
        `following its timeline (Ctrl-C stops following, not the message)`,
    );
  const final = await followMessage(ctx, accepted.id, started + timeoutS * 1000, (entry) => {
    if (!ctx.json) ctx.out(timelineLine(entry));
  });
  const terminal = TERMINAL_STATUSES.has(final.status);
  if (ctx.json) {
    ctx.out(JSON.stringify(final, null, 2));
  } else {
    ctx.out('');
    ctx.out(describeMessage(final));
    ctx.out(
      terminal
        ? `\n${final.status} after ${Date.now() - started} ms`
        : `\nstill ${final.status} after ${timeoutS} s; follow with: switchboard status ${final.id}`,
    );
  }
  if (!terminal) return EXIT.pending;
  return final.status === 'delivered' ? EXIT.ok : EXIT.failed;
}
