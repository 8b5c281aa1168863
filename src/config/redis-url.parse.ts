/**
 * `REDIS_URL` (CONTRACTS §5) in every form Switchboard accepts, turned into what ioredis needs:
 * one server, a Sentinel-managed master, or a Redis Cluster. Parsing is pure (no connection) so
 * the configuration loader can reject a bad URL before anything starts, and every error names
 * the accepted forms without ever repeating a password.
 */
import type { RedisOptions } from 'ioredis';

/** The forms, as printed in every parse error. */
export const REDIS_URL_FORMS =
  'redis://[user:pw@]host:port[/db], rediss://… (TLS), redis+sentinel://[user:pw@]host:port[,host:port…]/<master>[/<db>] ' +
  '(rediss+sentinel:// with TLS; ?sentinelUsername=…&sentinelPassword=… when the sentinels have their own), ' +
  'redis-cluster://[user:pw@]host:port[,host:port…] (rediss-cluster:// with TLS)';

/** Schemes the configuration accepts (the loader checks the rest here). */
export const REDIS_URL_SCHEME = /^(rediss?|rediss?\+sentinel|rediss?-cluster):\/\//;

/** Thrown for a `REDIS_URL` we cannot use; the message says which forms are accepted. */
export class RedisUrlError extends Error {
  constructor(problem: string) {
    super(`REDIS_URL: ${problem}. Accepted forms: ${REDIS_URL_FORMS}`);
    this.name = 'RedisUrlError';
  }
}

export interface RedisNode {
  host: string;
  port: number;
}

/** Where Redis is and how to authenticate; `kind` decides which ioredis client is built. */
export type RedisTarget =
  | { kind: 'standalone'; options: RedisOptions }
  | { kind: 'sentinel'; options: RedisOptions }
  | {
      kind: 'cluster';
      /** Seed nodes: ioredis discovers the rest with `CLUSTER SLOTS`. */
      nodes: RedisNode[];
      /** Options of every node connection (credentials, TLS). */
      nodeOptions: RedisOptions;
      tls: boolean;
    };

/** The URL with any user and password replaced by `***`, for logs and error messages. */
export function maskRedisUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
  if (scheme === undefined) return url.includes('@') ? '***' : url;
  const rest = url.slice(scheme.length);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const at = authority.lastIndexOf('@');
  return at === -1 ? url : `${scheme}***@${rest.slice(at + 1)}`;
}

/** Whether the URL names a Redis Cluster (keys and queues then share one hash tag). */
export function isClusterUrl(url: string): boolean {
  return /^rediss?-cluster:\/\//.test(url);
}

/**
 * The prefix every key and queue is written under. Redis Cluster runs a multi-key command or
 * script only when all its keys hash to one slot, so under Cluster the prefix becomes a hash tag
 * (`sb` → `{sb}`): one slot for everything, BullMQ's scripts included. One server or Sentinel keeps
 * the plain prefix, so existing data keeps its key names. A prefix already written as `{name}` is
 * used as is everywhere (a deployment that will move to Cluster can adopt the tagged names first).
 */
export function effectiveKeyPrefix(url: string, prefix: string): string {
  if (/^\{[^{}]+\}$/.test(prefix)) return prefix;
  return isClusterUrl(url) ? `{${prefix}}` : prefix;
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RedisUrlError(`the ${what} is not valid percent-encoding`);
  }
}

/** `user:pw`, `:pw` or `pw` (a lone word is the password, as redis-cli reads it). */
function parseAuth(auth: string): { username?: string; password?: string } {
  if (auth === '') return {};
  const colon = auth.indexOf(':');
  if (colon === -1) return { password: decode(auth, 'password') };
  const username = decode(auth.slice(0, colon), 'user name');
  const password = decode(auth.slice(colon + 1), 'password');
  return { ...(username !== '' ? { username } : {}), ...(password !== '' ? { password } : {}) };
}

function parseHostPort(text: string, defaultPort: number): RedisNode {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw new RedisUrlError(`"${text}" is not host:port`);
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  const port = m[2] !== undefined ? Number(m[2]) : defaultPort;
  if (port < 1 || port > 65_535) throw new RedisUrlError(`port ${port} of "${text}" is out of range`);
  return { host, port };
}

