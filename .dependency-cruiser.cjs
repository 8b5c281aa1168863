/**
 * The import rules of DESIGN §3, checked in `npm test` (test/integration/layering.test.ts) and by
 * `npm run lint:deps`. Arrows run one way:
 *
 *   cli → composition root → api | workers | sandbox → pipeline/admission
 *       → routing, resilience, otp, policy, webhooks → queues → store, security
 *       → logger, metrics → config → domain
 *
 * A module imports its own layer or lower ones, never a higher one. Peers of one layer may import
 * each other (routing ↔ policy), except the roles (api, workers, sandbox: each stands alone) and
 * only without cycles, which no layer allows (type-only imports included: `tsPreCompilationDeps`).
 *
 * Where the layers put the in-between folders DESIGN §3 leaves out of its arrow, and why:
 * - queues (names, job types, producers, connections) sit under the services: the pipeline and
 *   the webhook relay add jobs; the BullMQ workers that run jobs live in `src/workers/`, above.
 * - store and security share a layer: key rings and HMACs are used by the stores' callers and
 *   read the Redis client type; nothing in them decides policy.
 * - logger and metrics are under the store: every layer reports to them; they report to nothing
 *   (the ops server is told how to ping Redis, it does not import the queues).
 * - webhooks (outbound delivery, its stores and worker processor) are a service like otp/policy.
 *
 * Providers: `providers/**` never imports `src/**`. `src/` takes values from `providers/` only
 * through `providers/index.ts`, the registry; type-only imports of the two contracts
 * (`providers/provider.ts`, `providers/errors.ts`) are allowed too ("plus types", DESIGN §3):
 * they carry no code, so they load no carrier SDK.
 *
 * Tests (`*.test.ts`, `test/**`) and test fixtures may reach across layers (a unit test builds
 * what the composition root would); the cycle and provider→src rules still hold for them.
 */

/** Layers, lowest first. A path belongs to the first layer whose pattern matches it. */
const LAYERS = [
  { name: 'domain', path: '^src/domain/' },
  { name: 'config', path: '^src/config/' },
  { name: 'observability', path: '^src/(logger\\.ts$|metrics/)' },
  { name: 'store', path: '^src/(store|security)/' },
  { name: 'queues', path: '^src/queues/' },
  { name: 'services', path: '^src/(routing|resilience|otp|policy|webhooks)/' },
  { name: 'pipeline', path: '^src/(pipeline|admission)/' },
  { name: 'roles', path: '^src/(api|workers|sandbox)/|^src/client\\.ts$' },
  { name: 'composition-root', path: '^src/(main\\.ts$|composition/)' },
  { name: 'cli', path: '^src/(cli\\.ts$|cli/)' },
];

/** The roles of the roles layer: none imports another (each runs alone: `switchboard api|worker|sandbox`). */
const ROLES = ['api', 'workers', 'sandbox'];

/** Files that may reach across layers: tests, their fixtures and helpers. */
const TESTS = '(\\.test\\.ts$|\\.fixtures?\\.ts$|^test/|^providers/testing/)';

/** What `src/domain` may use outside itself: pure packages only (no sockets, files, Redis or clocks of a server). */
const DOMAIN_PURE_PACKAGES = '^(crypto|node:crypto)$|node_modules/(ulid|zod|libphonenumber-js)/';

const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-from-${layer.name}`,
  comment: `${layer.name} imports only its own layer or lower ones (${LAYERS.slice(0, i + 1)
    .map((l) => l.name)
    .join(', ')}); higher: ${LAYERS.slice(i + 1)
    .map((l) => l.name)
    .join(', ')}`,
  severity: 'error',
  from: { path: layer.path, pathNot: TESTS },
  to: {
    path: LAYERS.slice(i + 1)
      .map((l) => `(${l.path})`)
      .join('|'),
  },
}));

const roleRules = ROLES.map((role) => ({
  name: `no-role-to-role-from-${role}`,
  comment: `the ${role} role does not import another role (${ROLES.filter((r) => r !== role).join(', ')}); what both need lives lower`,
  severity: 'error',
  from: { path: `^src/${role}/`, pathNot: TESTS },
  to: { path: `^src/(${ROLES.filter((r) => r !== role).join('|')})/` },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycle, type-only imports included (a type cycle still ties two modules into one)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    ...roleRules,
    {
      name: 'src-in-a-layer',
      comment: 'every module under src/ belongs to a layer (add a new folder to LAYERS in .dependency-cruiser.cjs)',
      severity: 'error',
      from: {},
      to: { path: '^src/', pathNot: LAYERS.map((l) => `(${l.path})`).join('|') },
    },
    {
      name: 'providers-never-import-src',
      comment: 'providers/** never imports src/** (DESIGN §3): a provider is a self-contained carrier module',
      severity: 'error',
      from: { path: '^providers/' },
      to: { path: '^src/' },
    },
    {
      name: 'src-imports-providers-via-index',
      comment: 'src/ imports providers/ only through providers/index.ts (plus type-only imports of provider.ts and errors.ts)',
      severity: 'error',
      from: { path: '^src/', pathNot: TESTS },
      to: { path: '^providers/', pathNot: '^providers/(index|provider|errors)\\.ts$' },
    },
    {
      name: 'src-provider-contracts-type-only',
      comment: 'values of providers/provider.ts and providers/errors.ts come through providers/index.ts; a direct import is type-only',
      severity: 'error',
      from: { path: '^src/', pathNot: TESTS },
      to: { path: '^providers/(provider|errors)\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'domain-does-no-io',
      comment: 'src/domain is pure (DESIGN §3): no node I/O modules (net, http, fs…), no Redis, BullMQ, Fastify, undici, pino or SDKs',
      severity: 'error',
      from: { path: '^src/domain/', pathNot: TESTS },
      to: {
        dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'],
        pathNot: DOMAIN_PURE_PACKAGES,
      },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that does not resolve to a file cannot be checked',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // type-only imports are dependencies too: a type cycle or an upward type import is still an arrow
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
