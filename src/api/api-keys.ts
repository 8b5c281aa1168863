/**
 * API key authentication. Keys are only ever held as SHA-256 hashes; the presented key is hashed
 * and looked up, and the final comparison is constant-time, so neither the config nor a timing
 * side channel reveals a key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, ApiKeyScope } from '../config/config.schema.ts';
import { ApiError } from './error-catalogue.ts';

export interface ApiPrincipal {
  name: string;
  scopes: ReadonlySet<ApiKeyScope>;
  callbackUrl?: string;
}

export class ApiKeyRing {
  private readonly byHash: Map<string, ApiKeyRecord>;

  constructor(keys: readonly ApiKeyRecord[]) {
    this.byHash = new Map(keys.map((k) => [k.sha256, k]));
  }

  /** Resolves `Authorization: Bearer <key>` to a principal, or throws `SB_AUTH_UNAUTHORIZED`. */
  authenticate(authorization: string | undefined): ApiPrincipal {
    const m = authorization === undefined ? null : /^Bearer\s+(\S{1,512})\s*$/i.exec(authorization);
    if (!m) throw new ApiError('SB_AUTH_UNAUTHORIZED', 'missing API key: send Authorization: Bearer <key>');
    const presented = createHash('sha256').update(m[1] as string, 'utf8').digest();
    const record = this.byHash.get(presented.toString('hex'));
    if (!record || !timingSafeEqual(presented, Buffer.from(record.sha256, 'hex'))) {
      throw new ApiError('SB_AUTH_UNAUTHORIZED', 'unknown API key');
    }
    return { name: record.name, scopes: new Set(record.scopes), ...(record.callbackUrl !== undefined ? { callbackUrl: record.callbackUrl } : {}) };
  }
}

/** Throws `SB_AUTH_FORBIDDEN` unless the principal has `scope` (admin implies every scope). */
export function requireScope(p: ApiPrincipal, scope: ApiKeyScope): void {
  if (!p.scopes.has(scope) && !p.scopes.has('admin')) {
    throw new ApiError('SB_AUTH_FORBIDDEN', `this key lacks the "${scope}" scope`);
  }
}
