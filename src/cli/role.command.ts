/**
 * `switchboard <api|worker|sandbox|all>`: runs a role of the gateway (DESIGN §2) until SIGTERM or
 * SIGINT, which drain in-flight work. Startup problems print one clear line and exit non-zero:
 * 78 for configuration, 69 when Redis is unreachable, 1 otherwise.
 */
import { ConfigError, loadConfig } from '../config/config.loader.ts';
import { createLogger } from '../logger.ts';
import { RedisUnreachableError, startSwitchboard, type Role } from '../main.ts';

export async function runRole(role: Role): Promise<number> {
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
        `  Docs      ${running.apiUrl}/docs    Queues ${running.apiUrl}/admin/queues (user any, password sandbox-key)`,
        `  Try: curl -s -X POST ${running.apiUrl}/v1/messages -H 'Authorization: Bearer sandbox-key' -H 'Content-Type: application/json' -d '{"to":"+14155550100","otp":{}}'`,
        `   or: npx switchboard demo`,
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
