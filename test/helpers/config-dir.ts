/**
 * A private copy of `config/` with overrides, for roles spawned as processes: they read their
 * YAML from `SWITCHBOARD_CONFIG_DIR`, and routing, breaker timings, retry schedules and the like
 * have no environment variable. The overrides are merged into `sandbox.yaml`, the last file the
 * loader applies in sandbox mode (`routing:` and `pricing:` included).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { DEFAULT_CONFIG_DIR, deepMerge } from '../../src/config/config.loader.ts';

export interface ConfigDir {
  dir: string;
  remove(): void;
}

export function writeConfigDir(overrides: Record<string, unknown>): ConfigDir {
  const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
  for (const file of ['default.yaml', 'routing.yaml', 'pricing.yaml']) {
    const from = join(DEFAULT_CONFIG_DIR, file);
    if (existsSync(from)) copyFileSync(from, join(dir, file));
  }
  const sandboxFile = join(DEFAULT_CONFIG_DIR, 'sandbox.yaml');
  const parsed: unknown = existsSync(sandboxFile) ? parseYaml(readFileSync(sandboxFile, 'utf8')) : {};
  const base = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  writeFileSync(join(dir, 'sandbox.yaml'), stringifyYaml(deepMerge(base, overrides)));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
