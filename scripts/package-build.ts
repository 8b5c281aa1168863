/**
 * Builds what the packages of CONTRACTS §9 ship, for `npm pack` (prepack / postpack) and
 * `npm run pack:client`.
 *
 * - `gateway`: compiles src/ and providers/ to dist/ (Node strips types only outside
 *   node_modules, so an installed package must carry JavaScript), copies the files the code reads
 *   at run time (Lua scripts, console assets…) beside them, the default config/ to dist/config/
 *   (where the loader looks, relative to itself), and the lockfile as npm-shrinkwrap.json so an
 *   install gets the dependency versions this repository was tested with.
 * - `clean`: removes what `gateway` made (postpack), so a checkout keeps running its sources.
 * - `client`: compiles src/client.ts with its declarations into a package of its own, with no
 *   runtime dependencies, and packs it as switchboard-client-<version>.tgz at the repository root.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; license: string; description: string };

function compile(project: string): void {
  execFileSync(process.execPath, [tsc, '-p', join(root, project)], { cwd: root, stdio: 'inherit' });
}

/** Every file under `dir` that is neither TypeScript nor a test: what the code reads beside itself. */
function assets(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...assets(path));
    else if (!name.endsWith('.ts') && !/\.test\./.test(name)) out.push(path);
  }
  return out;
}

function buildGateway(): void {
  const dist = join(root, 'dist');
  rmSync(dist, { recursive: true, force: true });
  compile('tsconfig.build.json');
  for (const top of ['src', 'providers']) {
    for (const file of assets(join(root, top))) {
      const to = join(dist, relative(root, file));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(file, to);
    }
  }
  // The operator's own keys never ship; the example does.
  cpSync(join(root, 'config'), join(dist, 'config'), { recursive: true, filter: (src) => !src.endsWith('keys.yaml') });
  copyFileSync(join(root, 'package-lock.json'), join(root, 'npm-shrinkwrap.json'));
}

function clean(): void {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  rmSync(join(root, 'npm-shrinkwrap.json'), { force: true });
}

function packClient(): void {
  const out = join(root, 'dist-client');
  rmSync(out, { recursive: true, force: true });
  compile('tsconfig.client.json');
  const manifest = {
    name: 'switchboard-client',
    version: pkg.version,
    description: 'Typed Node client for the Switchboard messaging gateway HTTP API (send, get, verify, conversion).',
    license: pkg.license,
    type: 'module',
    exports: { '.': { types: './client.d.ts', default: './client.js' } },
    main: './client.js',
    types: './client.d.ts',
    files: ['client.js', 'client.d.ts', 'README.md'],
    engines: { node: '>=22' },
    sideEffects: false,
  };
  writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(
    join(out, 'README.md'),
    [
      '# switchboard-client',
      '',
      'Typed client for the Switchboard gateway HTTP API. No runtime dependencies; Node ≥ 22.',
      '',
      '```js',
      "import { SwitchboardClient, SwitchboardError } from 'switchboard-client';",
      '',
      "const sb = new SwitchboardClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: process.env.SWITCHBOARD_API_KEY });",
      "const { id } = await sb.send({ to: '+14155550100', otp: {} }, { idempotencyKey: 'login-42' });",
      '```',
      '',
    ].join('\n'),
  );
  execFileSync('npm', ['pack', '--pack-destination', root], { cwd: out, stdio: 'inherit' });
  rmSync(out, { recursive: true, force: true });
}

const task = process.argv[2];
if (task === 'gateway') buildGateway();
else if (task === 'clean') clean();
else if (task === 'client') packClient();
else {
  console.error('usage: node scripts/package-build.ts gateway | clean | client');
  process.exit(2);
}
