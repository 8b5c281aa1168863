/**
 * `switchboard <role>`: runs the API, the workers, the carrier sandbox, or all three in one
 * process (`npm start` = `all` in sandbox mode). Startup problems print one clear line and exit
 * non-zero; SIGTERM/SIGINT drain in-flight work before exiting.
 */
import { ConfigError, loadConfig } from './config/config.loader.ts';
import { createLogger } from './logger.ts';
import { ROLES, RedisUnreachableError, startSwitchboard, type Role } from './main.ts';

const USAGE = `usage: switchboard <${ROLES.join('|')}>

  all       API + workers + carrier sandbox in one process (the default for npm start)
  api       HTTP API only
  worker    queue workers only
  sandbox   carrier sandbox only`;

async function run(argv: readonly string[]): Promise<number> {
  const role = (argv[0] ?? 'all') as Role;
  if (argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!ROLES.includes(role)) {
    process.stderr.write(`unknown role "${argv[0]}"\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 78;
    }
    throw err;
  }
  const log = createLogger(config.logLevel, { role });
  let running;
  try {
    running = await startSwitchboard({ role, config, log });
  } catch (err) {
    if (err instanceof RedisUnreachableError) {
      process.stderr.write(`switchboard: ${err.message}\n`);
      return 69;
    }
    process.stderr.write(`switchboard: could not start: ${(err as Error).message}\n`);
    return 1;
  }
  if (running.generatedWebhookSecret !== undefined) {
    // Printed once, by the process that generated it; every process reads the same one from Redis.
    process.stdout.write(`Webhook signing secret (generated for this sandbox, shown once): ${running.generatedWebhookSecret}\n`);
  }
  if (config.mode === 'sandbox' && running.apiUrl) {
    process.stdout.write(
      [
        '',
        `Switchboard is running in sandbox mode (no carrier is called).`,
        `  API       ${running.apiUrl}    (Authorization: Bearer sandbox-key)`,
        running.sandboxUrl ? `  Sandbox   ${running.sandboxUrl}` : '',
        `  Try: curl -s -X POST ${running.apiUrl}/v1/messages -H 'Authorization: Bearer sandbox-key' -H 'Content-Type: application/json' -d '{"to":"+14155550100","otp":{}}'`,
        '',
      ]
        .filter((l) => l !== '')
        .join('\n') + '\n',
    );
  }

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'draining');
      const force = setTimeout(() => {
        log.error('drain took too long; exiting');
        process.exit(1);
      }, config.shutdown.graceMs);
      force.unref();
      running
        .close()
        .then(() => resolve())
        .catch(() => resolve());
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  log.info('stopped');
  return 0;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`switchboard: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
