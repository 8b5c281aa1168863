/**
 * The ops commands (`send`, `status`, `demo`, `queues`, `dlq`): parse flags, resolve where the
 * gateway is, run, and turn any failure into one line and an exit code (ops-context.ts).
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { SwitchboardClient } from '../client.ts';
import type { FlagValues } from './cli-flags.ts';
import { boolFlag, stringFlag } from './cli-flags.ts';
import { DEMO_OPTIONS, demoCommand } from './demo.command.ts';
import { DLQ_OPTIONS, dlqCommand } from './dlq.command.ts';
import { describeNetworkError, EXIT, OpsHttp, reportFailure, resolveTarget, type OpsContext, type OpsEnv } from './ops-context.ts';
import { queuesCommand } from './queues.command.ts';
import { SEND_OPTIONS, SEND_USAGE, sendCommand } from './send.command.ts';
import { statusCommand } from './status.command.ts';

export const OPS_COMMANDS = ['send', 'status', 'demo', 'queues', 'dlq'] as const;
export type OpsCommand = (typeof OPS_COMMANDS)[number];

export const OPS_USAGE = `ops commands (talk to a running gateway over HTTP):
  send --to <E.164> [...]     send one message and follow its timeline live (send --help)
  status <message id>         a message's status, attempts and timeline
  demo                        drive the sandbox through push, fallback, voice, RCS and an outage; summary per channel/provider
  queues                      jobs per queue and state (admin key)
  dlq list | dlq replay <id>  webhook dead letters (admin key)

common flags:
  --url <url>          gateway (default $SWITCHBOARD_URL, else http://127.0.0.1:$PORT, PORT=3000)
  --key <api key>      default $SWITCHBOARD_API_KEY, else sandbox-key
  --sandbox-url <url>  carrier sandbox for demo (default $SWITCHBOARD_SANDBOX_URL, else http://127.0.0.1:$SANDBOX_PORT, 3100)
  --json               machine-readable output on stdout

exit codes: 0 ok (send: delivered), 1 refused or not delivered, 2 usage, 3 still running at --timeout, 69 gateway unreachable`;

const COMMON = {
  url: { type: 'string' },
  key: { type: 'string' },
  'sandbox-url': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OPTIONS: Record<OpsCommand, ParseArgsOptionsConfig> = {
  send: { ...COMMON, ...SEND_OPTIONS },
  status: COMMON,
  demo: { ...COMMON, ...DEMO_OPTIONS },
  queues: COMMON,
  dlq: { ...COMMON, ...DLQ_OPTIONS },
};

/** Whether the first CLI argument names an ops command (else it is a role). */
export function isOpsCommand(name: string | undefined): name is OpsCommand {
  return (OPS_COMMANDS as readonly string[]).includes(name ?? '');
}

/** Where output goes; tests and the real CLI pass process streams. */
export interface OpsIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: OpsEnv;
}

/** Runs one ops command to completion and answers its exit code; never throws. */
export async function runOpsCommand(command: OpsCommand, argv: readonly string[], io: OpsIo): Promise<number> {
  const err = (text: string): void => void io.stderr.write(`${text}\n`);
  let values: FlagValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS[command], allowPositionals: true, strict: true }));
  } catch (e) {
    err(`switchboard ${command}: ${e instanceof Error ? e.message : String(e)}\n\n${command === 'send' ? SEND_USAGE : OPS_USAGE}`);
    return EXIT.usage;
  }
  if (boolFlag(values, 'help')) {
    io.stdout.write(`${command === 'send' ? SEND_USAGE : OPS_USAGE}\n`);
    return EXIT.ok;
  }
  let target: ReturnType<typeof resolveTarget>;
  try {
    target = resolveTarget(
      { url: stringFlag(values, 'url'), key: stringFlag(values, 'key'), sandboxUrl: stringFlag(values, 'sandbox-url') },
      io.env,
    );
  } catch (e) {
    return reportFailure(e, { apiUrl: '', err });
  }
  const ctx: OpsContext = {
    ...target,
    json: boolFlag(values, 'json'),
    client: new SwitchboardClient({
      baseUrl: target.apiUrl,
      apiKey: target.apiKey,
      retries: 1,
      // Keep the real cause (ECONNREFUSED, DNS) in the one-line error instead of "fetch failed".
      fetch: async (input, init) => {
        try {
          return await fetch(input, init);
        } catch (e) {
          if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) throw e;
          throw new Error(describeNetworkError(e));
        }
      },
    }),
    http: new OpsHttp(target),
    out: (text) => void io.stdout.write(`${text}\n`),
    err,
    errRaw: (text) => void io.stderr.write(text),
    interactive: io.stderr.isTTY === true,
  };
  try {
    switch (command) {
      case 'send':
        return await sendCommand(ctx, values, positionals);
      case 'status':
        return await statusCommand(ctx, positionals);
      case 'demo':
        return await demoCommand(ctx, values, positionals);
      case 'queues':
        return await queuesCommand(ctx, positionals);
      case 'dlq':
        return await dlqCommand(ctx, values, positionals);
    }
  } catch (e) {
    return reportFailure(e, ctx);
  }
}
