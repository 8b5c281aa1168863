/**
 * The import rules of DESIGN §3 (`.dependency-cruiser.cjs`), checked in `npm test`: no
 * cycle (type-only imports included), no upward import between the layers, providers never import
 * src, src reaches providers only through the registry, the domain does no I/O. A second cruise over
 * a planted tree proves each rule bites, so a rule that silently matches nothing (a path pattern
 * gone stale, `.ts` specifiers not resolved) fails here rather than passing everything.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cruise, type ICruiseOptions, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

type Violation = ICruiseResult['summary']['violations'][number];

/** One line per violation: rule, edge, and for a cycle the whole loop. */
function describeViolation(v: Violation): string {
  const loop = v.cycle && v.cycle.length > 0 ? ` (cycle: ${[v.from, ...v.cycle.map((c) => c.name)].join(' → ')})` : '';
  return `${v.rule.name}: ${v.from} → ${v.to}${loop}`;
}

async function cruiseTree(baseDir: string, roots: string[]): Promise<ICruiseResult> {
  const options: ICruiseOptions = await extractDepcruiseOptions(path.join(ROOT, '.dependency-cruiser.cjs'));
  const tsConfig = extractTSConfig(path.join(ROOT, 'tsconfig.json'));
  const result = await cruise(roots, { ...options, baseDir }, {}, { tsConfig });
  if (typeof result.output === 'string') throw new Error('dependency-cruiser returned a report, not a cruise result');
  return result.output;
}

describe('layering (DESIGN §3, .dependency-cruiser.cjs)', () => {
  it('finds no cycle, upward import or provider breach in src/, providers/ and test/', async () => {
    const result = await cruiseTree(ROOT, ['src', 'providers', 'test']);
    // the rules only see what resolved: a cruise that found (almost) nothing proves nothing
    expect(result.summary.totalCruised).toBeGreaterThan(300);
    const lines = result.summary.violations.map(describeViolation);
    if (lines.length > 0) console.error(`layering violations (${lines.length}):\n  ${lines.join('\n  ')}`);
    expect(lines).toEqual([]);
  });

  describe('on a planted tree', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-layering-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const files: Record<string, string> = {
      'src/domain/status.ts':
        "import { readFileSync } from 'node:fs';\nimport { app } from '../api/app.ts';\nexport const status = [readFileSync, app];\n",
      'src/domain/status.test.ts': "import { app } from '../api/app.ts';\nexport const t = app;\n",
      'src/metrics/metrics.ts': "import { queues } from '../queues/queue-set.ts';\nexport const metrics = queues;\n",
      'src/queues/queue-set.ts': 'export const queues = 1;\n',
      'src/pipeline/a.stage.ts':
        "import type { B } from './b.stage.ts';\n" +
        "import type { Channel } from '../../providers/provider.ts';\nexport type A = { b?: B; c?: Channel };\n",
      'src/pipeline/b.stage.ts': "import type { A } from './a.stage.ts';\nexport type B = { a?: A };\n",
      'src/routing/router.ts':
        "import { adapter } from '../../providers/twilio/twilio.adapter.ts';\n" +
        "import { ProviderError } from '../../providers/errors.ts';\nexport const router = [adapter, ProviderError];\n",
      'src/api/app.ts':
        "import { workers } from '../workers/worker-set.ts';\n" +
        "import { registry } from '../../providers/index.ts';\nexport const app = [workers, registry];\n",
      'src/workers/worker-set.ts': 'export const workers = 1;\n',
      'src/cli.ts': "import { x } from './unlayered/x.ts';\nexport const cli = x;\n",
      'src/unlayered/x.ts': 'export const x = 1;\n',
      'providers/provider.ts': 'export type Channel = string;\n',
      'providers/errors.ts': 'export class ProviderError extends Error {}\n',
      'providers/index.ts': "export const registry = 1;\nexport { ProviderError } from './errors.ts';\n",
      'providers/twilio/twilio.adapter.ts': "import { status } from '../../src/domain/status.ts';\nexport const adapter = status;\n",
    };
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }

    it('reports each planted violation under its rule, and nothing for the allowed imports', async () => {
      const result = await cruiseTree(dir, ['src', 'providers']);
      const cycle = /^no-circular: src\/pipeline\/(a\.stage\.ts → src\/pipeline\/b|b\.stage\.ts → src\/pipeline\/a)\.stage\.ts$/;
      const found = result.summary.violations
        .map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)
        .map((line) => (cycle.test(line) ? 'no-circular: a ⇄ b' : line))
        .sort();
      expect(found).toEqual(
        [
          'domain-does-no-io: src/domain/status.ts → fs',
          'no-upward-from-domain: src/domain/status.ts → src/api/app.ts',
          'no-upward-from-observability: src/metrics/metrics.ts → src/queues/queue-set.ts',
          // a type-only cycle is one violation, reported from either end
          'no-circular: a ⇄ b',
          'src-imports-providers-via-index: src/routing/router.ts → providers/twilio/twilio.adapter.ts',
          'src-provider-contracts-type-only: src/routing/router.ts → providers/errors.ts',
          'no-role-to-role-from-api: src/api/app.ts → src/workers/worker-set.ts',
          'src-in-a-layer: src/cli.ts → src/unlayered/x.ts',
          'providers-never-import-src: providers/twilio/twilio.adapter.ts → src/domain/status.ts',
        ].sort(),
      );
    });
  });
});
