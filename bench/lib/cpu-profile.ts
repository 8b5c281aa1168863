/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function, per package or
 * module, and per area (carrier SDK, Redis client, HTTP server, validation, logging, metrics,
 * Node core, Switchboard's own code, GC), restricted to a time window so start-up and idle time
 * do not count. Sample times share CLOCK_MONOTONIC with `process.hrtime` on Linux, so the bench
 * marks the window with `process.hrtime.bigint()`.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  /** CPU time in the window, idle excluded (ms). */
  busyMs: number;
  /** Wall time of the window (ms). */
  windowMs: number;
  /** Whether the window matched the samples (else the whole profile was used). */
  windowed: boolean;
  functions: Array<{ name: string; where: string; ms: number; pct: number }>;
  modules: Array<{ name: string; ms: number; pct: number }>;
  /** Per area, with native code and Node core charged to their nearest caller outside Node core. */
  areas: Array<{ name: string; ms: number; pct: number }>;
}

/** A whole package name among `names` (each a regular expression source, e.g. `@sinch/.*`). */
const oneOf = (names: string[]): RegExp => new RegExp(`^(${names.join('|')})$`);

const AREAS: Array<[string, RegExp]> = [
  [
    'carrier SDKs (twilio, undici, axios, …)',
    oneOf([
      'twilio',
      'undici',
      'axios',
      'form-data',
      'follow-redirects',
      'https-proxy-agent',
      'agent-base',
      'proxy-from-env',
      'qs',
      'scmp',
      'xmlbuilder',
      'dayjs',
      'jsonwebtoken',
      '@sinch/.*',
      'firebase-admin',
      'google-auth-library',
      'gaxios',
      'messagebird',
    ]),
  ],
  [
    'Redis client (ioredis, bullmq)',
    oneOf([
      'ioredis',
      'bullmq',
      'redis-parser',
      'msgpackr',
      'cluster-key-slot',
      'denque',
      'standard-as-callback',
      'redis-errors',
      'cron-parser',
      'semver',
      'uuid',
      'node-abort-controller',
    ]),
  ],
  [
    'HTTP server (fastify)',
    oneOf([
      'fastify',
      'find-my-way',
      'avvio',
      'light-my-request',
      '@fastify/.*',
      'fast-json-stringify',
      'secure-json-parse',
      'fast-querystring',
      'toad-cache',
      'process-warning',
      'rfdc',
      'abstract-logging',
      'fast-uri',
      'ajv.*',
      'content-type',
      'json-schema-ref-resolver',
    ]),
  ],
  ['validation (zod)', /^zod$/],
  [
    'logging (pino)',
    oneOf([
      'pino',
      'sonic-boom',
      'pino-std-serializers',
      'fast-redact',
      '@pinojs/redact',
      'thread-stream',
      'quick-format-unescaped',
      'atomic-sleep',
      'safe-stable-stringify',
      'on-exit-leak-free',
      'real-require',
    ]),
  ],
  ['metrics (prom-client)', /^(prom-client|tdigest|bintrees)$/],
  ['phone numbers (libphonenumber-js)', /^libphonenumber-js$/],
  ['resilience (cockatiel)', /^cockatiel$/],
  ['ids (ulid)', /^ulid$/],
];

/** Package (node_modules), Node module, or Switchboard folder of a frame. */
export function moduleOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName.startsWith('(')) return functionName;
    return '(V8 builtins: JSON, RegExp, …)';
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) {
    const name = url.slice(5);
    if (name.startsWith('internal/')) {
      const parts = name.split('/');
      return `node:${parts.slice(0, Math.min(parts.length - 1, 3)).join('/') || name}`;
    }
    return `node:${name}`;
  }
  const src = /\/(src|providers|bench)\/([^/]+)(\/|$)/.exec(url);
  if (src) return `switchboard ${src[1]}/${(src[2] ?? '').replace(/\.ts$/, '')}`;
  return url;
}

/** Native frames that write to a socket or file: their time belongs to whoever wrote. */
const NATIVE_WRITES = new Set([
  'writeUtf8String',
  'writeBuffer',
  'writev',
  'writeString',
  'writeLatin1String',
  'writeAsciiString',
  'writeUcs2String',
]);

export function areaOf(module: string): string {
  if (module === '(garbage collector)') return 'GC';
  if (module === '(program)') return '(program: native, not attributed)';
  if (module.startsWith('(V8 builtins')) return 'V8 builtins (JSON, RegExp, …)';
  if (module.startsWith('node:')) return 'Node core (http, net, streams, crypto)';
  if (module.startsWith('switchboard ')) return 'Switchboard code (src/, providers/)';
  for (const [name, re] of AREAS) if (re.test(module)) return name;
  return `other: ${module}`;
}

function short(url: string, line: number): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  const trimmed = nm >= 0 ? url.slice(nm + '/node_modules/'.length) : url.replace(/^file:\/\/.*?\/(src|providers|bench)\//, '$1/');
  return `${trimmed}:${line + 1}`;
}

