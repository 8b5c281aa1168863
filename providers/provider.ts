/**
 * The contracts between Switchboard and its carriers (DESIGN §5). Everything under `providers/`
 * depends only on this file, `errors.ts` and the carriers' own SDKs — never on `src/` — so an
 * adapter can be tested, and its emulator run, without the gateway.
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';

export type ProviderId = 'twilio' | 'sinch' | 'messagebird' | 'fcm' | 'rbm';
export type Channel = 'push' | 'whatsapp' | 'rcs' | 'sms' | 'voice';

/** Attempt statuses a carrier event can report (CONTRACTS §2), plus `unknown` for codes we do not map. */
export type CarrierStatus = 'queued' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'unknown';

export interface SendRequest {
  /** Our message id; every carrier echoes it back (Twilio via the callback URL, Sinch `client_reference`, MessageBird `reference`). */
  messageId: string;
  /** 1-based attempt number within the message. */
  attempt: number;
  channel: Channel;
  /** E.164 recipient. */
  to: string;
  /** Rendered text. May hold an OTP: adapters never log it. */
  body: string;
  /** Absolute URL the carrier posts delivery callbacks to (already carrying our message id). */
  statusCallbackUrl: string;
  /** Seconds the carrier may keep trying; follows the OTP TTL so a late duplicate expires. */
  validitySeconds?: number;
  /** Abort the carrier call (worker shutdown, job timeout). */
  signal?: AbortSignal;
  /**
   * Push only: the device registration token and the string map delivered to the app. The
   * gateway puts `{sb_message_id, sb_ack_token, sb_ack_url}` in `data` so the app can ack.
   */
  push?: { token: string; title?: string; data: Record<string, string> };
  /** Voice and templates: the message locale (BCP 47, e.g. `en`, `pt-BR`) for speech. */
  locale?: string;
  /** Voice only: the code to read digit by digit (the text says it around the digits). */
  spokenCode?: string;
  /**
   * WhatsApp only: the OTP code, the one variable of the WhatsApp authentication template
   * (Twilio `ContentVariables`, Sinch template `parameters`). WhatsApp lets a business open a
   * conversation only with a template Meta approved, and an authentication template's text is
   * fixed by Meta around the code, so `body` is not sent on this channel.
   */
  otpCode?: string;
}

export interface SendResult {
  providerMessageId: string;
  acceptedAt: Date;
  segments?: number;
  cost?: { amount: number; currency: string };
  /** Carrier status at acceptance, normalised (Twilio `queued` → `queued`). */
  status?: CarrierStatus;
}

/**
 * One sent message to look up at the carrier (reconciliation, CONTRACTS §4 "Never stuck"): a
 * callback can be lost (the gateway was down, the carrier gave up retrying), so the gateway asks
 * the carrier's status API for what the callback would have said.
 */
export interface StatusReadRequest {
  /** The carrier's id of the message (Twilio SID, Sinch batch id, MessageBird id). */
  providerMessageId: string;
  channel: Channel;
  /** E.164 recipient (Sinch reads a delivery report per batch and recipient). */
  to: string;
  /** Our message id, echoed on the event like a callback's. */
  messageId: string;
  signal?: AbortSignal;
}

/** The raw inbound HTTP request, exactly as received, so signatures can be checked over the bytes. */
export interface WebhookRequest {
  method: string;
  /** The public URL the carrier called, including the query string (what carriers sign). */
  publicUrl: string;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  rawBody: Buffer;
}

/** One normalised carrier callback event. */
export interface DeliveryEvent {
  provider: ProviderId;
  providerMessageId: string;
  /** Our message id when the carrier echoed it (URL `sb` parameter, client reference). */
  messageId?: string;
  status: CarrierStatus;
  /** The carrier's own status string, kept beside the normalised one. */
  rawStatus: string;
  /** Carrier error code, as a string. */
  errorCode?: string;
  /** Whether the carrier error code is usually transient (Twilio 30003, Sinch 404). */
  transient?: boolean;
  /** When the carrier says it happened; else when we received it. */
  occurredAt: Date;
  /** Carrier-reported price, when the callback carries one. */
  cost?: { amount: number; currency: string };
  /**
   * The recipient cannot use this channel at all — the handset is not RCS-capable (Twilio 63106;
   * Sinch `FAILED` with `RECIPIENT_NOT_REACHABLE` on an RCS-only send). Switchboard asks carriers
   * for RCS only (DESIGN §6.3), so the gateway falls back to the next channel with reason
   * `rcs_not_capable` rather than trying RCS on another provider, and may cache "not capable".
   */
  recipientNotCapable?: boolean;
  /**
   * A read receipt (Twilio `MessageStatus=read`, Sinch Conversation `READ`; WhatsApp and RCS):
   * the status is `delivered` — read implies delivered, so a read that overtakes its delivered
   * still settles the attempt — and the gateway notes the read on the timeline.
   */
  read?: boolean;
}

