/**
 * The shape of a carrier's golden WhatsApp wire format: what the carrier documents for a
 * WhatsApp authentication-template send and its delivery callbacks (read receipts and the "not a
 * WhatsApp user" failure included), written down once per carrier (`<id>.whatsapp.golden.ts`) and
 * checked by that carrier's WhatsApp test against the real traffic of the adapter and the
 * emulator, so the two cannot agree on a wrong format between themselves.
 */
import type { CarrierStatus, ProviderId } from '../provider.ts';

/** One carrier's golden WhatsApp wire format (see the file comment). */
export interface WhatsAppWireGolden {
  provider: ProviderId;
  /** Where the format is documented. */
  source: string;
  send: {
    method: 'POST';
    /** Path the carrier API is called on, with the sandbox credentials' ids filled in. */
    path: string;
    contentType: RegExp;
    /** Top-level body fields every send carries. */
    requiredFields: readonly string[];
    /** Top-level body fields a WhatsApp template send must not carry (free text outside the 24-hour window fails). */
    forbiddenFields: readonly string[];
    /** The body for a recipient, sender and code, as far as it is fixed (compared with `toMatchObject`). */
    expected: (e164: string, code: string) => Readonly<Record<string, unknown>>;
  };
  callback: {
    contentType: RegExp;
    /** Headers that authenticate the callback (lower-case). */
    authHeaders: readonly string[];
    /** Raw statuses of a message delivered and then read, in order. */
    deliveredSequence: readonly string[];
    /** Raw status and error code of the one callback of a send to a number not on WhatsApp. */
    notRegistered: { status: string; errorCode: string };
    /** What marks a callback as WhatsApp (Twilio `ChannelPrefix`, Sinch channel identity). */
    markers: Readonly<Record<string, unknown>>;
    /** Reads a callback's raw status, error code and the fields `markers` names, wherever the carrier puts them. */
    summarize: (rawBody: string) => { status: unknown; errorCode: unknown; markers: Record<string, unknown> };
  };
  /** Raw status (and error code) → normalised status, run through the parser. */
  statusTable: readonly { status: string; errorCode?: string; normalized: CarrierStatus; recipientNotCapable?: boolean; read?: boolean }[];
}
