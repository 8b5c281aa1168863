/**
 * SSRF guard for outbound webhooks (DESIGN §3 `security/`). A `callbackUrl` is chosen by an API
 * client, so without a guard any key holder could make Switchboard POST to its own network:
 * loopback admin ports, the cloud metadata service (credentials!), private services.
 *
 * Two checks, because a name can change between them:
 * - {@link SsrfGuard.checkUrl} at admission, without DNS (fast, deterministic): scheme, https in
 *   live configuration, literal IPs and obviously internal names (`localhost`, `*.internal`…);
 * - {@link SsrfGuard.vet} at every delivery: resolves the name, refuses it when ANY address is
 *   forbidden, and hands back the vetted address. The HTTP request then connects to exactly that
 *   address (a custom `lookup`, see webhook-delivery.ts), so a DNS answer that changes between the
 *   check and the connect (rebinding) cannot redirect it. Redirects are never followed.
 *
 * Forbidden: unspecified, loopback, private (RFC 1918), link-local, CGNAT (100.64/10),
 * unique-local (fc00::/7), multicast, reserved, IPv4-mapped/compatible/NAT64 IPv6 forms of those,
 * and the metadata addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200). Metadata
 * addresses stay forbidden even when `allowPrivateTargets` is on (sandbox) or a CIDR in
 * `allowedTargets` covers them: no webhook receiver lives there.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** One resolved address of a host name. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (injectable: tests map names to chosen addresses). */
export type ResolveHost = (hostname: string) => Promise<ResolvedAddress[]>;

/** The system resolver (`getaddrinfo`, the same one an HTTP client would use), every address. */
export const systemResolver: ResolveHost = async (hostname) => {
  const all = await lookup(hostname, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

export interface SsrfPolicy {
  /** Loopback/private/link-local targets allowed (sandbox: local receivers). Metadata never. */
  allowPrivateTargets: boolean;
  /** Only `https:` callback URLs. */
  requireHttps: boolean;
  /** IPs or CIDRs exempt from the forbidden ranges (never from the metadata addresses). */
  allowedTargets?: readonly string[];
  /** Name resolution; the system resolver by default. */
  resolve?: ResolveHost;
}

/** Why a URL or address was refused (retrying cannot help: the delivery treats it as permanent). */
export interface SsrfRefusal {
  ok: false;
  reason: string;
}

/** Where a delivery may connect: the URL's host name, and the one address vetted for it. */
export interface VettedTarget {
  ok: true;
  url: URL;
  address: string;
  family: 4 | 6;
}

export interface SsrfGuard {
  readonly policy: Readonly<SsrfPolicy>;
  /** The static check (no DNS), for admission. `undefined` when the URL may be used. */
  checkUrl(url: string): SsrfRefusal | undefined;
  /** Resolves and vets the URL's host; the delivery must connect to the returned address only. */
  vet(url: string): Promise<VettedTarget | SsrfRefusal>;
}

/** Cloud metadata services: AWS/GCP/Azure (v4), AWS (v6), Alibaba. */
const METADATA_LIST = new BlockList();
METADATA_LIST.addAddress('169.254.169.254', 'ipv4');
METADATA_LIST.addAddress('100.100.100.200', 'ipv4');
METADATA_LIST.addAddress('fd00:ec2::254', 'ipv6');

/** Ranges no callback may reach (unless allowed by policy), with a label for the refusal reason. */
const FORBIDDEN_V4: ReadonlyArray<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const FORBIDDEN_V6: ReadonlyArray<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['fc00::', 7, 'unique-local'],
  ['ff00::', 8, 'multicast'],
];

/** Names that only ever mean "inside": refused at admission without asking DNS. */
const INTERNAL_NAME = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;

/** Expands an IPv6 address to its 8 hextets (numbers), or undefined when it is not one. */
function hextets(ip: string): number[] | undefined {
  let text = ip.split('%')[0] ?? '';
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hextets.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const part = (s: string | undefined): number[] => (s === undefined || s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const head = part(halves[0]);
  const tail = part(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...new Array<number>(Math.max(0, fill)).fill(0), ...tail];
  return all.length === 8 && all.every((h) => Number.isInteger(h) && h >= 0 && h <= 0xffff) ? all : undefined;
}

/**
 * The IPv4 address an IPv6 address carries, when it is one of the forms that reach IPv4:
 * IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated) or NAT64 (`64:ff9b::/96`).
 */
export function embeddedIpv4(ip: string): string | undefined {
  const h = hextets(ip);
  if (h === undefined) return undefined;
  const v4 = (): string => `${(h[6] as number) >> 8}.${(h[6] as number) & 0xff}.${(h[7] as number) >> 8}.${(h[7] as number) & 0xff}`;
  const zeros = (from: number, to: number): boolean => h.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && h[5] === 0xffff) return v4();
  if (zeros(0, 6) && ((h[6] ?? 0) !== 0 || (h[7] ?? 0) > 1)) return v4();
  if (h[0] === 0x64 && h[1] === 0xff9b && zeros(2, 6)) return v4();
  return undefined;
}

function blockListOf(entries: ReadonlyArray<[string, number, string]>, type: 'ipv4' | 'ipv6'): Array<[BlockList, string]> {
  return entries.map(([net, prefix, label]) => {
    const list = new BlockList();
    list.addSubnet(net, prefix, type);
    return [list, label];
  });
}

const FORBIDDEN_V4_LISTS = blockListOf(FORBIDDEN_V4, 'ipv4');
const FORBIDDEN_V6_LISTS = blockListOf(FORBIDDEN_V6, 'ipv6');

/** Strips the brackets URL hostnames put around IPv6 literals. */
function bare(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * What kind of forbidden address `ip` is (`loopback`, `private`, `metadata`…), or undefined for a
 * public one. Pure: no policy, no DNS.
 */
export function forbiddenAddressKind(ip: string): string | undefined {
  const address = bare(ip);
  const version = isIP(address);
  if (version === 0) return 'not an IP address';
  if (isMetadataAddress(address)) return 'metadata';
  if (version === 4) return FORBIDDEN_V4_LISTS.find(([list]) => list.check(address, 'ipv4'))?.[1];
  const inner = embeddedIpv4(address);
  if (inner !== undefined) {
    const kind = forbiddenAddressKind(inner);
    return kind === undefined ? undefined : `${kind} (IPv4 inside IPv6)`;
  }
  return FORBIDDEN_V6_LISTS.find(([list]) => list.check(address, 'ipv6'))?.[1];
}

/** Whether `ip` is a cloud metadata endpoint (also in its IPv6-embedded forms). */
export function isMetadataAddress(ip: string): boolean {
  const address = bare(ip);
  const inner = isIP(address) === 6 ? embeddedIpv4(address) : undefined;
  if (inner !== undefined) return isMetadataAddress(inner);
  const version = isIP(address);
  if (version === 0) return false;
  return METADATA_LIST.check(address, version === 6 ? 'ipv6' : 'ipv4');
}

function allowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [net, prefix] = entry.split('/') as [string, string | undefined];
    const type = isIP(net) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(net) === 0) throw new Error(`webhooks.allowedTargets: "${entry}" is not an IP address or CIDR`);
    if (prefix === undefined) list.addAddress(net, type);
    else list.addSubnet(net, Number(prefix), type);
  }
  return list;
}

