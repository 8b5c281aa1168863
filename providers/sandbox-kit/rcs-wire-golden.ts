/**
 * The shape of a carrier's golden RCS wire format: what `reference/providers.md` documents for an
 * RCS-only send and its delivery callbacks, written down once per carrier and checked by the
 * contract suite against real traffic (as `wire-golden.ts` does for SMS). Fields may be nested
 * (Sinch Conversation), so statuses and markers are read and written through functions.
 */
import type { CarrierStatus, ProviderId } from '../provider.ts';

/** Where a request or callback carries its fields. */
export type RcsFieldLocation = 'form-body' | 'json-body';

/** One carrier's golden RCS wire format (see the file comment). */
export interface RcsWireGolden {
  provider: ProviderId;
  /** The reference sections this golden is taken from. */
  source: string;
  send: {
    method: 'POST';
    /** Path the carrier API is called on, with the sandbox credentials' ids filled in. */
    path: string;
    /** The `Authorization` header: exact, or a pattern when it carries a freshly minted OAuth token. */
    authorization: string | RegExp;
    contentType: RegExp;
    fieldsIn: RcsFieldLocation;
    /** Top-level body fields every send carries. */
    requiredFields: readonly string[];
    /** Top-level body fields present only when the request asks for them (validity). */
    optionalFields: readonly string[];
    /** Top-level fields whose value is fixed for every send (the RCS-only routing, the sender). */
    fixedValues: Readonly<Record<string, unknown>>;
    /** The fields that address the recipient, as the carrier writes them from E.164. */
    recipient: (e164: string) => Readonly<Record<string, unknown>>;
    /** The message text, read from the body. */
    textOf: (body: Readonly<Record<string, unknown>>) => unknown;
    /** Fields that echo our message id (besides the callback URL's `sb`). */
    referenceFields: readonly string[];
    callbackUrlField: string;
  };
  callback: {
    /** The adapter endpoint that takes these callbacks: `main` (`verifyWebhook`) or a `webhooks` key. */
    endpoint: 'main' | string;
    method: 'POST';
    contentType: RegExp;
    fieldsIn: RcsFieldLocation;
    /** Headers that authenticate the callback (lower-case); together they sign the body. */
    authHeaders: readonly string[];
    /** Top-level fields every delivery callback carries. */
    requiredFields: readonly string[];
    statusOf: (fields: Readonly<Record<string, unknown>>) => unknown;
    errorCodeOf: (fields: Readonly<Record<string, unknown>>) => unknown;
    /** Returns the fields with another raw status (and failure reason / error code). */
    withStatus: (fields: Readonly<Record<string, unknown>>, status: string, errorCode?: string) => Record<string, unknown>;
    /** Raw statuses of the callbacks of a message delivered over RCS, in order. */
    deliveredSequence: readonly string[];
    /** Raw status of the final callback of an undelivered message. */
    undeliveredStatus: string;
    /** The one callback of an RCS-only send to a handset without RCS. */
    notCapable: { status: string; errorCode: string };
    /** What marks a callback as RCS (Twilio `From=rcs:…`, `ChannelPrefix=rcs`; Sinch channel `RCS`). */
    rcsMarkersOf: (fields: Readonly<Record<string, unknown>>) => Readonly<Record<string, unknown>>;
    rcsMarkers: Readonly<Record<string, unknown>>;
  };
  /** Raw status (and error code) → normalised status: the reference's mapping, through the parser. */
  statusTable: readonly { status: string; errorCode?: string; normalized: CarrierStatus; recipientNotCapable?: boolean }[];
}
