import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { missingRoleFlags, reexecWithRoleFlags, ROLE_V8_FLAGS } from './node-flags.ts';

describe('missingRoleFlags', () => {
  it('adds every role flag to a bare `node src/cli.ts <role>`', () => {
    expect(missingRoleFlags([], undefined)).toEqual([...ROLE_V8_FLAGS]);
  });

  it('keeps an option the operator set, on the command line (either spelling) or in NODE_OPTIONS', () => {
    expect(missingRoleFlags(['--max_semi_space_size=64'], undefined)).toEqual(['--heap-growing-percent=50']);
    expect(missingRoleFlags(['--inspect'], '--heap-growing-percent=100  --max-semi-space-size=32')).toEqual([]);
    expect(missingRoleFlags([...ROLE_V8_FLAGS], undefined)).toEqual([]);
  });
});

describe('reexecWithRoleFlags', () => {
  const base = { execPath: '/usr/bin/node', argv: ['/usr/bin/node', '/app/src/cli.ts', 'worker'], env: {} };

  it('re-executes node with the missing flags first, then its own flags, script and arguments; MALLOC_ARENA_MAX unless set', () => {
    const calls: unknown[][] = [];
    const execve = ((...args: unknown[]) => {
      calls.push(args);
      throw new Error('stop');
    }) as unknown as NodeJS.Process['execve'];
    reexecWithRoleFlags({ ...base, execArgv: ['--max-semi-space-size=8'], env: { PATH: '/bin' }, execve });
    reexecWithRoleFlags({ ...base, execArgv: [], env: { MALLOC_ARENA_MAX: '4' }, execve });
    expect(calls).toEqual([
      [
        '/usr/bin/node',
        ['/usr/bin/node', '--heap-growing-percent=50', '--max-semi-space-size=8', '/app/src/cli.ts', 'worker'],
        { PATH: '/bin', MALLOC_ARENA_MAX: '2' },
      ],
      ['/usr/bin/node', ['/usr/bin/node', ...ROLE_V8_FLAGS, '/app/src/cli.ts', 'worker'], { MALLOC_ARENA_MAX: '4' }],
    ]);
  });

  it('does nothing once the flags are there, or without execve', () => {
    let called = false;
    const execve = (() => {
      called = true;
    }) as unknown as NodeJS.Process['execve'];
    reexecWithRoleFlags({ ...base, execArgv: [...ROLE_V8_FLAGS], execve });
    reexecWithRoleFlags({ ...base, execArgv: [], execve: undefined });
    expect(called).toBe(false);
  });

  it('are accepted by this Node and bound the young generation', () => {
    // Enough short-lived garbage (with some survivors) to grow new space to its maximum.
    const script =
      "const keep=[];for(let i=0;i<1.5e7;i++){const o={i,s:'x'+i};if(i%50===0)keep.push(o);if(keep.length>5e4)keep.length=0}" +
      "process.stdout.write(String(require('v8').getHeapSpaceStatistics().find((s)=>s.space_name==='new_space').space_size))";
    const r = spawnSync(process.execPath, [...ROLE_V8_FLAGS, '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(Number(r.stdout)).toBeGreaterThan(0);
    expect(Number(r.stdout)).toBeLessThanOrEqual(32 * 1024 * 1024);
  });
});
