/**
 * A strict parser of the Prometheus text exposition format (0.0.4): every line must be a HELP,
 * a TYPE or a well-formed sample whose metric family was typed — so a test fails on output a real
 * Prometheus would reject.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE_RE = new RegExp(`^(${NAME})(\\{(.*)\\})? (\\S+)( -?\\d+)?$`);
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

/** Like Prometheus (Go's ParseFloat): NaN and Inf are case-insensitive. */
function parseValue(v: string): number {
  const lower = v.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const n = Number(v);
  if (v.trim() === '' || Number.isNaN(n)) throw new Error(`bad sample value "${v}"`);
  return n;
}

export function parsePrometheusText(text: string): Sample[] {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line === '') return;
    if (line.startsWith('# HELP ')) {
      if (!new RegExp(`^# HELP ${NAME} `).test(line)) throw new Error(`bad HELP, ${where}`);
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
      if (!m) throw new Error(`bad TYPE, ${where}`);
      types.set(m[1] as string, m[2] as string);
      return;
    }
    if (line.startsWith('#')) return;
    const m = SAMPLE_RE.exec(line);
    if (!m) throw new Error(`bad sample, ${where}`);
    const name = m[1] as string;
    const family = [...types.keys()].find(
      (t) => name === t || name === `${t}_bucket` || name === `${t}_sum` || name === `${t}_count` || name === `${t}_total`,
    );
    if (family === undefined) throw new Error(`sample of an untyped family, ${where}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    LABEL_RE.lastIndex = 0;
    while (LABEL_RE.lastIndex < body.length) {
      const lm = LABEL_RE.exec(body);
      if (!lm) throw new Error(`bad labels, ${where}`);
      labels[lm[1] as string] = (lm[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name, labels, value: parseValue(m[4] as string) });
  });
  return samples;
}

/** Sum of the samples of `name` whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((acc, s) => acc + s.value, 0);
}
