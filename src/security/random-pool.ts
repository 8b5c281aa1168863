/**
 * Small random byte strings (AES-GCM IVs) from a CSPRNG pool refilled 4 KiB at a time. Each
 * `randomBytes(12)` is its own trip into OpenSSL — about 30 µs a message in the worker's profile,
 * a sixth of the OTP's whole encryption cost; the pool makes it a copy. The bytes are the same
 * CSPRNG output, only fetched in bulk; each is handed out once.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4_096;
const pool = Buffer.alloc(POOL_BYTES);
let at = POOL_BYTES;

/** `n` fresh random bytes (a copy: the caller may keep or change them). */
export function pooledRandomBytes(n: number): Buffer {
  if (n > POOL_BYTES) return randomFillSync(Buffer.alloc(n));
  if (at + n > POOL_BYTES) {
    randomFillSync(pool);
    at = 0;
  }
  const out = Buffer.from(pool.subarray(at, at + n));
  // Handed out once: the pool's copy is wiped so it never lingers in memory.
  pool.fill(0, at, at + n);
  at += n;
  return out;
}
