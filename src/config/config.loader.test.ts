import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseApiKeysSpec } from './config.loader.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('loadConfig', () => {
  it('runs in sandbox mode with the documented sandbox key and Twilio credentials when no carrier credential is set', () => {
    const c = loadConfig({ env: {} });
    expect(c.mode).toBe('sandbox');
    expect(c.apiKeys).toEqual([{ name: 'sandbox', sha256: sha('sandbox-key'), scopes: ['send', 'read', 'verify', 'admin'] }]);
    expect(c.providers.twilio.accountSid).toBe(`AC${'0'.repeat(32)}`);
    expect(c.providers.twilio.authToken).toBe('sandbox-twilio-token');
    expect(c.api.publicUrl).toBe('http://127.0.0.1:3000');
    expect(c.sandbox.url).toBe('http://127.0.0.1:3100');
    expect(c.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'sb' });
    expect(c.metrics.port).toBe(9464);
  });

  it('puts every key under one hash tag on Redis Cluster and keeps the plain prefix elsewhere', () => {
    expect(
      loadConfig({ env: { REDIS_URL: 'redis-cluster://10.0.0.1:7000,10.0.0.2:7000', SWITCHBOARD_REDIS_PREFIX: 'gw1' } }).redis,
    ).toEqual({
      url: 'redis-cluster://10.0.0.1:7000,10.0.0.2:7000',
      prefix: '{gw1}',
    });
    expect(loadConfig({ env: { REDIS_URL: 'rediss-cluster://cfg.example.com:6379' } }).redis.prefix).toBe('{sb}');
    expect(loadConfig({ env: { REDIS_URL: 'redis+sentinel://s1:26379/main', SWITCHBOARD_REDIS_PREFIX: '{gw1}' } }).redis.prefix).toBe(
      '{gw1}',
    );
    expect(loadConfig({ env: { SWITCHBOARD_WAIT_REPLICAS: '1' } }).intake).toMatchObject({ waitReplicas: 1, waitReplicasTimeoutMs: 500 });
  });

  it('refuses a malformed REDIS_URL with the accepted forms and without its password', () => {
    let caught: unknown;
    try {
      loadConfig({ env: { REDIS_URL: 'redis-cluster://:hunter2@n1:7000/3' } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toMatch(/redis\.url: .*Accepted forms: redis:\/\//);
    expect((caught as Error).message).not.toContain('hunter2');
  });

  it('enforces the OTP limits by default in sandbox mode, as in live mode', () => {
    const c = loadConfig({ env: {} });
    expect(c.mode).toBe('sandbox');
    expect(c.rateLimits).toMatchObject({ otpMode: 'enforce', otpPerUserPerHour: 3, otpPerNumberPerHour: 5 });
  });

  it('derives the public and sandbox URLs from PORT and SANDBOX_PORT', () => {
    const c = loadConfig({ env: { PORT: '4000', SANDBOX_PORT: '4100' } });
    expect(c.api.publicUrl).toBe('http://127.0.0.1:4000');
    expect(c.sandbox.url).toBe('http://127.0.0.1:4100');
  });

  it('honours every environment variable of this slice', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const c = loadConfig({
      env: {
        REDIS_URL: 'redis://10.0.0.5:6380/2',
        SWITCHBOARD_REDIS_PREFIX: 'gw1',
        PORT: '8080',
        HOST: '0.0.0.0',
        SWITCHBOARD_PUBLIC_URL: 'https://sb.example.com/',
        SANDBOX_PORT: '9100',
        SANDBOX_HOST: '0.0.0.0',
        SWITCHBOARD_SANDBOX_URL: 'http://sandbox:3100',
        METRICS_PORT: '9500',
        LOG_LEVEL: 'debug',
        SWITCHBOARD_API_KEYS: 'svc:secret1:send+read,ops:sha256:' + sha('x') + ':admin',
        SWITCHBOARD_ENCRYPTION_KEY: key,
      },
    });
    expect(c.redis).toEqual({ url: 'redis://10.0.0.5:6380/2', prefix: 'gw1' });
    expect(c.api).toMatchObject({ port: 8080, host: '0.0.0.0', publicUrl: 'https://sb.example.com' });
    expect(c.sandbox).toMatchObject({ port: 9100, host: '0.0.0.0', url: 'http://sandbox:3100' });
    expect(c.metrics.port).toBe(9500);
    expect(c.logLevel).toBe('debug');
    expect(c.apiKeys).toEqual([
      { name: 'svc', sha256: sha('secret1'), scopes: ['send', 'read'] },
      { name: 'ops', sha256: sha('x'), scopes: ['admin'] },
    ]);
    expect(c.secrets.encryptionKey).toBe(key);
  });

  it('switches to live mode when a carrier credential is set, and then demands what live needs', () => {
    let err: unknown;
    try {
      loadConfig({ env: { SWITCHBOARD_TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}` } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toContain('SWITCHBOARD_PUBLIC_URL');
    expect(problems).toContain('SWITCHBOARD_API_KEYS');
    expect(problems).toContain('SWITCHBOARD_ENCRYPTION_KEY');
    expect(problems).toContain('SWITCHBOARD_TWILIO_AUTH_TOKEN');
  });

  it('refuses live mode without SWITCHBOARD_WEBHOOK_SECRET instead of generating and printing one', () => {
    const env = {
      SWITCHBOARD_TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`,
      SWITCHBOARD_TWILIO_AUTH_TOKEN: 'tok',
      SWITCHBOARD_PUBLIC_URL: 'https://sb.example.com',
      SWITCHBOARD_API_KEYS: 'svc:k1',
      SWITCHBOARD_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
    };
    expect(() => loadConfig({ env })).toThrow(/SWITCHBOARD_WEBHOOK_SECRET: required in live mode/);
  });

  it('starts live with everything live needs, without the sandbox credentials', () => {
    const c = loadConfig({
      env: {
        SWITCHBOARD_TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`,
        SWITCHBOARD_TWILIO_AUTH_TOKEN: 'tok',
        SWITCHBOARD_PUBLIC_URL: 'https://sb.example.com',
        SWITCHBOARD_API_KEYS: 'svc:k1',
        SWITCHBOARD_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
        SWITCHBOARD_WEBHOOK_SECRET: `whsec_${Buffer.alloc(24, 1).toString('base64')}`,
      },
    });
    expect(c.mode).toBe('live');
    expect(c.apiKeys.map((k) => k.name)).toEqual(['svc']);
  });

  it('reports every problem at once', () => {
    let err: unknown;
    try {
      loadConfig({
        env: {
          SWITCHBOARD_MODE: 'staging',
          PORT: 'x',
          REDIS_URL: 'mysql://db',
          SWITCHBOARD_API_KEYS: 'bad,svc:k:root',
          SWITCHBOARD_ENCRYPTION_KEY: 'short',
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const p = (err as ConfigError).problems;
    expect(p.length).toBeGreaterThanOrEqual(4);
    const text = p.join('\n');
    for (const s of ['SWITCHBOARD_MODE', 'SWITCHBOARD_API_KEYS', 'api.port', 'redis.url']) expect(text).toContain(s);
  });

  it('reads YAML from the config directory and reports a broken file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sbcfg-'));
    writeFileSync(join(dir, 'default.yaml'), 'send:\n  concurrency: 7\n');
    expect(loadConfig({ env: {}, configDir: dir }).send.concurrency).toBe(7);
    writeFileSync(join(dir, 'default.yaml'), 'send: [unclosed\n');
    expect(() => loadConfig({ env: {}, configDir: dir })).toThrow(/default\.yaml/);
  });
});

describe('parseApiKeysSpec', () => {
  it('defaults scopes to send+read+verify and rejects unknown ones', () => {
    const problems: string[] = [];
    expect(parseApiKeysSpec('a:k', problems)).toEqual([{ name: 'a', sha256: sha('k'), scopes: ['send', 'read', 'verify'] }]);
    expect(parseApiKeysSpec('b:k:superuser', problems)).toEqual([]);
    expect(problems[0]).toContain('unknown scope');
  });
});
