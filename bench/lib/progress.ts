/**
 * Progress on stderr. On a terminal: one bar redrawn in place at most 10 times a second. Piped
 * (CI, tests): one line when a phase starts and one when it ends, so logs stay short.
 */
export class Progress {
  private readonly tty: boolean;
  private readonly out: NodeJS.WriteStream;
  private label = '';
  private total = 0;
  private startedAt = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.out = out;
    this.tty = out.isTTY === true;
  }

  /** A free-standing note (clears the bar first). */
  note(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
  }

  start(label: string, total: number): void {
    this.clear();
    this.label = label;
    this.total = total;
    this.startedAt = Date.now();
    this.lastDraw = 0;
    if (!this.tty) this.out.write(`… ${label}\n`);
  }

  update(done: number, extra = ''): void {
    if (!this.tty) return;
    const t = Date.now();
    if (t - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = t;
    const width = 28;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const filled = Math.round(frac * width);
    const secs = ((t - this.startedAt) / 1000).toFixed(1);
    const cols = this.out.columns ?? 120;
    const line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(frac * 100)
      .toString()
      .padStart(3)}% ${done.toLocaleString('en-US')}/${this.total.toLocaleString('en-US')} ${secs}s ${extra}`;
    this.out.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
    this.drawn = true;
  }

  finish(summary: string): void {
    this.clear();
    this.out.write(`✓ ${this.label}: ${summary}\n`);
  }

  private clear(): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}
