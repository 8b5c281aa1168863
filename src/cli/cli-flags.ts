/**
 * Typed reads of `node:util` `parseArgs` values, with errors that name the flag: a mistyped
 * number should say `--ack-timeout-ms must be an integer`, not fail later in the gateway.
 */
import { CliUsageError } from './ops-context.ts';

/** `parseArgs` values (no option here is `multiple`, but the type allows it). */
export type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/** The flag's string value, if given. */
export function stringFlag(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Whether a boolean flag was given. */
export function boolFlag(values: FlagValues, name: string): boolean {
  return values[name] === true;
}

/** An integer flag within `range`, or a usage error naming the flag. */
export function intFlag(values: FlagValues, name: string, range: { min: number; max: number }): number | undefined {
  const v = stringFlag(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || n < range.min || n > range.max)
    throw new CliUsageError(`--${name} must be an integer from ${range.min} to ${range.max}, got "${v}"`);
  return n;
}

/** A flag holding a JSON object (e.g. `--metadata`). */
export function jsonObjectFlag(values: FlagValues, name: string): Record<string, unknown> | undefined {
  const v = stringFlag(values, name);
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw new CliUsageError(`--${name} must be a JSON object, e.g. '{"k":"v"}'`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new CliUsageError(`--${name} must be a JSON object, e.g. '{"k":"v"}'`);
  return parsed as Record<string, unknown>;
}
