/**
 * Types for the `messagebird` package's JWT webhook verifier, a plain JS module without typings
 * (reference §3.3). Only what Switchboard uses is declared; see
 * node_modules/messagebird/lib/webhook-signature-jwt.js.
 */
declare module 'messagebird/lib/webhook-signature-jwt.js' {
  import type { KeyObject } from 'node:crypto';

  /** Options handed to `jose`'s `jwtVerify`. */
  export interface JwtVerifyOptions {
    issuer?: string;
    algorithms?: string[];
    /** Seconds of clock skew tolerated on `nbf`/`exp`. */
    clockTolerance?: number;
    /** "Now" for the time claims (tests). */
    currentDate?: Date;
  }

  export class VerifyOptions {
    constructor(
      validateUrl?: boolean,
      validatePayload?: boolean,
      jwtVerifyOptions?: JwtVerifyOptions,
      jwtVerifyJti?: (jti: string) => boolean,
    );
    validateUrl: boolean;
    validatePayload: boolean;
    jwtVerifyOptions: JwtVerifyOptions;
    jwtVerifyJti: (jti: string) => boolean;
  }

  /** Resolves `true`, or rejects with `Error('invalid signature: …')`. */
  export function verify(url: string, payload: Buffer | null, jwt: string, sk: KeyObject, opts?: VerifyOptions): Promise<true>;

  export const SIGNATURE_HEADER_NAME: 'messagebird-signature-jwt';
}
