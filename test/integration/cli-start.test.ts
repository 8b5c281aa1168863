import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.ts';
import { deletePrefix, TEST_REDIS_URL, testPrefix, testRedis } from '../helpers/redis.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];

function start(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  // Only the variables this test sets: carrier credentials from the outer shell must not switch modes.
  const child = spawn(process.execPath, ['src/cli.ts', 'all'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('node src/cli.ts all', () => {
  it('starts on Node type stripping, answers /readyz and drains on SIGTERM', async () => {
    const prefix = testPrefix('cli');
    const [port, sandboxPort] = [await freePort(), await freePort()];
    const proc = start({
      REDIS_URL: TEST_REDIS_URL,
      SWITCHBOARD_REDIS_PREFIX: prefix,
      PORT: String(port),
      SANDBOX_PORT: String(sandboxPort),
    });
    const deadline = Date.now() + 20_000;
    let ready: Response | undefined;
    while (Date.now() < deadline && proc.child.exitCode === null) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      if (ready?.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready?.status, proc.output()).toBe(200);
    expect(await ready?.json()).toEqual({ status: 'ready', redis: 'up' });
    expect(proc.output()).toContain('sandbox mode');
    const sandbox = await fetch(`http://127.0.0.1:${sandboxPort}/_sandbox/providers/twilio`);
    expect(sandbox.status).toBe(200);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    const redis = testRedis();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('exits non-zero with one clear line when Redis is not reachable', async () => {
    const deadPort = await freePort();
    const proc = start({
      REDIS_URL: `redis://127.0.0.1:${deadPort}`,
      PORT: String(await freePort()),
      SANDBOX_PORT: String(await freePort()),
    });
    const code = await proc.exited;
    expect(code).not.toBe(0);
    expect(proc.output()).toMatch(/Redis is not reachable at redis:\/\/127\.0\.0\.1:\d+\. Start one/);
  });

  it('never prints the REDIS_URL password when Redis is not reachable', async () => {
    const deadPort = await freePort();
    const proc = start({
      REDIS_URL: `redis://app:s3cret-pw@127.0.0.1:${deadPort}/0`,
      PORT: String(await freePort()),
      SANDBOX_PORT: String(await freePort()),
    });
    expect(await proc.exited).not.toBe(0);
    expect(proc.output()).toMatch(/Redis is not reachable at redis:\/\/\*\*\*@127\.0\.0\.1:\d+\/0\./);
    expect(proc.output()).not.toContain('s3cret-pw');
  });

  it('lists every configuration problem at once', async () => {
    const proc = start({ REDIS_URL: 'http://nope', PORT: 'eighty', SWITCHBOARD_REDIS_PREFIX: 'has:colon' });
    const code = await proc.exited;
    expect(code).toBe(78);
    const out = proc.output();
    expect(out).toContain('redis.url');
    expect(out).toContain('api.port');
    expect(out).toContain('redis.prefix');
  });
});
