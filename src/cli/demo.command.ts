/**
 * `switchboard demo`: drives a running sandbox gateway through a realistic mix of traffic and
 * prints what happened per channel and provider, with cost:
 *
 * 1. baseline SMS OTPs (routed to the cheapest healthy carrier);
 * 2. push acknowledged by the device (sandbox token with `autoAckMs`) — delivered by push alone;
 * 3. push ignored (no ack) — `ack_timeout` fallback to SMS with the same code;
 * 4. a landline (`PUT /_sandbox/numbers/:e164 {lineType:'landline'}`) with `channels: [sms, voice]`;
 * 5. RCS, when the gateway serves it (probed with `channels: ['rcs']`; skipped and said so otherwise);
 *    then WhatsApp, when served: one number on WhatsApp (delivered there), one the sandbox marks
 *    not on WhatsApp (`PUT /_sandbox/numbers/:e164 {whatsapp:false}`) — the same code by SMS at
 *    once, `whatsapp_not_registered`;
 * 6. a carrier outage midway: the cheapest SMS carrier answers 503 (`PUT /_sandbox/providers/<id>
 *    {outage:true}`) while a batch is sent — traffic fails over — then it is restored;
 * 7. SMS after the recovery.
 *
 * Every message carries `metadata: {demo: <runId>, scenario}` and the run prints its `since`, so
 * `GET /v1/messages?since=…` filtered on `metadata.demo` lists exactly the run (what the
 * acceptance test compares the summary with). Numbers and push tokens are fresh per run because
 * the gateway caches lookups. The outage is always lifted again, also on Ctrl-C or an error.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { SwitchboardError, type Channel, type MessageView, type SendRequest } from '../client.ts';
import { intFlag, type FlagValues } from './cli-flags.ts';
import { formatUsd, ProgressBar, renderTable } from './cli-output.ts';
import { CliUsageError, EXIT, type OpsContext } from './ops-context.ts';
import { TERMINAL_STATUSES } from './status.command.ts';

/** `parseArgs` options of `demo` (besides the common ones). */
export const DEMO_OPTIONS = { timeout: { type: 'string' } } as const;

/** One row of the per-channel/provider tables. */
export interface RouteSummaryRow {
  channel: string;
  provider: string;
  messages: number;
  delivered: number;
  undelivered: number;
  failed: number;
  expired: number;
  pending: number;
  costUsd: number;
}

/** One row of the per-attempt table. */
export interface AttemptSummaryRow {
  channel: string;
  provider: string;
  attempts: number;
  delivered: number;
  undelivered: number;
  failed: number;
  pending: number;
  costUsd: number;
}

/** What the run did, in numbers (also the `--json` output's `summary`). */
export interface DemoSummary {
  messages: number;
  byStatus: Record<string, number>;
  /** Per message, by the channel/provider that delivered it (else the latest tried). */
  byRoute: RouteSummaryRow[];
  /** Per attempt: every carrier try, with what it cost. */
  attempts: AttemptSummaryRow[];
  costUsd: number;
}

interface Tracked {
  id: string;
  scenario: string;
  view?: MessageView;
}

const round6 = (n: number): number => Math.round(n * 1e6) / 1e6;

/** Groups final message views the way the demo reports them. Pure, so it is easy to check. */
export function summarize(views: readonly MessageView[]): DemoSummary {
  const byStatus: Record<string, number> = {};
  const routes = new Map<string, RouteSummaryRow>();
  const attempts = new Map<string, AttemptSummaryRow>();
  let cost = 0;
  for (const m of views) {
    byStatus[m.status] = (byStatus[m.status] ?? 0) + 1;
    const channel = m.channel ?? 'none';
    const provider = m.provider ?? 'none';
    const key = `${channel}/${provider}`;
    const row = routes.get(key) ?? {
      channel,
      provider,
      messages: 0,
      delivered: 0,
      undelivered: 0,
      failed: 0,
      expired: 0,
      pending: 0,
      costUsd: 0,
    };
    row.messages++;
    if (m.status === 'delivered' || m.status === 'undelivered' || m.status === 'failed' || m.status === 'expired') row[m.status]++;
    else row.pending++;
    row.costUsd = round6(row.costUsd + m.cost.amount);
    routes.set(key, row);
    cost += m.cost.amount;
    for (const a of m.attempts) {
      const akey = `${a.channel}/${a.provider}`;
      const arow = attempts.get(akey) ?? {
        channel: a.channel,
        provider: a.provider,
        attempts: 0,
        delivered: 0,
        undelivered: 0,
        failed: 0,
        pending: 0,
        costUsd: 0,
      };
      arow.attempts++;
      if (a.status === 'delivered' || a.status === 'undelivered' || a.status === 'failed') arow[a.status]++;
      else arow.pending++;
      arow.costUsd = round6(arow.costUsd + (a.cost?.amount ?? 0));
      attempts.set(akey, arow);
    }
  }
  const byKey = <T extends { channel: string; provider: string }>(a: T, b: T): number =>
    `${a.channel}/${a.provider}`.localeCompare(`${b.channel}/${b.provider}`);
  return {
    messages: views.length,
    byStatus,
    byRoute: [...routes.values()].sort(byKey),
    attempts: [...attempts.values()].sort(byKey),
    costUsd: round6(cost),
  };
}

