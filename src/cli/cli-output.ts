/**
 * Human output of the ops commands: aligned tables, a progress bar that redraws in place on a
 * terminal (and stays quiet in logs and pipes), and compact time and money formats. Plain text:
 * no colour library, nothing that breaks when stdout is a file.
 */

/** Renders rows as an aligned text table; numbers are right-aligned. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map(
    (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || /^-?[\d.]+$/.test(String(r[i] ?? ''))),
  );
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** `0.0075` → `0.0075`, `0.0560` → `0.056`, `0` → `0`: trailing zeros trimmed, at most 6 decimals (carrier prices go that fine). */
export function formatUsd(amount: number): string {
  if (amount === 0) return '0';
  return (Math.round(amount * 1e6) / 1e6).toFixed(6).replace(/0+$/, '').replace(/\.$/, '.0');
}

/** `HH:MM:SS.mmm` of an ISO time, for timelines read by people. */
export function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(11, 23);
}

/**
 * A one-line progress bar. On a terminal it redraws in place; elsewhere it prints a line only
 * when the phase changes, so CI logs stay short.
 */
export class ProgressBar {
  private readonly write: (text: string) => void;
  private readonly interactive: boolean;
  private readonly width: number;
  private lastLabel: string | undefined;
  private last: { done: number; total: number } | undefined;
  private drawn = false;

  constructor(opts: { write: (text: string) => void; interactive: boolean; width?: number }) {
    this.write = opts.write;
    this.interactive = opts.interactive;
    this.width = opts.width ?? 28;
  }

  update(done: number, total: number, label: string): void {
    this.last = { done, total };
    if (this.interactive) {
      const ratio = total === 0 ? 0 : Math.min(1, done / total);
      const filled = Math.round(ratio * this.width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(this.width - filled)}`;
      this.write(`\r\x1b[2K[${bar}] ${String(done).padStart(String(total).length)}/${total}  ${label}`);
      this.drawn = true;
    } else if (label !== this.lastLabel) {
      this.write(`[${done}/${total}] ${label}\n`);
    }
    this.lastLabel = label;
  }

  /** Prints a line above the bar (on a terminal the bar is cleared and redrawn under it). */
  note(line: string): void {
    if (this.interactive && this.drawn) {
      this.write(`\r\x1b[2K${line}\n`);
      this.drawn = false;
      if (this.last !== undefined && this.lastLabel !== undefined) this.update(this.last.done, this.last.total, this.lastLabel);
    } else {
      this.write(`${line}\n`);
    }
  }

  /** Ends the bar's line so later output starts clean. */
  finish(): void {
    if (this.interactive && this.drawn) this.write('\n');
    this.drawn = false;
  }
}