function parseDb(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,2}$/.test(text)) throw new RedisUrlError(`database "${text}" is not a number`);
  return Number(text);
}

/** Splits `scheme://[auth@]hosts[/path][?query]`; the auth part is everything before the last `@` of the authority. */
function split(url: string, scheme: string): { auth: string; hosts: string; path: string[]; query: URLSearchParams } {
  const rest = url.slice(scheme.length);
  const q = rest.indexOf('?');
  const beforeQuery = q === -1 ? rest : rest.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : rest.slice(q + 1));
  const slash = beforeQuery.indexOf('/');
  const authority = slash === -1 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash === -1 ? [] : beforeQuery.slice(slash + 1).split('/');
  const at = authority.lastIndexOf('@');
  return { auth: at === -1 ? '' : authority.slice(0, at), hosts: at === -1 ? authority : authority.slice(at + 1), path, query };
}

function hostList(hosts: string, defaultPort: number): RedisNode[] {
  const list = hosts.split(',').filter((h) => h !== '');
  if (list.length === 0) throw new RedisUrlError('no host given');
  return list.map((h) => parseHostPort(h, defaultPort));
}

function rejectUnknownQuery(query: URLSearchParams, allowed: readonly string[]): void {
  for (const name of query.keys()) {
    if (!allowed.includes(name))
      throw new RedisUrlError(`unknown option "${name}"${allowed.length > 0 ? ` (known: ${allowed.join(', ')})` : ''}`);
  }
}

/** Parses any accepted `REDIS_URL`; throws `RedisUrlError` (password-free) otherwise. */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[0]?.toLowerCase();
  if (scheme === undefined) throw new RedisUrlError(`"${maskRedisUrl(url)}" is not a URL`);
  switch (scheme) {
    case 'redis://':
    case 'rediss://': {
      const { auth, hosts, path, query } = split(url, scheme);
      rejectUnknownQuery(query, []);
      if (path.length > 1) throw new RedisUrlError('only a database number may follow the host');
      const node = parseHostPort(hosts === '' ? '127.0.0.1' : hosts, 6379);
      const db = parseDb(path[0]);
      return {
        kind: 'standalone',
        options: { ...node, ...parseAuth(auth), ...(db !== undefined ? { db } : {}), ...(scheme === 'rediss://' ? { tls: {} } : {}) },
      };
    }
    case 'redis+sentinel://':
    case 'rediss+sentinel://': {
      const { auth, hosts, path, query } = split(url, scheme);
      rejectUnknownQuery(query, ['sentinelUsername', 'sentinelPassword']);
      const [master, dbText, ...extra] = path;
      if (master === undefined || master === '')
        throw new RedisUrlError('a Sentinel URL needs the master name after the hosts (…:26379/mymaster)');
      if (extra.length > 0) throw new RedisUrlError('a Sentinel URL ends with /<master>[/<db>]');
      const sentinels = hostList(hosts, 26379);
      const db = parseDb(dbText);
      const master_ = parseAuth(auth);
      const sentinelUsername = query.get('sentinelUsername') ?? master_.username;
      const sentinelPassword = query.get('sentinelPassword') ?? master_.password;
      const tls = scheme === 'rediss+sentinel://';
      return {
        kind: 'sentinel',
        options: {
          sentinels,
          name: master,
          ...master_,
          ...(db !== undefined ? { db } : {}),
          ...(sentinelUsername !== undefined && sentinelUsername !== '' ? { sentinelUsername } : {}),
          ...(sentinelPassword !== undefined && sentinelPassword !== '' ? { sentinelPassword } : {}),
          ...(tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
        },
      };
    }
    case 'redis-cluster://':
    case 'rediss-cluster://': {
      const { auth, hosts, path, query } = split(url, scheme);
      rejectUnknownQuery(query, []);
      if (path.some((p) => p !== '')) throw new RedisUrlError('Redis Cluster has one database: nothing may follow the hosts');
      const tls = scheme === 'rediss-cluster://';
      return { kind: 'cluster', nodes: hostList(hosts, 6379), nodeOptions: { ...parseAuth(auth), ...(tls ? { tls: {} } : {}) }, tls };
    }
    default:
      throw new RedisUrlError(`unsupported scheme ${scheme.slice(0, -2)}`);
  }
}