/** What an RCS capability check concluded (reference §5). */
export type RcsCapabilityStatus = 'capable' | 'not_capable' | 'agent_not_launched' | 'unknown';

/**
 * An RCS capability answer (Google RBM, reference §5). `capable` is true only for `capable`.
 * - `not_capable`: the number cannot be reached with RBM (RCS off or unsupported, carrier not
 *   launched) — send SMS.
 * - `agent_not_launched`: RBM refused us (403), a configuration problem of ours, not a fact about
 *   the number — send SMS and raise an ops alarm; never cache it as the number's capability.
 * - `unknown`: RBM was slow, throttled, failing or unreachable — send SMS; do not cache.
 */
export interface RcsCapability {
  capable: boolean;
  status: RcsCapabilityStatus;
  /** RBM `features` of a capable number (e.g. `RICHCARD_STANDALONE`, `ACTION_DIAL`). */
  features?: string[];
  /** The HTTP status RBM answered with, when it answered. */
  httpStatus?: number;
  /** Why the answer is not a plain capable/not-capable (for logs and alarms). */
  detail?: string;
}

/**
 * An extra inbound callback endpoint of an adapter, served at `/webhooks/<provider id>/<key>`
 * (see `ProviderAdapter.webhooks`). Same contract as `verifyWebhook`/`parseWebhook`.
 */
export interface WebhookEndpoint {
  /** Checks the carrier's signature over the raw request. Never throws: false means 401. */
  verify(raw: WebhookRequest): Promise<boolean>;
  /** Pure: maps a verified callback to events. Unknown statuses become `unknown`; never throws. */
  parse(raw: WebhookRequest): DeliveryEvent[];
}

/**
 * A number lookup's answer, normalised across carriers (DESIGN §6.2). Fields a carrier does not
 * report stay undefined — never guessed — so the gateway can tell "not a landline" from "unknown".
 */
export interface NumberInfo {
  /** False only when the carrier says the number cannot exist; outages reject instead. */
  valid: boolean;
  /** ISO 3166-1 alpha-2 country of the number, when the lookup says. */
  country?: string;
  lineType: 'mobile' | 'landline' | 'voip' | 'tollfree' | 'unknown';
  mcc?: string;
  mnc?: string;
  carrier?: string;
  ported?: boolean;
  roaming?: boolean;
  /**
   * Present only when the carrier reports a SIM swap. `swappedWithinSeconds` is an upper bound on
   * the time since the last swap (exact when `lastSwapAt`, the swap's ISO 8601 time, is known; a
   * carrier that only answers "swapped within period P" gives P), so "recent" is
   * `swappedWithinSeconds <= window`. Absent: no swap known, or the carrier cannot tell.
   */
  simSwap?: { swappedWithinSeconds?: number; lastSwapAt?: string };
  /** What the lookup itself cost, when the carrier prices it (lookups cost about as much as an SMS). */
  cost?: { amount: number; currency: string };
}

/**
 * One carrier's adapter. `Id` is its provider id: the built-in carriers' ids by default; a carrier
 * added through `createRegistry` (a test's fake) carries its own.
 */
