/**
 * Secret keys as `KeyObject`s, made once per key buffer. Node re-imports a raw Buffer key on every
 * `createHmac`/`createCipheriv` call (about 5× slower than a prepared KeyObject, measured in the
 * benchmark profile), and the pipeline signs or encrypts several times per message.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';

const prepared = new WeakMap<Buffer, KeyObject>();

export function keyObject(key: Buffer): KeyObject {
  let k = prepared.get(key);
  if (!k) {
    k = createSecretKey(key);
    prepared.set(key, k);
  }
  return k;
}