/** Builds the guard for one policy (from config `webhooks.*`; tests inject `resolve`). */
export function createSsrfGuard(policy: SsrfPolicy): SsrfGuard {
  const allowed = allowList(policy.allowedTargets ?? []);
  const resolve = policy.resolve ?? systemResolver;

  /** Why this address may not be a target under the policy, or undefined. */
  function refuseAddress(address: string): string | undefined {
    if (isMetadataAddress(address)) return `${address} is a cloud metadata address`;
    if (policy.allowPrivateTargets) return undefined;
    const kind = forbiddenAddressKind(address);
    if (kind === undefined) return undefined;
    const version = isIP(address);
    if (allowed.check(address, version === 6 ? 'ipv6' : 'ipv4')) return undefined;
    const inner = version === 6 ? embeddedIpv4(address) : undefined;
    if (inner !== undefined && allowed.check(inner, 'ipv4')) return undefined;
    return `${address} is a ${kind} address`;
  }

  function checkUrl(raw: string): SsrfRefusal | undefined {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return { ok: false, reason: 'not an absolute URL' };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: `scheme ${url.protocol} is not http(s)` };
    if (policy.requireHttps && url.protocol !== 'https:') return { ok: false, reason: 'callback URLs must use https' };
    const host = bare(url.hostname);
    if (isIP(host) !== 0) {
      const why = refuseAddress(host);
      return why === undefined ? undefined : { ok: false, reason: why };
    }
    if (!policy.allowPrivateTargets && INTERNAL_NAME.test(host.replace(/\.$/, '')))
      return { ok: false, reason: `${host} names an internal host` };
    return undefined;
  }

  async function vet(raw: string): Promise<VettedTarget | SsrfRefusal> {
    const refused = checkUrl(raw);
    if (refused) return refused;
    const url = new URL(raw);
    const host = bare(url.hostname);
    const literal = isIP(host);
    if (literal !== 0) return { ok: true, url, address: host, family: literal === 6 ? 6 : 4 };
    let addresses: ResolvedAddress[];
    try {
      addresses = await resolve(host);
    } catch (err) {
      return { ok: false, reason: `${host} did not resolve: ${(err as { code?: string }).code ?? (err as Error).message}` };
    }
    if (addresses.length === 0) return { ok: false, reason: `${host} has no address` };
    // One forbidden address refuses the name: a public/private mix is how rebinding attacks start.
    for (const a of addresses) {
      const why = refuseAddress(a.address);
      if (why !== undefined) return { ok: false, reason: `${host} resolves to ${why}` };
    }
    const first = addresses[0] as ResolvedAddress;
    return { ok: true, url, address: first.address, family: first.family };
  }

  return { policy, checkUrl, vet };
}