export interface ProviderAdapter<Id extends string = ProviderId> {
  readonly id: Id;
  readonly channels: readonly Channel[];
  /** Rejects only with `ProviderError`. */
  send(req: SendRequest): Promise<SendResult>;
  /**
   * Looks the number up (DESIGN §6.2). Present only when the adapter is configured for lookups.
   * Resolves `{valid:false}` for a number the carrier says cannot exist; rejects only with
   * `ProviderError` (an outage is `retryable`, so the gateway can degrade to "unknown").
   */
  lookup?(e164: string): Promise<NumberInfo>;
  /**
   * Whether the number can receive RCS now (an RCS capability provider such as RBM). Resolves
   * false for anything but a definite "capable" — including outages — and never rejects.
   */
  rcsCapable?(e164: string): Promise<boolean>;
  /** The full RCS capability answer behind `rcsCapable` (why not capable, features). Never rejects. */
  checkCapability?(e164: string): Promise<RcsCapability>;
  /**
   * Reads the carrier's current status of a sent message through its status API, normalised
   * exactly like a callback so the gateway applies it the same monotonic way. Present when the
   * carrier offers a status read for some channel; resolves `unsupported` when it has none for
   * this channel, `not_found` when it does not know the message (404). Rejects only with
   * `ProviderError`.
   */
  readStatus?(req: StatusReadRequest): Promise<DeliveryEvent | 'not_found' | 'unsupported'>;
  /** Checks the carrier's signature over the raw request. Never throws: false means 401. */
  verifyWebhook(raw: WebhookRequest): Promise<boolean>;
  /** Pure: maps a verified callback to events. Unknown statuses become `unknown`; never throws. */
  parseWebhook(raw: WebhookRequest): DeliveryEvent[];
  /**
   * Callback endpoints besides the main `/webhooks/<id>` one, keyed by sub-path: the gateway
   * serves each at `POST /webhooks/<id>/<key>` with the same verify → 401 / parse → enqueue flow.
   * Sinch has `conversation` (RCS delivery receipts, HMAC-signed, CONTRACTS §3) when RCS is
   * configured, because Conversation callbacks are authenticated differently from its SMS ones.
   */
  webhooks?: Readonly<Record<string, WebhookEndpoint>>;
  close?(): Promise<void>;
}

export interface ProviderDeps {
  /** Base URL that replaces the carrier's host in sandbox mode; undefined in live mode. */
  baseUrl?: string;
  /** Per-request timeout for carrier calls. */
  timeoutMs: number;
}

/**
 * One environment variable that sets an option of a provider's config section (CONTRACTS §5):
 * the loader reads the variables of every registered provider, so the names live beside the
 * options they fill rather than in a list of carriers in `src/`.
 */
export interface ProviderEnvVar<Option extends string = string> {
  /** The variable's exact name (`SWITCHBOARD_TWILIO_AUTH_TOKEN`): a contract, never renamed. */
  variable: string;
  /** The option of `providers.<id>` it sets. */
  option: Option;
  /** A carrier credential: one of them set means live mode unless `SWITCHBOARD_MODE` says otherwise. */
  credential?: boolean;
  /** Live mode refuses to start while the provider is enabled and this is unset. */
  requiredLive?: boolean;
}

/** HTTP methods a carrier calls its callbacks with. */
export type CallbackMethod = 'get' | 'post';

/**
 * How a carrier's callbacks reach the gateway (`/webhooks/<id>`, `/webhooks/<id>/inbound`,
 * `/webhooks/<id>/<key>` for `ProviderAdapter.webhooks`) and the OpenAPI text that says how each
 * proves it comes from the carrier: the routes and their documentation come from one place.
 */
export interface ProviderCallbacks {
  /** Methods `/webhooks/<id>` (and `/inbound`) answer; MessageBird reports with GET as well as POST. */
  methods: readonly CallbackMethod[];
  /** OpenAPI description of `/webhooks/<id>`: what the carrier posts and how it is verified. */
  description: string;
  /** Media types of the callback bodies (OpenAPI request bodies). */
  media: readonly string[];
  /** OpenAPI descriptions of the extra endpoints, by sub-path (`conversation` → `/webhooks/sinch/conversation`). */
  extra?: Readonly<Record<string, string>>;
}

/**
 * What a provider folder exports (DESIGN §3, §5): everything the gateway knows about the carrier,
 * so that `src/` iterates the registry (`providers/index.ts`) instead of listing carrier ids —
 * a new carrier is one folder plus one line in the registry.
 *
 * `TConfig` is what the adapter is built with, `Id` the provider id (literal), `Shape` the zod
 * fields that form the carrier's section of the gateway configuration.
 */
