import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.loader.ts';
import { createLogger } from '../logger.ts';
import { startSandboxListener } from './sandbox-role.ts';

describe('startSandboxListener', () => {
  it('serves every provider emulator on the configured port and closes', async () => {
    const config = loadConfig({ env: { SANDBOX_PORT: '0' } });
    const sandbox = await startSandboxListener(config, createLogger('silent'));
    try {
      expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${sandbox.url}/_sandbox/providers/twilio`);
      expect(res.status).toBe(200);
    } finally {
      await sandbox.close();
    }
    expect(sandbox.app.server.listening).toBe(false);
  });
});
