/**
 * The result file (CONTRACTS §8, exact shape) and the table printed at the end of a run.
 */
import { cpus } from 'node:os';
import type { BenchMode } from './args.ts';
import type { Percentiles } from './stats.ts';

/** `bench-results.json` (CONTRACTS §8): milliseconds and messages per second. */
export interface BenchResult {
  mode: BenchMode;
  runs: number;
  redisPersistence: string;
  pipeline: {
    throughputMsgPerSec: number;
    latencyMs: Record<string, Percentiles>;
    rssMb: { api: number; worker: number; sandbox: number };
  };
  baseline: { throughputMsgPerSec: number };
  ratioToBaseline: number;
  machine: { cpus: number; node: string };
}

export const machine = (): BenchResult['machine'] => ({ cpus: cpus().length, node: process.version });

/** Debian's Kannel 1.4.5 on this machine (HTTP sendsms → fake SMSC, 10 clients): a reference figure, not measured by this harness. */
export const KANNEL_REFERENCE_MSG_PER_SEC = 5_800;

export type Cell = string | number;

const fmt = (c: Cell): string =>
  typeof c === 'number' ? (Number.isInteger(c) ? c.toLocaleString('en-US') : c.toLocaleString('en-US', { maximumFractionDigits: 2 })) : c;

/** A plain aligned text table: first column left-aligned, the others right-aligned. */
export function table(header: Cell[], rows: Cell[][]): string {
  const all = [header, ...rows].map((r) => r.map(fmt));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(all[0] as string[]), sep, ...all.slice(1).map(line)].join('\n');
}
