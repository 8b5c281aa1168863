/**
 * The two packages of CONTRACTS §9, installed where users install them: a project outside the
 * repository. The gateway tarball (`npm pack`, built by prepack) and the client tarball
 * (`npm run pack:client`) are installed there from the npm cache only (`npm ci --offline`; the
 * cache holds every dependency since this repository's own `npm ci`), then the installed
 * `switchboard all` delivers a message that the installed client sends and reads.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.ts';
import { ROOT, waitForOk, type RoleProcess } from '../helpers/processes.ts';
import { deletePrefix, TEST_REDIS_URL, testPrefix, testRedis } from '../helpers/redis.ts';

const run = promisify(execFile);
interface Manifest {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  overrides: Record<string, string>;
}
interface LockEntry {
  dev?: boolean;
  [field: string]: unknown;
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
const gatewayTgz = `switchboard-${manifest.version}.tgz`;
const clientTgz = `switchboard-client-${manifest.version}.tgz`;
/** npm on the PATH of the pinned Node (npm scripts put it first), with this repository's cache. */
const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

/**
 * The outside project's lockfile: the gateway's own production entries (the versions this
 * repository is tested with, as its shrinkwrap pins them) plus the two tarballs, so `npm ci
 * --offline` needs nothing but the cache.
 */
function writeOutsideProject(dir: string): void {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const dependencies = { switchboard: `file:${join(dir, gatewayTgz)}`, 'switchboard-client': `file:${join(dir, clientTgz)}` };
  const packages: Record<string, unknown> = { '': { name: 'outside', version: '1.0.0', dependencies } };
  for (const [path, entry] of Object.entries(lock.packages)) if (path !== '' && entry.dev !== true) packages[path] = entry;
  packages['node_modules/switchboard'] = {
    version: manifest.version,
    resolved: dependencies.switchboard,
    license: manifest.license,
    dependencies: manifest.dependencies,
    bin: manifest.bin,
    engines: manifest.engines,
  };
  packages['node_modules/switchboard-client'] = {
    version: manifest.version,
    resolved: dependencies['switchboard-client'],
    license: manifest.license,
    engines: { node: '>=22' },
  };
  // Overrides apply from the root project only: the outside project repeats the gateway's.
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      { name: 'outside', version: '1.0.0', private: true, type: 'module', dependencies, overrides: manifest.overrides },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'outside', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}

let dir: string;
let redis: Redis;
let gateway: RoleProcess | undefined;
const prefix = testPrefix('pkg');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-outside-'));
  redis = testRedis();
  await run('npm', ['pack', '--pack-destination', dir], { cwd: ROOT, env: npmEnv, maxBuffer: 64 * 1024 * 1024 });
  await run('npm', ['run', 'pack:client'], { cwd: ROOT, env: npmEnv, maxBuffer: 16 * 1024 * 1024 });
  renameSync(join(ROOT, clientTgz), join(dir, clientTgz));
  writeOutsideProject(dir);
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env: npmEnv, maxBuffer: 16 * 1024 * 1024 }).catch(
    (err: Error & { stderr?: string }) => {
      throw new Error(
        `npm ci --offline in the outside project failed (is the npm cache ` +
          `filled by this repository's npm ci?):\n${err.stderr ?? err.message}`,
      );
    },
  );
}, 400_000);

afterAll(async () => {
  await gateway?.stop();
  await deletePrefix(redis, prefix).catch(() => undefined);
  redis.disconnect();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packages', () => {
  it('leave the checkout as it was after packing (no dist/, no shrinkwrap, no client tarball)', () => {
    expect(existsSync(join(ROOT, 'dist'))).toBe(false);
    expect(existsSync(join(ROOT, 'npm-shrinkwrap.json'))).toBe(false);
    expect(existsSync(join(ROOT, clientTgz))).toBe(false);
  });

  it('ship the client as compiled ESM with declarations, an exports map and no runtime dependencies', () => {
    const client = JSON.parse(readFileSync(join(dir, 'node_modules/switchboard-client/package.json'), 'utf8')) as Record<string, unknown>;
    expect(client['dependencies']).toBeUndefined();
    expect(client['type']).toBe('module');
    expect(client['exports']).toEqual({ '.': { types: './client.d.ts', default: './client.js' } });
    const dts = readFileSync(join(dir, 'node_modules/switchboard-client/client.d.ts'), 'utf8');
    expect(dts).toMatch(/export declare class SwitchboardClient/);
    expect(dts).toMatch(/export declare class SwitchboardError/);
  });

  it('ship the gateway as JavaScript with its default config and no TypeScript sources', () => {
    const pkgDir = join(dir, 'node_modules/switchboard');
    expect(existsSync(join(pkgDir, 'dist/src/cli.js'))).toBe(true);
    expect(existsSync(join(pkgDir, 'dist/src/store/lua/commit.lua'))).toBe(true);
    expect(existsSync(join(pkgDir, 'dist/config/default.yaml'))).toBe(true);
    expect(existsSync(join(pkgDir, 'src'))).toBe(false);
    expect(existsSync(join(pkgDir, 'dist/config/keys.yaml'))).toBe(false);
  });

  it('run outside the repository: the installed gateway delivers a message the installed client sends and reads', async () => {
    const [port, sandboxPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(join(dir, 'node_modules/.bin/switchboard'), ['all'], {
      cwd: dir,
      env: {
        PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
        HOME: process.env['HOME'] ?? '/tmp',
        LOG_LEVEL: 'warn',
        REDIS_URL: TEST_REDIS_URL,
        SWITCHBOARD_REDIS_PREFIX: prefix,
        PORT: String(port),
        SANDBOX_PORT: String(sandboxPort),
        METRICS_PORT: String(metricsPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    gateway = {
      child,
      output: () => out,
      exited,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
    await waitForOk(`http://127.0.0.1:${port}/healthz`, gateway, 60_000);

    const script = `
      import { SwitchboardClient } from 'switchboard-client';
      const sb = new SwitchboardClient({ baseUrl: 'http://127.0.0.1:${port}', apiKey: 'sandbox-key' });
      const sent = await sb.send({ to: '+14155550142', body: 'from outside the repository' });
      let msg;
      for (let i = 0; i < 100; i++) {
        msg = await sb.get(sent.id);
        if (msg.status === 'delivered') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      console.log(JSON.stringify({ sent: sent.status, id: sent.id, status: msg.status, provider: msg.attempts?.[0]?.provider }));
    `;
    writeFileSync(join(dir, 'send.mjs'), script);
    const { stdout } = await run(process.execPath, ['send.mjs'], { cwd: dir });
    const result = JSON.parse(stdout.trim()) as { sent: string; id: string; status: string; provider?: string };
    expect(result.sent).toBe('accepted');
    expect(result.status).toBe('delivered');
    expect(await redis.exists(`${prefix}:msg:${result.id}`)).toBe(1);
  }, 120_000);
});