/** A fresh US number in the 555 range (valid, fictional); the gateway caches lookups per number. */
function freshNumber(used: Set<string>): string {
  for (;;) {
    const n = `+1415555${String(randomInt(0, 10_000)).padStart(4, '0')}`;
    if (!used.has(n)) {
      used.add(n);
      return n;
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The sandbox's provider settings (CONTRACTS §6), only what the demo touches. */
interface ProviderState {
  settings: { outage?: boolean };
}

/** `switchboard demo [--timeout s] [--json]`: exit 0 when every message finished, 3 at the timeout. */
export async function demoCommand(ctx: OpsContext, values: FlagValues, positionals: readonly string[]): Promise<number> {
  if (positionals.length > 0)
    throw new CliUsageError('usage: switchboard demo [--timeout <s>] [--json] [--url …] [--sandbox-url …] [--key …]');
  const timeoutS = intFlag(values, 'timeout', { min: 10, max: 3_600 }) ?? 120;
  const startedAt = new Date();
  const deadline = startedAt.getTime() + timeoutS * 1000;
  const runId = `demo-${startedAt.getTime().toString(36)}-${randomBytes(3).toString('hex')}`;
  // A minute of slack: `since` is compared with ids minted by the gateway's clock, not ours.
  const since = new Date(startedAt.getTime() - 60_000).toISOString();
  const tracked: Tracked[] = [];
  const skipped: Array<{ scenario: string; reason: string }> = [];
  const notes: string[] = [];
  const numbers = new Set<string>();
  const progress = new ProgressBar({
    write: (t) => {
      if (!ctx.json) ctx.errRaw(t);
    },
    interactive: ctx.interactive && !ctx.json,
  });
  const log = (line: string): void => progress.note(line);
  // Messages the run intends to send; skipped scenarios take theirs off.
  let planned = 18;
  let label = 'starting';
  const draw = (): void =>
    progress.update(
      tracked.filter((t) => t.view !== undefined && TERMINAL_STATUSES.has(t.view.status)).length,
      Math.max(planned, tracked.length),
      label,
    );

  // Both sides must answer before anything is changed.
  await ctx.http.api('GET', '/readyz');
  await ctx.http.sandbox('GET', '/_sandbox/healthz');
  log(`demo ${runId}: gateway ${ctx.apiUrl}, carrier sandbox ${ctx.sandboxUrl}`);

  let seq = 0;
  const send = async (scenario: string, req: SendRequest): Promise<string> => {
    const { id } = await ctx.client.send({ ...req, metadata: { demo: runId, scenario } }, { idempotencyKey: `${runId}-${++seq}` });
    tracked.push({ id, scenario });
    draw();
    return id;
  };
  const refresh = async (items: readonly Tracked[]): Promise<void> => {
    await Promise.all(
      items.map(async (t) => {
        if (t.view !== undefined && TERMINAL_STATUSES.has(t.view.status)) return;
        t.view = await ctx.client.get(t.id);
      }),
    );
    draw();
  };
  /** Polls `items` until `done` holds for each (or the run's deadline). */
  const waitFor = async (items: readonly Tracked[], done: (m: MessageView) => boolean): Promise<boolean> => {
    for (;;) {
      await refresh(items);
      if (items.every((t) => t.view !== undefined && done(t.view))) return true;
      if (Date.now() >= deadline) return false;
      await sleep(250);
    }
  };
  const isTerminal = (m: MessageView): boolean => TERMINAL_STATUSES.has(m.status);
  const otp = (to: string, channels: Channel[] = ['sms'], extra: Partial<SendRequest> = {}): SendRequest => ({
    to,
    channels,
    otp: {},
    ...extra,
  });

  let outage: { provider: string; previous: boolean } | undefined;
  const liftOutage = async (): Promise<void> => {
    if (outage === undefined) return;
    const { provider, previous } = outage;
    outage = undefined;
    await ctx.http.sandbox('PUT', `/_sandbox/providers/${provider}`, { outage: previous });
  };
  const onSignal = (): void => {
    liftOutage()
      .catch(() => undefined)
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);

  try {
    // 1. Baseline SMS: also tells which carrier the router finds cheapest for this country.
    label = 'baseline SMS';
    const baseline: Tracked[] = [];
    for (let i = 0; i < 4; i++) await send('sms', otp(freshNumber(numbers)));
    baseline.push(...tracked);
    await waitFor(baseline, isTerminal);

    // 2. Push acknowledged by the device.
    label = 'push, acknowledged';
    for (let i = 0; i < 2; i++) {
      const token = `${runId}-ack-${i}`;
      await ctx.http.sandbox('PUT', `/_sandbox/push/${encodeURIComponent(token)}`, { result: 'ok', autoAckMs: 150 });
      await send('push-acked', otp(freshNumber(numbers), ['push', 'sms'], { push: { token, ackTimeoutMs: 3_000 } }));
    }

    // 3. Push never acknowledged: falls back to SMS after ackTimeoutMs.
    label = 'push, ignored → SMS';
    for (let i = 0; i < 2; i++) {
      const token = `${runId}-silent-${i}`;
      await ctx.http.sandbox('PUT', `/_sandbox/push/${encodeURIComponent(token)}`, { result: 'ok' });
      await send('push-ignored', otp(freshNumber(numbers), ['push', 'sms'], { push: { token, ackTimeoutMs: 1_000 } }));
    }

    // 4. A landline: SMS cannot reach it, voice can.
    label = 'landline → voice';
    const landline = freshNumber(numbers);
    await ctx.http.sandbox('PUT', `/_sandbox/numbers/${encodeURIComponent(landline)}`, { lineType: 'landline' });
    const landlineId = await send('landline-voice', otp(landline, ['sms', 'voice']));

    // 5. RCS, if served: `channels: ['rcs']` alone is refused at admission when no provider serves it.
    label = 'RCS';
    const rcsNumber = freshNumber(numbers);
    await ctx.http.sandbox('PUT', `/_sandbox/numbers/${encodeURIComponent(rcsNumber)}`, { rcs: true });
    try {
      await send('rcs', otp(rcsNumber, ['rcs']));
    } catch (err) {
      if (!(err instanceof SwitchboardError && err.code === 'SB_VALIDATION_UNSUPPORTED')) throw err;
      planned -= 1;
      skipped.push({ scenario: 'rcs', reason: `this gateway does not serve RCS yet (${err.code}: ${err.message})` });
      log('RCS: not served by this gateway yet; skipped');
    }

    // 5b. WhatsApp, if served (probed with `channels: ['whatsapp']`, refused at admission otherwise).
    label = 'WhatsApp';
    try {
      await send('whatsapp', otp(freshNumber(numbers), ['whatsapp']));
      const notOnWhatsApp = freshNumber(numbers);
      await ctx.http.sandbox('PUT', `/_sandbox/numbers/${encodeURIComponent(notOnWhatsApp)}`, { whatsapp: false });
      await send('whatsapp-not-registered', otp(notOnWhatsApp, ['whatsapp', 'sms']));
    } catch (err) {
      if (!(err instanceof SwitchboardError && err.code === 'SB_VALIDATION_UNSUPPORTED')) throw err;
      planned -= 2;
      skipped.push({ scenario: 'whatsapp', reason: `this gateway does not serve WhatsApp (${err.code}: ${err.message})` });
      log('WhatsApp: not served by this gateway; skipped');
    }

    // 6. The cheapest SMS carrier goes down while a batch is sent; the router fails over.
    label = 'carrier outage';
    const routing = baseline.map((t) => t.view?.routing).find((r) => r !== undefined);
    const candidates = (routing?.candidates ?? []).filter((c) => c['excluded'] === undefined && typeof c['provider'] === 'string');
    const cheapest = [...candidates].sort((a, b) => Number(a['effectivePrice'] ?? Infinity) - Number(b['effectivePrice'] ?? Infinity))[0];
    const down = typeof cheapest?.['provider'] === 'string' ? cheapest['provider'] : routing?.provider;
    if (down === undefined || candidates.length < 2) {
      planned -= 4;
      skipped.push({ scenario: 'outage', reason: 'fewer than two SMS carriers are routable here, so there is nothing to fail over to' });
      log('outage: fewer than two SMS carriers routable; skipped');
    } else {
      const before = await ctx.http.sandbox<ProviderState>('GET', `/_sandbox/providers/${down}`);
      outage = { provider: down, previous: before.settings.outage === true };
      await ctx.http.sandbox('PUT', `/_sandbox/providers/${down}`, { outage: true });
      log(`outage: ${down} (the cheapest SMS carrier) now answers 503`);
      const during: Tracked[] = [];
      for (let i = 0; i < 4; i++) {
        await send('outage', otp(freshNumber(numbers)));
        during.push(tracked[tracked.length - 1] as Tracked);
      }
      // Lift it once every message of the batch is with a carrier (or finished).
      await waitFor(during, (m) => m.status !== 'accepted' && m.status !== 'queued');
      await liftOutage();
      const via = [...new Set(during.map((t) => t.view?.provider).filter((p) => p !== null && p !== undefined))];
      notes.push(`during the ${down} outage, SMS went via ${via.join(', ') || 'nothing'}; ${down} was restored afterwards`);
      log(`outage over: ${down} restored`);
    }

    // 7. After the recovery.
    label = 'after recovery';
    for (let i = 0; i < 2; i++) await send('recovered', otp(freshNumber(numbers)));

    label = 'waiting for final statuses';
    const finished = await waitFor(tracked, isTerminal);
    label = finished ? 'done' : 'timed out';
    draw();
    progress.finish();

    const landlineView = tracked.find((t) => t.id === landlineId)?.view;
    if (landlineView !== undefined && !landlineView.attempts.some((a) => a.channel === 'voice')) {
      const why = `${landlineView.status}${landlineView.error !== undefined ? `, ${landlineView.error.code}` : ''}`;
      notes.push(`the landline got no voice attempt (${why}): this gateway does not serve voice yet`);
    }
    const views = tracked.map((t) => t.view).filter((v): v is MessageView => v !== undefined);
    const summary = summarize(views);
    const result = {
      runId,
      since,
      apiUrl: ctx.apiUrl,
      sandboxUrl: ctx.sandboxUrl,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      complete: finished,
      messages: tracked.map((t) => ({
        id: t.id,
        scenario: t.scenario,
        status: t.view?.status ?? 'unknown',
        channel: t.view?.channel ?? null,
        provider: t.view?.provider ?? null,
        route: (t.view?.attempts ?? []).map((a) => `${a.channel}/${a.provider}:${a.status}`),
        costUsd: t.view?.cost.amount ?? 0,
      })),
      skipped,
      notes,
      summary,
      list: `GET /v1/messages?since=${encodeURIComponent(since)} filtered on metadata.demo = ${runId}`,
    };
    if (ctx.json) ctx.out(JSON.stringify(result, null, 2));
    else printHuman(ctx, result);
    return finished ? EXIT.ok : EXIT.pending;
  } finally {
    process.off('SIGINT', onSignal);
    await liftOutage().catch(() => undefined);
    progress.finish();
  }
}

function printHuman(
  ctx: OpsContext,
  r: {
    runId: string;
    since: string;
    complete: boolean;
    messages: Array<{ id: string; scenario: string; status: string; route: string[]; costUsd: number }>;
    skipped: Array<{ scenario: string; reason: string }>;
    notes: string[];
    summary: DemoSummary;
  },
): void {
  const s = r.summary;
  ctx.out(`\nDemo ${r.runId}: ${s.messages} messages${r.complete ? '' : ' (some still running at the timeout)'}\n`);
  ctx.out(
    renderTable(
      ['scenario', 'message', 'status', 'attempts', 'cost USD'],
      r.messages.map((m) => [m.scenario, m.id, m.status, m.route.join(' → '), formatUsd(m.costUsd)]),
    ),
  );
  ctx.out('\nMessages by the channel/provider that delivered them (else the last tried)\n');
  ctx.out(
    renderTable(
      ['channel', 'provider', 'messages', 'delivered', 'undelivered', 'failed', 'expired', 'pending', 'cost USD'],
      [
        ...s.byRoute.map((x) => [
          x.channel,
          x.provider,
          x.messages,
          x.delivered,
          x.undelivered,
          x.failed,
          x.expired,
          x.pending,
          formatUsd(x.costUsd),
        ]),
        [
          'total',
          '',
          s.messages,
          s.byStatus['delivered'] ?? 0,
          s.byStatus['undelivered'] ?? 0,
          s.byStatus['failed'] ?? 0,
          s.byStatus['expired'] ?? 0,
          s.messages -
            Object.entries(s.byStatus)
              .filter(([k]) => TERMINAL_STATUSES.has(k))
              .reduce((a, [, v]) => a + v, 0),
          formatUsd(s.costUsd),
        ],
      ],
    ),
  );
  ctx.out('\nAttempts (every carrier try) by channel/provider\n');
  ctx.out(
    renderTable(
      ['channel', 'provider', 'attempts', 'delivered', 'undelivered', 'failed', 'pending', 'cost USD'],
      s.attempts.map((x) => [x.channel, x.provider, x.attempts, x.delivered, x.undelivered, x.failed, x.pending, formatUsd(x.costUsd)]),
    ),
  );
  for (const k of r.skipped) ctx.out(`\nskipped ${k.scenario}: ${k.reason}`);
  for (const n of r.notes) ctx.out(`note: ${n}`);
  ctx.out(`\nList the run: GET /v1/messages?since=${encodeURIComponent(r.since)} (metadata.demo = ${r.runId})`);
}
