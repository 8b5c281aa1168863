import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError, DEFAULT_CONFIG_DIR, loadConfig } from './config.loader.ts';
import { mergeKeysFile } from './keys-file.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const SECRET_A = 'whsec_' + Buffer.alloc(24, 1).toString('base64');
const SECRET_B = 'whsec_' + Buffer.alloc(24, 2).toString('base64');

/** A config dir with the shipped default.yaml and sandbox.yaml plus the given keys.yaml. */
function configDirWith(keysYaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sbkeys-'));
  for (const f of ['default.yaml', 'sandbox.yaml']) copyFileSync(join(DEFAULT_CONFIG_DIR, f), join(dir, f));
  writeFileSync(join(dir, 'keys.yaml'), keysYaml);
  return dir;
}

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config/keys.yaml', () => {
  it('enriches a key named in SWITCHBOARD_API_KEYS and takes secrets from the environment', () => {
    const dir = configDirWith(`
keys:
  - name: auth
    scopes: [send, verify]
    callbackUrl: https://auth.example.com/hooks
    webhookSecretsEnv: AUTH_WEBHOOK_SECRETS
    allowedCountries: [US, CA]
    rateLimits: { otpPerUserPerHour: 10 }
    lookup: always
    simSwap: block
    autoUpgradeRcs: true
  - name: reporting
    keyEnv: REPORTING_KEY
    scopes: [read]
`);
    const c = loadConfig({
      configDir: dir,
      env: { SWITCHBOARD_API_KEYS: 'auth:k-auth', AUTH_WEBHOOK_SECRETS: `${SECRET_A} ${SECRET_B}`, REPORTING_KEY: 'k-rep' },
    });
    expect(c.apiKeys).toEqual([
      {
        name: 'auth',
        sha256: sha('k-auth'),
        scopes: ['send', 'verify'],
        callbackUrl: 'https://auth.example.com/hooks',
        webhookSecrets: [SECRET_A, SECRET_B],
        allowedCountries: ['US', 'CA'],
        rateLimits: { otpPerUserPerHour: 10 },
        lookup: 'always',
        simSwap: 'block',
        autoUpgradeRcs: true,
      },
      { name: 'reporting', sha256: sha('k-rep'), scopes: ['read'] },
    ]);
    expect(c.rateLimits).toEqual({ requestsPerSecond: 100, otpPerUserPerHour: 3, otpPerNumberPerHour: 5, otpMode: 'enforce' });
    expect(c.keyDefaults).toEqual({ lookup: 'first-contact', simSwap: 'allow-and-flag', autoUpgradeRcs: false });
  });

  it('enriches the sandbox key when no SWITCHBOARD_API_KEYS is set', () => {
    const c = loadConfig({ configDir: configDirWith('keys:\n  - name: sandbox\n    allowedCountries: [US]\n'), env: {} });
    expect(c.apiKeys).toEqual([
      { name: 'sandbox', sha256: sha('sandbox-key'), scopes: ['send', 'read', 'verify', 'admin'], allowedCountries: ['US'] },
    ]);
  });

  it('refuses secrets in the file, missing variables, keys without a value and invalid policies, all at once', () => {
    const dir = configDirWith(`
keys:
  - name: plain
    key: oops
  - name: nokey
    scopes: [send]
  - name: missing-env
    keyEnv: NOT_SET
  - name: bad-policy
    sha256: ${sha('x')}
    scopes: [send]
    simSwap: sometimes
    allowedCountries: [usa]
    rateLimits: { requestsPerSecond: 0, burst: 4 }
`);
    const text = problemsOf(() => loadConfig({ configDir: dir, env: {} }));
    expect(text).toMatch(/"plain".*must not be in a file/);
    expect(text).toMatch(/"nokey".*no key value/);
    expect(text).toMatch(/"missing-env".*NOT_SET/);
    expect(text).toMatch(/simSwap/);
    expect(text).toMatch(/allowedCountries/);
    expect(text).toMatch(/rateLimits/);
  });

  it('refuses two names with the same key value', () => {
    const dir = configDirWith(`keys:\n  - name: twin\n    sha256: ${sha('sandbox-key')}\n    scopes: [read]\n`);
    expect(problemsOf(() => loadConfig({ configDir: dir, env: {} }))).toMatch(/"twin" and "sandbox" have the same key value/);
  });

  it('leaves the key list alone when there is no keys.yaml', () => {
    const problems: string[] = [];
    const known = [{ name: 'a' }];
    expect(mergeKeysFile(known, {}, {}, problems)).toBe(known);
    expect(problems).toEqual([]);
  });

  it('ships an example that loads once its variables are set', () => {
    const example = readFileSync(join(DEFAULT_CONFIG_DIR, 'keys.example.yaml'), 'utf8');
    const parsed = parseYaml(example) as { keys: Array<{ name: string }> };
    expect(parsed.keys.map((k) => k.name)).toEqual(['auth-service', 'ops']);
    const c = loadConfig({
      configDir: configDirWith(example),
      env: { SWITCHBOARD_KEY_AUTH_SERVICE: 'k1', SWITCHBOARD_WEBHOOK_SECRETS_AUTH_SERVICE: SECRET_A },
    });
    expect(c.apiKeys.map((k) => k.name)).toEqual(['sandbox', 'auth-service', 'ops']);
    expect(c.apiKeys[1]).toMatchObject({ webhookSecrets: [SECRET_A], simSwap: 'push-only', rateLimits: { requestsPerSecond: 50 } });
  });
});