/** Summarises `file`, counting only samples between `fromUs` and `toUs` (CLOCK_MONOTONIC µs) when they overlap the profile. */
export function summariseProfile(file: string, window?: { fromUs: number; toUs: number }, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parentOf.set(c, n.id);
  }
  /**
   * The area a sample's time is charged to: its own module's, except that JSON builtins are
   * "JSON", and native or Node-core frames go to the nearest caller outside Node core (a socket
   * write issued by ioredis is Redis time; by pino, logging).
   */
  const areaCache = new Map<number, string>();
  const chargedArea = (id: number): string => {
    const cached = areaCache.get(id);
    if (cached !== undefined) return cached;
    const frame = (byId.get(id) as ProfileNode).callFrame;
    let area: string;
    if (frame.url === '' && (frame.functionName === 'parse' || frame.functionName === 'stringify')) area = 'JSON (parse, stringify)';
    else {
      const own = moduleOf(frame);
      const native = frame.url === '' && !frame.functionName.startsWith('(');
      if (own.startsWith('node:internal/crypto')) area = 'crypto (node:crypto: HMAC, AES-GCM, random)';
      else if (!native && !own.startsWith('node:')) area = areaOf(own);
      else {
        area = NATIVE_WRITES.has(frame.functionName) ? 'Node core (http, net, streams, crypto)' : areaOf(own);
        for (let p = parentOf.get(id), hops = 0; p !== undefined && hops < 64; p = parentOf.get(p), hops++) {
          const pf = (byId.get(p) as ProfileNode).callFrame;
          const pm = moduleOf(pf);
          if (pf.url !== '' && !pm.startsWith('node:')) {
            area = areaOf(pm);
            break;
          }
        }
      }
    }
    areaCache.set(id, area);
    return area;
  };
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) {
    t += d;
    times.push(t);
  }
  const windowed = window !== undefined && times.some((x) => x >= window.fromUs && x <= window.toUs);
  const fromUs = windowed && window ? window.fromUs : -Infinity;
  const toUs = windowed && window ? window.toUs : Infinity;

  const fnTime = new Map<string, { name: string; where: string; us: number }>();
  const modTime = new Map<string, number>();
  const areaTime = new Map<string, number>();
  let busyUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const at = times[i] as number;
    if (at < fromUs || at > toUs) continue;
    // A sample stands for the interval up to the next one.
    const us = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const node = byId.get(profile.samples[i] as number);
    if (!node) continue;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') continue;
    busyUs += us;
    const mod = moduleOf(frame);
    const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}`;
    const f = fnTime.get(key) ?? { name: frame.functionName || '(anonymous)', where: short(frame.url, frame.lineNumber), us: 0 };
    f.us += us;
    fnTime.set(key, f);
    modTime.set(mod, (modTime.get(mod) ?? 0) + us);
    const area = chargedArea(node.id);
    areaTime.set(area, (areaTime.get(area) ?? 0) + us);
  }
  const pct = (us: number): number => (busyUs > 0 ? Math.round((us / busyUs) * 1000) / 10 : 0);
  const ms = (us: number): number => Math.round(us / 100) / 10;
  const sorted = <T extends { us: number }>(xs: T[]): T[] => xs.sort((a, b) => b.us - a.us);
  return {
    file,
    busyMs: ms(busyUs),
    windowMs: windowed && window ? ms(window.toUs - window.fromUs) : ms(profile.endTime - profile.startTime),
    windowed,
    functions: sorted([...fnTime.values()])
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: ms(f.us), pct: pct(f.us) })),
    modules: sorted([...modTime.entries()].map(([name, us]) => ({ name, us })))
      .slice(0, top)
      .map((m) => ({ name: m.name, ms: ms(m.us), pct: pct(m.us) })),
    areas: sorted([...areaTime.entries()].map(([name, us]) => ({ name, us }))).map((a) => ({ name: a.name, ms: ms(a.us), pct: pct(a.us) })),
  };
}

/** The summary as Markdown (pasted into docs/performance.md). */
export function profileMarkdown(title: string, s: ProfileSummary, messages: number): string {
  const lines: string[] = [];
  lines.push(`#### ${title}`, '');
  const window = `${s.windowMs.toLocaleString('en-US')} ms window${s.windowed ? '' : ' (whole profile: window not matched)'}`;
  lines.push(
    `CPU busy ${s.busyMs.toLocaleString('en-US')} ms over a ${window}` +
      ` — ${messages > 0 ? `${Math.round((s.busyMs * 1000) / messages)} µs of CPU per message` : ''}`,
    '',
  );
  lines.push('| area (native and Node-core time charged to its caller) | ms | % |', '|---|---:|---:|');
  for (const a of s.areas) lines.push(`| ${a.name} | ${a.ms} | ${a.pct} |`);
  lines.push('', '| package / module | ms | % |', '|---|---:|---:|');
  for (const m of s.modules.slice(0, 15)) lines.push(`| ${m.name} | ${m.ms} | ${m.pct} |`);
  lines.push('', '| function (self time) | where | ms | % |', '|---|---|---:|---:|');
  for (const f of s.functions.slice(0, 20)) lines.push(`| ${f.name.replace(/\|/g, '\\|')} | ${f.where} | ${f.ms} | ${f.pct} |`);
  lines.push('');
  return lines.join('\n');
}
