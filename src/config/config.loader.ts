/**
 * Builds the configuration from `config/default.yaml`, `config/sandbox.yaml` (sandbox mode only)
 * and the environment (CONTRACTS §5), validates it with the one schema, and reports every
 * problem at once — an operator fixing a deployment should not discover errors one restart at a time.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { providerRegistry } from '../../providers/index.ts';
import { apiKeyScopeSchema, configSchema, type ApiKeyRecord, type Config } from './config.schema.ts';
import { duplicateKeyProblems, mergeKeysFile } from './keys-file.ts';
import { effectiveKeyPrefix, parseRedisUrl, RedisUrlError } from './redis-url.parse.ts';

/** Thrown when the configuration is unusable; `problems` lists every one of them. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration — fix these and start again:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Carrier credential variables (each provider's `env`); one of them set means "live" unless SWITCHBOARD_MODE says otherwise. */
export const CARRIER_CREDENTIAL_VARS: readonly string[] = providerRegistry.modules.flatMap((m) =>
  m.env.filter((e) => e.credential === true).map((e) => e.variable),
);

export const DEFAULT_CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../config');

type Env = Record<string, string | undefined>;
type Tree = Record<string, unknown>;

export interface LoadConfigOptions {
  env?: Env;
  configDir?: string;
  /** Values applied last (tests). */
  overrides?: Tree;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge where arrays and scalars of `b` replace those of `a`. */
export function deepMerge(a: Tree, b: Tree): Tree {
  const out: Tree = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isTree(prev) && isTree(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isTree(next)) node[part] = {};
    node = node[part] as Tree;
  }
  node[parts[parts.length - 1] as string] = value;
}

function readYaml(file: string, problems: string[]): Tree {
  if (!existsSync(file)) return {};
  try {
    const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
    if (parsed === null || parsed === undefined) return {};
    if (!isTree(parsed)) {
      problems.push(`${file}: the top level must be a mapping`);
      return {};
    }
    return parsed;
  } catch (err) {
    problems.push(`${file}: ${(err as Error).message}`);
    return {};
  }
}

const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * Parses `name:key[:scope+scope]` entries (CONTRACTS §5). `key` may be `sha256:<hex>` so that the
 * plain key never has to sit in the environment. Missing scopes mean `send+read+verify`.
 */
export function parseApiKeysSpec(spec: string, problems: string[], source = 'SWITCHBOARD_API_KEYS'): ApiKeyRecord[] {
  const out: ApiKeyRecord[] = [];
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([^:]+):(sha256:[0-9a-fA-F]{64}|[^:]+)(?::(.+))?$/.exec(raw);
    if (!m) {
      problems.push(`${source}: entry "${raw.split(':')[0]}:…" is not name:key[:scope+scope]`);
      continue;
    }
    const [, name, key, scopeText] = m as unknown as [string, string, string, string | undefined];
    const scopes = (scopeText ?? 'send+read+verify').split('+');
    const bad = scopes.filter((s) => !apiKeyScopeSchema.safeParse(s).success);
    if (bad.length > 0) {
      problems.push(`${source}: key "${name}" has unknown scope(s) ${bad.join(', ')} (use send, read, verify, admin)`);
      continue;
    }
    const sha256 = key.startsWith('sha256:') ? key.slice(7).toLowerCase() : hashKey(key);
    out.push({ name, sha256, scopes: scopes as ApiKeyRecord['scopes'] });
  }
  return out;
}

/** YAML key entries may carry a plain `key` (sandbox files only); it is hashed here and dropped. */
function normalizeYamlKeys(tree: Tree): void {
  const keys = tree['apiKeys'];
  if (!Array.isArray(keys)) return;
  tree['apiKeys'] = keys.map((k: unknown) => {
    if (isTree(k) && typeof k['key'] === 'string') {
      const { key, ...rest } = k;
      return { ...rest, sha256: hashKey(key as string) };
    }
    return k;
  });
}

const ENV_MAP: ReadonlyArray<readonly [string, string]> = [
  ['LOG_LEVEL', 'logLevel'],
  ['REDIS_URL', 'redis.url'],
  ['SWITCHBOARD_REDIS_PREFIX', 'redis.prefix'],
  ['SWITCHBOARD_WAIT_REPLICAS', 'intake.waitReplicas'],
  ['SWITCHBOARD_SEND_BATCH_MAX', 'intake.sendBatchMax'],
  ['PORT', 'api.port'],
  ['HOST', 'api.host'],
  ['SWITCHBOARD_PUBLIC_URL', 'api.publicUrl'],
  ['SANDBOX_PORT', 'sandbox.port'],
  ['SANDBOX_HOST', 'sandbox.host'],
  ['SWITCHBOARD_SANDBOX_URL', 'sandbox.url'],
  ['METRICS_PORT', 'metrics.port'],
  // Each provider's own variables (credentials, callback secrets) set options of its section.
  ...providerRegistry.modules.flatMap((m) => m.env.map((e) => [e.variable, `providers.${m.id}.${e.option}`] as const)),
  ['SWITCHBOARD_ENCRYPTION_KEY', 'secrets.encryptionKey'],
  ['SWITCHBOARD_WEBHOOK_SECRET', 'secrets.webhookSecret'],
];

