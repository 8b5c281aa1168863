/**
 * The shape of a carrier's "golden" wire format: what `reference/providers.md` documents for its
 * send request and its delivery callbacks, written down once per carrier (`<id>/sandbox/<id>.golden.ts`)
 * and checked by the contract suite against what really crosses the wire — the adapter's request
 * as the emulator receives it and the emulator's callback as our receiver sees it — so adapter and
 * emulator cannot agree on a wrong format between themselves.
 */
import type { CarrierStatus, ProviderId } from '../provider.ts';

/** Where a callback carries its fields. */
export type GoldenFieldLocation = 'form-body' | 'json-body' | 'query';

/** One carrier's golden wire format (see the file comment). */
export interface WireGolden {
  provider: ProviderId;
  /** The reference sections this golden is taken from. */
  source: string;
  send: {
    method: 'POST';
    /** Path the carrier API is called on, with the sandbox credentials' ids filled in. */
    path: string;
    /** The full `Authorization` header for the sandbox credentials. */
    authorization: string;
    contentType: RegExp;
    /** Body fields every send carries (names exactly as the carrier spells them). */
    requiredFields: readonly string[];
    /** Body fields present only when the request asks for them (e.g. a validity period). */
    optionalFields: readonly string[];
    /** Fields whose value is fixed for every send. */
    fixedValues: Readonly<Record<string, unknown>>;
    /** Where the recipient and our message id travel. */
    recipientField: string;
    /** The recipient as the carrier writes it, from E.164. */
    recipientFormat: (e164: string) => unknown;
    /** Field that echoes our message id, or undefined when it rides in the callback URL. */
    referenceField?: string;
    callbackUrlField: string;
  };
  callback: {
    method: 'POST' | 'GET';
    /** Content type of a callback with a body; undefined when it has none. */
    contentType?: RegExp;
    /** Header that authenticates the callback (lower-case). */
    authHeader: string;
    /** What the header protects: a signature over URL and/or body, or credentials only. */
    integrity: 'signature' | 'credentials';
    fieldsIn: GoldenFieldLocation;
    /** Fields every delivery callback carries. */
    requiredFields: readonly string[];
    statusField: string;
    /** Raw status of the intermediate and final callbacks for a delivered message, in order. */
    deliveredSequence: readonly string[];
    /** Raw status of the final callback of an undelivered message. */
    undeliveredStatus: string;
    /** Field carrying the carrier's error code on an undelivered callback. */
    errorCodeField: string;
  };
  /**
   * Raw status (plus any extra fields it needs) → normalised status: the reference's mapping table
   * (§1.8, §2.7, §3.6), run through the adapter's parser.
   */
  statusTable: readonly { fields: Readonly<Record<string, string>>; status: CarrierStatus }[];
}