export interface ProviderModule<TConfig = unknown, Id extends string = ProviderId, Shape extends z.core.$ZodShape = z.core.$ZodShape> {
  id: Id;
  channels: readonly Channel[];
  /** Validates the adapter's configuration, defaults applied: what `create` receives. */
  configSchema: z.ZodType<TConfig>;
  /**
   * The fields that are the options of `providers.<id>`: the shape of `configSchema`, or of its
   * input side when the schema derives values after validating (FCM reads its project id from the key).
   */
  settingsShape: Shape;
  /** Dotted paths inside the config that hold secrets (redacted from logs). */
  secretPaths: readonly string[];
  /** Environment variables that set options of the section (credentials and secrets, CONTRACTS §5). */
  env: readonly ProviderEnvVar[];
  /** Request headers that carry the carrier's signature: redacted from logs. */
  signatureHeaders?: readonly string[];
  /** Problems with a section the schema cannot word as well (the variable to fix); `[]` when fine. */
  checkSettings?(settings: Readonly<Record<string, unknown>>): string[];
  /**
   * Builds the adapter. Its `id` is the module's; built-in adapters are typed with every built-in
   * id (`ProviderAdapter`), so the union is allowed here (and `Id` is inferred from `id` alone).
   */
  create(config: TConfig, deps: ProviderDeps): ProviderAdapter<NoInfer<Id> | ProviderId>;
  /** Its callback routes and their OpenAPI text. */
  callbacks: ProviderCallbacks;
  /** Answers number lookups: `lookup.provider` may name it and `lookup_total` counts it. */
  lookups: boolean;
  /** Reads message status back (reconciliation): `reconciliations_total` counts it. */
  statusReads: boolean;
  /**
   * Default place in each channel's candidate list (`routing.channels.<channel>.providers` when
   * the configuration names none): lower comes first; absent, not a default candidate.
   */
  defaultRoutes: Partial<Readonly<Record<Channel, number>>>;
  /** Send-time error codes (`ProviderError.providerCode`) that mean the recipient opted out. */
  optOutErrorCodes?: readonly string[];
  /** Registers the carrier emulator's routes on the sandbox listener (`providers/<id>/sandbox/`). */
  emulator?: (app: FastifyInstance, control: SandboxControl<NoInfer<Id>>) => void;
  /**
   * Inbound (mobile-originated) messages at `/webhooks/<id>/inbound`, for STOP/START opt-outs.
   * Verified exactly like the carrier's status callbacks (the adapter's `verifyWebhook`).
   */
  inbound?: ProviderInbound;
}

/** A provider module of whatever id and options: what the registry and `src/` iterate. */
export type AnyProviderModule = ProviderModule<unknown, string>;

/**
 * Declares a provider module with its literal id and settings kept in its type, so the gateway's
 * configuration type is derived per provider (`config.providers.twilio.accountSid` is a string),
 * and checks that every environment variable names one of its options.
 */
export function defineProvider<TConfig, const Id extends string, Shape extends z.core.$ZodShape>(
  // Each variable must name an option of the section (checked here: in the interface, `keyof Shape`
  // would make every module type invariant).
  module: ProviderModule<TConfig, Id, Shape> & { env: readonly ProviderEnvVar<keyof Shape & string>[] },
): ProviderModule<TConfig, Id, Shape> {
  return module;
}

/** One inbound (mobile-originated) message, normalised across carriers. */
export interface InboundMessage {
  /** Who wrote, as the carrier wrote it (E.164 with or without `+`): the number an opt-out suppresses. */
  from: string;
  /** Our number it was sent to. */
  to: string;
  text: string;
  providerMessageId: string;
}

