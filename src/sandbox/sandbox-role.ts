/**
 * Starting the carrier sandbox listener (DESIGN §8) from the configuration: used by the
 * composition root for `all` in sandbox mode, and on its own by `switchboard sandbox`, which so
 * loads only the sandbox and the provider modules — not the API, queues, stores and metrics of
 * main.ts (about 15 MiB less heap in that process).
 */
import type { FastifyInstance } from 'fastify';
import { providerRegistry } from '../../providers/index.ts';
import type { Config } from '../config/config.schema.ts';
import type { Logger } from '../logger.ts';
import { createSandboxServer } from './sandbox.server.ts';

export interface RunningSandbox {
  app: FastifyInstance;
  /** Where it listens (`config.sandbox.url` should the address be unknown). */
  url: string | undefined;
  /** Cancels scheduled callbacks, then closes the listener. */
  close(): Promise<void>;
}

/** Builds the sandbox of every registered provider and listens on `config.sandbox`. */
export async function startSandboxListener(config: Config, log: Logger): Promise<RunningSandbox> {
  const { app, control } = createSandboxServer({
    providers: providerRegistry.modules,
    ...(config.api.publicUrl !== undefined ? { gatewayUrl: config.api.publicUrl } : {}),
  });
  await app.listen({ port: config.sandbox.port, host: config.sandbox.host });
  const address = app.server.address();
  const url = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : config.sandbox.url;
  log.info({ url }, 'carrier sandbox listening');
  return {
    app,
    url,
    async close() {
      control.close();
      await app.close();
    },
  };
}
