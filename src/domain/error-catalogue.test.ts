import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from './error-catalogue.ts';

const README = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');

function readmeRows(): Map<string, { status: string; description: string }> {
  const rows = new Map<string, { status: string; description: string }>();
  for (const line of README.split('\n')) {
    const m = /^\| `(SB_[A-Z_]+)` \| (\d{3}|—) \| (.+) \|$/.exec(line);
    if (m) rows.set(m[1] as string, { status: m[2] as string, description: m[3] as string });
  }
  return rows;
}

describe('the error catalogue', () => {
  it('matches the error table of docs/api.md code for code, status for status', () => {
    const rows = readmeRows();
    const expected = new Map(
      Object.entries(ERROR_CATALOGUE).map(([code, e]) => [
        code,
        { status: e.status === 0 ? '—' : String(e.status), description: e.description },
      ]),
    );
    expect(rows).toEqual(expected);
  });

  it('names every code SB_<AREA>[_<WHAT>]', () => {
    for (const code of Object.keys(ERROR_CATALOGUE)) expect(code).toMatch(/^SB_[A-Z]+(_[A-Z]+)*$/);
  });

  it('has no code in src that the catalogue lacks', async () => {
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync('grep', ['-rhoE', "'SB_[A-Z_]+'", 'src', 'providers', '--include=*.ts'], {
      cwd: new URL('../..', import.meta.url),
      encoding: 'utf8',
    });
    const used = new Set(
      out
        .split('\n')
        .filter(Boolean)
        .map((s) => s.slice(1, -1)),
    );
    const known = new Set(Object.keys(ERROR_CATALOGUE));
    expect([...used].filter((c) => !known.has(c))).toEqual([]);
  });
});
