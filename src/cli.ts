/**
 * `switchboard <command>`:
 * - roles `api | worker | sandbox | all` run the gateway (`npm start` = `all` in sandbox mode);
 * - ops commands `send | status | demo | queues | dlq` talk to a running gateway over HTTP.
 *
 * Roles load the whole gateway (carrier SDKs included), so they are imported only when a role
 * runs; ops commands stay quick to start. A role first re-executes itself once with its V8 heap
 * flags (cli/node-flags.ts), before anything heavy is loaded.
 */
import { reexecWithRoleFlags } from './cli/node-flags.ts';
import { isOpsCommand, OPS_USAGE, runOpsCommand } from './cli/ops.command.ts';
import { ROLE_NAMES, type RoleName } from './cli/role-names.ts';

const USAGE = `usage: switchboard <${ROLE_NAMES.join('|')}>
       switchboard <send|status|demo|queues|dlq> [flags]

  all       API + workers + carrier sandbox in one process (the default for npm start)
  api       HTTP API only
  worker    queue workers only
  sandbox   carrier sandbox only

${OPS_USAGE}`;

async function run(argv: readonly string[]): Promise<number> {
  const first = argv[0];
  if (isOpsCommand(first)) return runOpsCommand(first, argv.slice(1), { stdout: process.stdout, stderr: process.stderr, env: process.env });
  if (first === '--help' || first === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const role = (first ?? 'all') as RoleName;
  if (!ROLE_NAMES.includes(role)) {
    process.stderr.write(`unknown role "${first}"\n${USAGE}\n`);
    return 2;
  }
  reexecWithRoleFlags();
  const { runRole } = await import('./cli/role.command.ts');
  return runRole(role);
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`switchboard: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
