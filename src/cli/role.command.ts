/**
 * `switchboard <api|worker|sandbox|all>`: runs a role of the gateway (DESIGN §2) until SIGTERM or
 * SIGINT, which drain in-flight work. Startup problems print one clear line and exit non-zero:
 * 78 for configuration, 69 when Redis is unreachable, 1 otherwise.
 *
 * `sandbox` needs nothing of the gateway, so it never loads the composition root (main.ts): a
 * lighter process (sandbox/sandbox-role.ts).
 */
import { ConfigError, loadConfig } from '../config/config.loader.ts';
import { createLogger } from '../logger.ts';
import type { Role, RunningSwitchboard } from '../main.ts';
import { startSandboxListener } from '../sandbox/sandbox-role.ts';

/** `switchboard sandbox`: the carrier sandbox listener alone. */
async function startSandboxRole(config: ReturnType<typeof loadConfig>, log: ReturnType<typeof createLogger>): Promise<RunningSwitchboard> {
  const sandbox = await startSandboxListener(config, log);
  return {
    role: 'sandbox',
    sandbox: sandbox.app,
    ...(sandbox.url !== undefined ? { sandboxUrl: sandbox.url } : {}),
    close: () => sandbox.close(),
  };
}

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
  const main = role === 'sandbox' ? undefined : await import('../main.ts');
  let running: RunningSwitchboard;
  try {
    running = main === undefined ? await startSandboxRole(config, log) : await main.startSwitchboard({ role, config, log });
  } catch (err) {
    if (main !== undefined && err instanceof main.RedisUnreachableError) {
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
        `  Try: curl -s -X POST ${running.apiUrl}/v1/messages -H 'Authorization: Bearer ` +
          `sandbox-key' -H 'Content-Type: application/json' -d '{"to":"+14155550100","otp":{}}'`,
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