/** A carrier's inbound-message webhook: the gateway's parser and the emulator's sender. */
export interface ProviderInbound {
  /** Pure: a verified inbound webhook → the message, or undefined when it is not one. Never throws. */
  parse(raw: WebhookRequest): InboundMessage | undefined;
  /**
   * Sandbox side: posts `msg` to `url` exactly as the carrier would (its body format and its
   * signature with the documented sandbox credentials). Resolves the HTTP status the gateway answered.
   */
  emulate(msg: Omit<InboundMessage, 'providerMessageId'>, url: string): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Sandbox side (CONTRACTS §6). Emulators receive this through their factory and never import src/.

export interface ProviderScenario {
  outage: boolean;
  errorRate: number;
  errorStatus: number;
  retryAfterSec?: number;
  latencyMs: number;
  dlr: 'delivered' | 'undelivered' | 'none';
  dlrErrorCode?: string;
  dlrDelayMs: number;
  /**
   * `post`: callbacks are posted; `drop`: they are lost on the way while the carrier's own state
   * (what its status API answers) advances as usual — a lost DLR.
   */
  callbacks: 'post' | 'drop';
  /**
   * Delays (ms) between the tries of a callback that failed, or `carrier`: the schedule the
   * emulated carrier documents (each emulator says which).
   */
  callbackRetry: 'carrier' | readonly number[];
}

/**
 * A provider's scenario when nobody set one (CONTRACTS §6): no errors, no latency, delivered after
 * 200 ms, callbacks posted on the carrier's own retry schedule. The sandbox server, the emulators'
 * fake control and tests resetting a scenario share this one copy.
 */
export function defaultProviderScenario(): ProviderScenario {
  return {
    outage: false,
    errorRate: 0,
    errorStatus: 503,
    latencyMs: 0,
    dlr: 'delivered',
    dlrDelayMs: 200,
    callbacks: 'post',
    callbackRetry: 'carrier',
  };
}

/**
 * The retry delays of a callback under `scenario`: its own list, or the carrier's documented
 * schedule when `carrier`.
 */
export function callbackRetryDelays(
  scenario: Pick<ProviderScenario, 'callbackRetry'>,
  carrierSchedule: readonly number[],
): readonly number[] {
  return scenario.callbackRetry === 'carrier' ? carrierSchedule : scenario.callbackRetry;
}

export interface SandboxNumber {
  valid: boolean;
  lineType: 'mobile' | 'landline' | 'voip' | 'tollfree' | 'unknown';
  rcs: boolean;
  /**
   * Whether the number has a WhatsApp account. Unset: every valid number but a landline has one
   * (see {@link sandboxOnWhatsApp}); `false` makes every WhatsApp emulator answer its carrier's
   * "not a WhatsApp user" (Twilio 63024, Sinch `RECIPIENT_NOT_REACHABLE`).
   */
  whatsapp?: boolean;
  simSwap?: { swappedWithinSeconds?: number; lastSwapAt?: string };
  mccmnc?: string;
  ported?: boolean;
  roaming?: boolean;
}

/** One request the sandbox received; `Id` is the emulating provider's id (a built-in one by default). */
export interface SandboxLogEntry<Id extends string = ProviderId> {
  at: string;
  provider: Id;
  method: string;
  path: string;
  to?: string;
  /** The client reference the carrier would echo (our message id). */
  reference?: string;
  /** The text the handset would receive (sends only): lets sandbox tests read an OTP as a user would. */
  body?: string;
  /**
   * What the handset would get when it is not plain text: the TwiML a voice call speaks (Twilio
   * `Calls.json`), so sandbox tests can read a spoken OTP from the log.
   */
  content?: string;
  /** The channel of a send when it is not SMS (e.g. `voice`), so log readers can tell calls from texts. */
  channel?: Channel;
  status: number;
}

/** What the sandbox "device" behind a push token does (CONTRACTS §6 `PUT /_sandbox/push/:token`). */
export interface SandboxPushToken {
  result: 'ok' | 'unregistered' | 'invalid' | 'unavailable';
  /** When set, the device acks through `sb_ack_url` this many ms after receiving the push. */
  autoAckMs?: number;
}

/** Magic recipients every SMS emulator refuses, each in its own dialect (CONTRACTS §6). */
export const MAGIC_NUMBERS = {
  invalid: '+15005550001',
  optedOut: '+15005550004',
  notSmsCapable: '+15005550009',
} as const;

/**
 * Whether a sandbox number can receive WhatsApp: its `whatsapp` flag when set, else every valid
 * number that is not a landline. One rule for every WhatsApp emulator.
 */
export function sandboxOnWhatsApp(e164: string, entry: SandboxNumber): boolean {
  if (!entry.valid || e164 === MAGIC_NUMBERS.invalid) return false;
  if (entry.whatsapp !== undefined) return entry.whatsapp;
  return entry.lineType !== 'landline';
}

/** What an emulator gets of the sandbox; `Id` is the ids it may name (its own provider's, in practice). */
export interface SandboxControl<Id extends string = ProviderId> {
  /** Current scenario settings of a provider. */
  scenario(provider: Id): ProviderScenario;
  /** The number table entry (defaults for unset numbers). */
  number(e164: string): SandboxNumber;
  /** The push-token table entry (unset tokens are `{result:"ok"}` with no ack). */
  pushToken(token: string): SandboxPushToken;
  /** Decides, per the scenario, whether this request should fail: returns the HTTP status to answer, or undefined. */
  injectedFailure(provider: Id): number | undefined;
  /** Waits the scenario latency (resolves at once when 0). */
  delay(provider: Id): Promise<void>;
  /** Counts a request and its answer status; `accepted` when a send's 2xx was fully written. */
  record(entry: Omit<SandboxLogEntry<Id>, 'at'>, opts?: { acceptedSend?: boolean }): void;
  /** Counts a callback post outcome. */
  callbackResult(provider: Id, ok: boolean): void;
  /** Runs `fn` after `ms` unless the sandbox is reset or closed first (callbacks, device acks). */
  schedule(ms: number, fn: () => Promise<void>): void;
}
