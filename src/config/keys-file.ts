/**
 * `config/keys.yaml`: the rich API key records (scopes, default callback URL, webhook secrets,
 * allowed countries, rate limits, lookup and SIM-swap policy). The file describes keys; it never
 * holds a secret. A key's value comes from `SWITCHBOARD_API_KEYS` (same `name`), from the variable
 * named by `keyEnv`, or is given as its `sha256`; webhook secrets come from the variable named by
 * `webhookSecretsEnv`. So the file can be committed and reviewed like any other config.
 */
import { createHash } from 'node:crypto';

type Env = Record<string, string | undefined>;
type Tree = Record<string, unknown>;

const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);
const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** Fields of a keys.yaml record that name environment variables; they never reach the schema. */
const ENV_FIELDS = ['keyEnv', 'webhookSecretsEnv'] as const;
/** Fields that would put a secret into the file. */
const SECRET_FIELDS = ['key', 'webhookSecrets', 'webhookSecret'] as const;

/**
 * Merges the records of a parsed keys.yaml (`{keys: [...]}`) into the key list built so far
 * (sandbox.yaml or `SWITCHBOARD_API_KEYS`). A record whose `name` is already known enriches that
 * key (its fields win, the known key value stays); a new name needs `keyEnv` or `sha256`.
 * Problems are appended to `problems`, all of them, so an operator fixes the file in one go.
 */
export function mergeKeysFile(known: unknown, file: Tree, env: Env, problems: string[], source = 'config/keys.yaml'): unknown {
  // No file: leave whatever was there for the schema to judge.
  if (Object.keys(file).length === 0) return known;
  const out: unknown[] = Array.isArray(known) ? [...known] : [];
  const records = file['keys'];
  if (!Array.isArray(records)) {
    problems.push(`${source}: expected a top-level \`keys:\` list`);
    return out;
  }
  records.forEach((raw: unknown, i) => {
    const where = `${source}: keys[${i}]`;
    if (!isTree(raw) || typeof raw['name'] !== 'string') {
      problems.push(`${where}: each key needs a \`name\``);
      return;
    }
    const name = raw['name'];
    const secretsInFile = SECRET_FIELDS.filter((f) => raw[f] !== undefined);
    if (secretsInFile.length > 0) {
      problems.push(
        `${where} ("${name}"): ${secretsInFile.join(', ')} must not be in a file; use keyEnv / webhookSecretsEnv or SWITCHBOARD_API_KEYS`,
      );
      return;
    }
    const record: Tree = Object.fromEntries(Object.entries(raw).filter(([k]) => !(ENV_FIELDS as readonly string[]).includes(k)));

    const keyEnv = raw['keyEnv'];
    if (keyEnv !== undefined) {
      const value = typeof keyEnv === 'string' ? env[keyEnv] : undefined;
      if (value === undefined || value === '') {
        problems.push(`${where} ("${name}"): keyEnv names ${String(keyEnv)}, which is not set`);
        return;
      }
      record['sha256'] = /^sha256:[0-9a-fA-F]{64}$/.test(value) ? value.slice(7).toLowerCase() : hashKey(value);
    }
    const secretsEnv = raw['webhookSecretsEnv'];
    if (secretsEnv !== undefined) {
      const value = typeof secretsEnv === 'string' ? env[secretsEnv] : undefined;
      if (value === undefined || value === '') {
        problems.push(`${where} ("${name}"): webhookSecretsEnv names ${String(secretsEnv)}, which is not set`);
        return;
      }
      record['webhookSecrets'] = value.split(/[\s,]+/).filter(Boolean);
    }

    const at = out.findIndex((k) => isTree(k) && k['name'] === name);
    if (at >= 0) {
      out[at] = { ...(out[at] as Tree), ...record };
      return;
    }
    if (record['sha256'] === undefined) {
      problems.push(`${where} ("${name}"): no key value; set keyEnv, sha256, or add "${name}:<key>" to SWITCHBOARD_API_KEYS`);
      return;
    }
    out.push(record);
  });
  return out;
}

/** Two records with one name, or one key value under two names, would make authentication ambiguous. */
export function duplicateKeyProblems(keys: ReadonlyArray<{ name: string; sha256: string }>): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  const hashes = new Map<string, string>();
  for (const k of keys) {
    if (names.has(k.name)) problems.push(`apiKeys: the name "${k.name}" is used twice`);
    names.add(k.name);
    const other = hashes.get(k.sha256);
    if (other !== undefined && other !== k.name) problems.push(`apiKeys: "${k.name}" and "${other}" have the same key value`);
    hashes.set(k.sha256, k.name);
  }
  return problems;
}
