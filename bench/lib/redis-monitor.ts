/**
 * Redis round trips per message, by process: MONITOR (on the bench's private Redis only — it
 * slows the server, so it runs on a separate, unmeasured batch) lists every command with its
 * client address, or `lua` for commands run inside scripts. Client ports are mapped to the
 * bench's processes through /proc/<pid>/fd socket inodes and /proc/net/tcp{,6}.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Redis } from 'ioredis';

/** Local TCP ports of the sockets a process holds. */
export function localPortsOf(pid: number): Set<number> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1] as string);
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    return new Set();
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      const inode = cols[9];
      if (local === undefined || inode === undefined || !inodes.has(inode)) continue;
      ports.add(parseInt(local.split(':')[1] ?? '0', 16));
    }
  }
  return ports;
}

export interface MonitorCounts {
  /** Client-issued commands (round trips, pipelined or not) by process name. */
  byProcess: Map<string, number>;
  /** Client-issued commands by process and command. */
  byProcessCommand: Map<string, Map<string, number>>;
  /** Commands run inside Lua scripts. */
  lua: number;
  luaByCommand: Map<string, number>;
}

/** Records MONITOR while `work` runs; `processes` maps names to pids for attribution. */
export async function monitorDuring(
  redisUrl: string,
  processes: Record<string, number[]>,
  work: () => Promise<void>,
): Promise<MonitorCounts> {
  const portOwner = new Map<number, string>();
  const refreshPorts = (): void => {
    for (const [name, pids] of Object.entries(processes))
      for (const pid of pids) for (const port of localPortsOf(pid)) portOwner.set(port, name);
  };
  refreshPorts();
  const counts: MonitorCounts = { byProcess: new Map(), byProcessCommand: new Map(), lua: 0, luaByCommand: new Map() };
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  client.on('error', () => undefined);
  const monitor = await client.monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const cmd = (args[0] ?? '').toLowerCase();
    if (source === 'lua') {
      counts.lua += 1;
      counts.luaByCommand.set(cmd, (counts.luaByCommand.get(cmd) ?? 0) + 1);
      return;
    }
    const port = Number(source.split(':').at(-1));
    let owner = portOwner.get(port);
    if (owner === undefined) {
      refreshPorts();
      owner = portOwner.get(port) ?? 'other';
    }
    counts.byProcess.set(owner, (counts.byProcess.get(owner) ?? 0) + 1);
    const m = counts.byProcessCommand.get(owner) ?? new Map<string, number>();
    m.set(cmd, (m.get(cmd) ?? 0) + 1);
    counts.byProcessCommand.set(owner, m);
  });
  try {
    await work();
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
  return counts;
}
