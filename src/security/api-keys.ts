/**
 * API key authentication. Keys are only ever held as SHA-256 hashes; the presented key is hashed
 * and looked up, and the final comparison is constant-time, so neither the config nor a timing
 * side channel reveals a key.
 *
 * Each key also carries its policy (config/keys.yaml): allowed countries, rate limits, lookup and
 * SIM-swap policy, RCS upgrade. It is resolved once here, with the deployment's defaults filled
 * in, so admission and the worker read one complete record instead of re-merging config per request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { configSchema, type ApiKeyRecord, type ApiKeyScope, type Config } from '../config/config.schema.ts';
import { ApiError } from '../domain/error-catalogue.ts';

/** A key's effective admission limits (its overrides over `config.rateLimits`). */
export interface KeyRateLimits {
  requestsPerSecond: number;
  otpPerUserPerHour: number;
  otpPerNumberPerHour: number;
}

/** Everything a key's policy decides, with defaults applied. */
export interface KeyPolicy {
  /** Recipient countries this key may send to; undefined = every country. */
  allowedCountries?: ReadonlySet<string>;
  rateLimits: KeyRateLimits;
  lookup: Config['keyDefaults']['lookup'];
  simSwap: Config['keyDefaults']['simSwap'];
  autoUpgradeRcs: boolean;
  /** The key's OTP delivery timeout; undefined: the deployment's `otp.deliveryTimeoutMs`. */
  otpDeliveryTimeoutMs?: number;
}

/** The authenticated caller: its key's name (message ownership), scopes, defaults and policy. */
export interface ApiPrincipal {
  name: string;
  scopes: ReadonlySet<ApiKeyScope>;
  callbackUrl?: string;
  policy: KeyPolicy;
}

/** What the ring needs from the config: the defaults a key's record overrides. */
export type KeyPolicyDefaults = Pick<Config, 'rateLimits' | 'keyDefaults'>;

/** Resolves a key record against the deployment defaults. */
export function resolveKeyPolicy(record: ApiKeyRecord, defaults: KeyPolicyDefaults): KeyPolicy {
  const rl = record.rateLimits ?? {};
  return {
    ...(record.allowedCountries !== undefined ? { allowedCountries: new Set(record.allowedCountries) } : {}),
    rateLimits: {
      requestsPerSecond: rl.requestsPerSecond ?? defaults.rateLimits.requestsPerSecond,
      otpPerUserPerHour: rl.otpPerUserPerHour ?? defaults.rateLimits.otpPerUserPerHour,
      otpPerNumberPerHour: rl.otpPerNumberPerHour ?? defaults.rateLimits.otpPerNumberPerHour,
    },
    lookup: record.lookup ?? defaults.keyDefaults.lookup,
    simSwap: record.simSwap ?? defaults.keyDefaults.simSwap,
    autoUpgradeRcs: record.autoUpgradeRcs ?? defaults.keyDefaults.autoUpgradeRcs,
    ...(record.otpDeliveryTimeoutMs !== undefined ? { otpDeliveryTimeoutMs: record.otpDeliveryTimeoutMs } : {}),
  };
}

/** Every configured key, indexed by hash for authentication and by name for policy lookups. */
export class ApiKeyRing {
  private readonly byHash: Map<string, { record: ApiKeyRecord; principal: ApiPrincipal }>;
  private readonly byName: Map<string, ApiPrincipal>;

  /** `defaults` come from the config; without them, the schema's defaults apply. */
  constructor(keys: readonly ApiKeyRecord[], defaults?: KeyPolicyDefaults) {
    const d = defaults ?? configSchema.pick({ rateLimits: true, keyDefaults: true }).parse({});
    this.byHash = new Map();
    this.byName = new Map();
    for (const record of keys) {
      const principal: ApiPrincipal = {
        name: record.name,
        scopes: new Set(record.scopes),
        ...(record.callbackUrl !== undefined ? { callbackUrl: record.callbackUrl } : {}),
        policy: resolveKeyPolicy(record, d),
      };
      this.byHash.set(record.sha256, { record, principal });
      this.byName.set(record.name, principal);
    }
  }

  /** Resolves `Authorization: Bearer <key>` to a principal, or throws `SB_AUTH_UNAUTHORIZED`. */
  authenticate(authorization: string | undefined): ApiPrincipal {
    const m = authorization === undefined ? null : /^Bearer\s+(\S{1,512})\s*$/i.exec(authorization);
    if (!m) throw new ApiError('SB_AUTH_UNAUTHORIZED', 'missing API key: send Authorization: Bearer <key>');
    const presented = createHash('sha256')
      .update(m[1] as string, 'utf8')
      .digest();
    const found = this.byHash.get(presented.toString('hex'));
    if (!found || !timingSafeEqual(presented, Buffer.from(found.record.sha256, 'hex'))) {
      throw new ApiError('SB_AUTH_UNAUTHORIZED', 'unknown API key');
    }
    return found.principal;
  }

  /** The principal of a key by name (the worker admits raw jobs and applies policies by the message's key). */
  byKeyName(name: string): ApiPrincipal | undefined {
    return this.byName.get(name);
  }
}

/** Throws `SB_AUTH_FORBIDDEN` unless the principal has `scope` (admin implies every scope). */
export function requireScope(p: ApiPrincipal, scope: ApiKeyScope): void {
  if (!p.scopes.has(scope) && !p.scopes.has('admin')) {
    throw new ApiError('SB_AUTH_FORBIDDEN', `this key lacks the "${scope}" scope`);
  }
}

/** Whether the principal may see a message created by `keyName` (CONTRACTS §3: admin sees all). */
export function canAccess(p: ApiPrincipal, keyName: string): boolean {
  return keyName === p.name || p.scopes.has('admin');
}