/** Loads and validates the configuration; throws `ConfigError` listing every problem. */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  // SWITCHBOARD_CONFIG_DIR: another folder of the same YAML files (tests give spawned roles their own).
  const dir = opts.configDir ?? (env['SWITCHBOARD_CONFIG_DIR'] || DEFAULT_CONFIG_DIR);
  const problems: string[] = [];

  const explicitMode = env['SWITCHBOARD_MODE'];
  if (explicitMode !== undefined && explicitMode !== 'sandbox' && explicitMode !== 'live') {
    problems.push(`SWITCHBOARD_MODE: "${explicitMode}" is not sandbox or live`);
  }
  const hasCredential = CARRIER_CREDENTIAL_VARS.some((v) => (env[v] ?? '') !== '');
  const mode = explicitMode === 'live' || explicitMode === 'sandbox' ? explicitMode : hasCredential ? 'live' : 'sandbox';

  let tree: Tree = deepMerge(
    { routing: readYaml(join(dir, 'routing.yaml'), problems), pricing: readYaml(join(dir, 'pricing.yaml'), problems) },
    readYaml(join(dir, 'default.yaml'), problems),
  );
  if (mode === 'sandbox') tree = deepMerge(tree, readYaml(join(dir, 'sandbox.yaml'), problems));
  normalizeYamlKeys(tree);
  tree['mode'] = mode;

  for (const [name, path] of ENV_MAP) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(tree, path, value);
  }
  const keysSpec = env['SWITCHBOARD_API_KEYS'];
  if (keysSpec !== undefined && keysSpec !== '') tree['apiKeys'] = parseApiKeysSpec(keysSpec, problems);
  tree['apiKeys'] = mergeKeysFile(tree['apiKeys'], readYaml(join(dir, 'keys.yaml'), problems), env, problems);
  if (opts.overrides) tree = deepMerge(tree, opts.overrides);

  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  const config = parsed.data;
  problems.push(...duplicateKeyProblems(config.apiKeys));

  try {
    parseRedisUrl(config.redis.url);
  } catch (err) {
    if (!(err instanceof RedisUrlError)) throw err;
    problems.push(`redis.url: ${err.message}`);
  }
  config.redis.prefix = effectiveKeyPrefix(config.redis.url, config.redis.prefix);

  // Derived values: in sandbox mode everything points at this machine.
  if (config.api.publicUrl === undefined && mode === 'sandbox') config.api.publicUrl = `http://127.0.0.1:${config.api.port}`;
  if (config.sandbox.url === undefined) config.sandbox.url = `http://127.0.0.1:${config.sandbox.port}`;
  if (config.api.publicUrl !== undefined) config.api.publicUrl = config.api.publicUrl.replace(/\/+$/, '');

  if (mode === 'live') {
    if (config.api.publicUrl === undefined) problems.push('SWITCHBOARD_PUBLIC_URL: required in live mode (carriers post callbacks there)');
    if (config.apiKeys.length === 0) problems.push('SWITCHBOARD_API_KEYS: live mode needs at least one API key');
    if (config.secrets.encryptionKey === undefined) problems.push('SWITCHBOARD_ENCRYPTION_KEY: required in live mode (32 bytes, base64)');
    // Live never invents a signing secret: a generated one would be printed to a log, and receivers
    // could not have it configured in advance.
    if (config.secrets.webhookSecret === undefined)
      problems.push('SWITCHBOARD_WEBHOOK_SECRET: required in live mode (whsec_<base64>; several space-separated during a rotation)');
    for (const { id, missing } of missingCredentials(config)) {
      problems.push(`${missing.join(' / ')}: ${id} is enabled but lacks credentials (set them, or providers.${id}.enabled: false)`);
    }
  }
  resolveEnabledProviders(config);
  for (const module of providerRegistry.modules) problems.push(...(module.checkSettings?.(sectionOf(config, module.id)) ?? []));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

type ProviderSectionId = keyof Config['providers'];

/** One provider's section, read option by option (the loader only needs presence). */
function sectionOf(config: Config, id: ProviderSectionId): Readonly<Record<string, unknown>> {
  return config.providers[id];
}

/** The variables live mode requires of `id` (its module's `env` marked `requiredLive`), and whether each is set. */
function credentialsOf(config: Config, id: ProviderSectionId): Array<{ field: string; variable: string; set: boolean }> {
  const section = sectionOf(config, id);
  const required = providerRegistry.require(id).env.filter((e) => e.requiredLive === true);
  return required.map(({ option, variable }) => ({
    field: option,
    variable,
    set: typeof section[option] === 'string' && section[option] !== '',
  }));
}

/**
 * Decides `enabled` where the configuration left it open: every carrier in sandbox mode; in live
 * mode, those with any credential set — so a Twilio-only deployment needs no `enabled: false` lines.
 */
function resolveEnabledProviders(config: Config): void {
  for (const id of providerRegistry.ids) {
    const section = config.providers[id];
    section.enabled ??= config.mode === 'sandbox' || credentialsOf(config, id).some((c) => c.set);
  }
}

function missingCredentials(config: Config): Array<{ id: ProviderSectionId; missing: string[] }> {
  resolveEnabledProviders(config);
  const out: Array<{ id: ProviderSectionId; missing: string[] }> = [];
  for (const id of providerRegistry.ids) {
    if (!config.providers[id].enabled) continue;
    const missing = credentialsOf(config, id)
      .filter((c) => !c.set)
      .map((c) => c.variable);
    if (missing.length > 0) out.push({ id, missing });
  }
  return out;
}
