/**
 * V8 heap settings of the role processes (`api | worker | sandbox | all`; docs/performance.md
 * "Memory"). Node 24's V8 sizes the young generation from the heap limit: on a machine with a
 * 4 GiB default limit each semi-space grows to 64 MiB (128 MiB of new space, resident once used),
 * and because mark-compact is cheap for a ~60 MiB live heap it lets the old generation grow to 4×
 * the live size before collecting. Under the bench that is ~130 MiB of young generation plus
 * ~150 MiB of dead old-space objects (and the pages V8 pools after freeing them) per process,
 * while the live heap after a full GC stays at 55–65 MiB. These two flags bound both:
 * - `--max-semi-space-size=16`: 16 MiB semi-spaces (32 MiB of new space);
 * - `--heap-growing-percent=50`: the next full GC is due when the old generation is 1.5× its
 *   live size (instead of up to 4×). No hard limit: unlike `--max-old-space-size` it cannot
 *   turn a burst into an out-of-memory crash.
 * The cost is more frequent (and shorter) scavenges and full GCs: a few percent of CPU.
 * With them goes `MALLOC_ARENA_MAX=2` (unless set): glibc otherwise gives each of V8's and libuv's
 * threads its own malloc arena, ~10–15 MiB more resident for no gain on a process whose heavy
 * lifting is on one thread (musl and other libcs ignore it).
 *
 * The flags only act when given at start-up, so `switchboard <role>` re-executes itself once with
 * them (`process.execve`: same pid, same stdio, nothing has been loaded yet). A flag the operator
 * passes (command line or NODE_OPTIONS) wins; where execve is unavailable (Windows) or fails, the
 * role runs with V8's defaults.
 */

/** The V8 flags every role process runs with, unless the operator set the same option. */
export const ROLE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--heap-growing-percent=50'];

/** Environment the re-executed role gets unless already set. */
export const ROLE_ENV_DEFAULTS: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** `--max_semi_space_size=8` → `--max-semi-space-size` (V8 accepts both spellings). */
function optionName(arg: string): string {
  return (arg.split('=')[0] ?? '').replace(/_/g, '-');
}

/** The role flags whose option appears neither in `execArgv` nor in `nodeOptions`. */
export function missingRoleFlags(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
  flags: readonly string[] = ROLE_V8_FLAGS,
): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter((a) => a.startsWith('--')).map(optionName));
  return flags.filter((f) => !given.has(optionName(f)));
}

/**
 * Replaces this process with `node <missing flags> <its own flags> <script> <args>` (and
 * {@link ROLE_ENV_DEFAULTS} added to its environment) when a role flag is missing; returns (doing
 * nothing) when none is, or when execve is unavailable or fails.
 * After the re-exec the flags are in `process.execArgv`, so the second run returns at once.
 */
export function reexecWithRoleFlags(proc: Pick<NodeJS.Process, 'execArgv' | 'execPath' | 'argv' | 'env' | 'execve'> = process): void {
  const missing = missingRoleFlags(proc.execArgv, proc.env['NODE_OPTIONS']);
  if (missing.length === 0 || typeof proc.execve !== 'function') return;
  try {
    proc.execve(proc.execPath, [proc.execPath, ...missing, ...proc.execArgv, ...proc.argv.slice(1)], { ...ROLE_ENV_DEFAULTS, ...proc.env });
  } catch {
    // execve(2) failed: the process is unchanged, so it simply runs with V8's defaults.
  }
}
