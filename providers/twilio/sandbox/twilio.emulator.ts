/**
 * The sandbox side of Twilio: a small emulator of the Programmable Messaging REST API — plus
 * Programmable Voice calls (`twilio.voice-emulator.ts`) and Lookup v2 (`twilio.lookup-emulator.ts`)
 * — that speaks Twilio's real dialect (paths, HTTP Basic, form bodies, legacy error bodies,
 * snake_case JSON, signed form-encoded StatusCallbacks), so the official SDK and our webhook
 * verification run for real against it (DESIGN §8, reference §1). The parts share
 * `twilio.emulator-kit.ts`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ensureFormBodyParser, formField } from '../../form-body.ts';
import type { FormFields } from '../../form-body.ts';
import { MAGIC_NUMBERS } from '../../provider.ts';
import type { SandboxControl } from '../../provider.ts';
import { TWILIO_API_VERSION, createTwilioEmulatorKit, isFormFields, referenceOf, rfc2822, twilioErrorBody } from './twilio.emulator-kit.ts';
import type { TwilioErrorBody, TwilioLogFields } from './twilio.emulator-kit.ts';
import { registerTwilioLookupEmulator } from './twilio.lookup-emulator.ts';
import { TWILIO_SANDBOX_CREDENTIALS, TWILIO_SANDBOX_FROM } from './twilio.sandbox.ts';
import { registerTwilioVoiceEmulator } from './twilio.voice-emulator.ts';
import { planTwilioWhatsAppCallbacks, TWILIO_SANDBOX_WHATSAPP_INSTALL_SID, twilioWhatsAppRefusal } from './twilio.whatsapp-emulator.ts';
import { TWILIO_WHATSAPP_PREFIX } from '../twilio.whatsapp.ts';

export type { TwilioErrorBody } from './twilio.emulator-kit.ts';
export { rfc2822, twilioErrorBody } from './twilio.emulator-kit.ts';

const API_VERSION = TWILIO_API_VERSION;
/** Twilio's address prefix for RCS senders and recipients (reference §1.6). */
const RCS_PREFIX = 'rcs:';
/** Twilio's error for an RCS-only message to a handset that cannot take RCS (reference §1.6). */
export const TWILIO_RCS_NOT_CAPABLE_CODE = '63106';
/** The RCS sender a Messaging Service picks in the sandbox when an `rcs:` send names no `From`. */
const TWILIO_SANDBOX_RCS_SENDER = TWILIO_SANDBOX_CREDENTIALS.rcsSenderId;
/** How many sent messages `GET …/Messages/:sid.json` remembers (oldest dropped first). */
const MAX_STORED_MESSAGES = 10_000;

/** Twilio's magic test numbers beyond the three every SMS emulator shares (reference §1.7). */
export const TWILIO_MAGIC_NUMBERS = {
  ...MAGIC_NUMBERS,
  /** `To` → 21612, not reachable via SMS from this sender. */
  unroutable: '+15005550002',
  /** `To` → 21408, no geo permission for the region. */
  noGeoPermission: '+15005550003',
  /** `From` → 21606, not an SMS-capable number of this account. */
  fromNotOwned: '+15005550007',
} as const;

/** The snake_case Message resource as Twilio serialises it (reference §1.1). */
export interface TwilioMessageJson {
  account_sid: string;
  api_version: string;
  body: string;
  date_created: string;
  date_sent: string | null;
  date_updated: string;
  direction: 'outbound-api';
  error_code: number | null;
  error_message: string | null;
  from: string;
  messaging_service_sid: string | null;
  num_media: string;
  num_segments: string;
  price: string | null;
  price_unit: string;
  sid: string;
  status: string;
  subresource_uris: { media: string };
  to: string;
  uri: string;
}

export interface TwilioEmulatorOptions {
  /** Credentials the emulator accepts and signs callbacks with; the documented sandbox ones by default. */
  credentials?: { accountSid: string; authToken: string };
}

/** GSM 03.38 default alphabet (one septet each). */
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
/** GSM 03.38 extension table (escape + char: two septets each). */
const GSM_EXTENDED = new Set('^{}\\[~]|€\f');

/**
 * Counts SMS segments the way carriers bill them: GSM-7 160 per single / 153 per concatenated
 * segment, otherwise UCS-2 70 / 67 (UTF-16 code units, so an emoji counts twice).
 */
export function countSegments(body: string): number {
  let septets = 0;
  let gsm = true;
  for (const ch of body) {
    if (GSM_BASIC.has(ch)) septets += 1;
    else if (GSM_EXTENDED.has(ch)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) return septets <= 160 ? 1 : Math.ceil(septets / 153);
  const units = body.length;
  return units <= 70 ? 1 : Math.ceil(units / 67);
}

/**
 * Registers the Twilio emulator on a Fastify instance:
 * - `POST /2010-04-01/Accounts/:sid/Messages.json` → 201 Message JSON, or Twilio's own errors
 *   (401 20003 for wrong credentials; 400 21604/21602/21603 for missing fields; magic numbers
 *   21211/21612/21408/21610/21614, `From` +15005550007 → 21606; sandbox numbers marked invalid →
 *   21211, landline → 21614), then signed status callbacks `sent` → `delivered`/`undelivered`
 *   per the scenario (never one for the initial `queued`, as Twilio).
 * - RCS (reference §1.6): `To=rcs:+…` with `From=rcs:<sender>` (a mismatched pair → 400 21910).
 *   The number table decides: `rcs: true` → the same `sent` → `delivered`/`undelivered` callbacks,
 *   carrying `From=rcs:<sender>`, `To=rcs:+…` and `ChannelPrefix=rcs`; `rcs: false` (landlines
 *   included) → accepted, then one `failed` callback with ErrorCode 63106. Logged with `channel: rcs`.
 * - `GET /2010-04-01/Accounts/:sid/Messages/:msid.json` from a bounded in-memory store.
 * - Voice calls (`POST …/Calls.json`, `GET …/Calls/:sid.json`): see `twilio.voice-emulator.ts`.
 * - Lookup v2 (`GET /v2/PhoneNumbers/:number`): see `twilio.lookup-emulator.ts`.
 * Scenario (`control`): outage → 503 at once; otherwise latency, then an injected failure
 * (`429` carries `Retry-After` when `retryAfterSec` is set). Every request is recorded;
 * `acceptedSend` only once a 201 was fully written.
 */
export function registerTwilioEmulator(app: FastifyInstance, control: SandboxControl, options: TwilioEmulatorOptions = {}): void {
  const credentials = options.credentials ?? TWILIO_SANDBOX_CREDENTIALS;
  const messages = new Map<string, TwilioMessageJson>();
  ensureFormBodyParser(app);

  const kit = createTwilioEmulatorKit(control, credentials);
  const { answer, failure, authorized } = kit;

  function store(message: TwilioMessageJson): void {
    messages.set(message.sid, message);
    if (messages.size > MAX_STORED_MESSAGES) {
      const oldest = messages.keys().next();
      if (oldest.done !== true) messages.delete(oldest.value);
    }
  }

  /** Moves the stored message to `status` and tells the StatusCallback about it. */
  function statusChange(
    sid: string,
    callbackUrl: string,
    status: 'sent' | 'delivered' | 'read' | 'undelivered' | 'failed',
    errorCode?: string,
  ): () => Promise<void> {
    return async () => {
      const message = messages.get(sid);
      const now = new Date();
      if (message !== undefined) {
        message.status = status;
        message.date_updated = rfc2822(now);
        if (status === 'sent') message.date_sent = rfc2822(now);
        if (errorCode !== undefined) message.error_code = Number(errorCode);
      }
      const params: Record<string, string> = {
        AccountSid: credentials.accountSid,
        ApiVersion: API_VERSION,
        From: message?.from ?? TWILIO_SANDBOX_FROM,
        MessageSid: sid,
        MessageStatus: status,
        SmsSid: sid,
        SmsStatus: status,
        To: message?.to ?? '',
      };
      if (message?.messaging_service_sid != null) params['MessagingServiceSid'] = message.messaging_service_sid;
      // RCS callbacks carry `From=rcs:<sender>` and `ChannelPrefix=rcs` (reference §1.6).
      if (message?.to.startsWith(RCS_PREFIX) === true) params['ChannelPrefix'] = 'rcs';
      // WhatsApp callbacks name the channel and its sender registration; a read receipt says so twice
      // (`MessageStatus=read`, `EventType=READ`; reference §1.3). No handset DLR, so no done-date.
      const whatsapp = message?.to.startsWith(TWILIO_WHATSAPP_PREFIX) === true;
      if (whatsapp) {
        params['ChannelPrefix'] = 'whatsapp';
        params['ChannelInstallSid'] = TWILIO_SANDBOX_WHATSAPP_INSTALL_SID;
        if (status === 'read') params['EventType'] = 'READ';
      }
      if (errorCode !== undefined) params['ErrorCode'] = errorCode;
      // `failed` never reached a carrier, so no carrier done-date.
      if (status !== 'sent' && status !== 'failed' && !whatsapp) params['RawDlrDoneDate'] = rawDlrDoneDate(now);
      await kit.postCallback(callbackUrl, params, randomUUID());
    };
  }

  function scheduleCallbacks(sid: string, callbackUrl: string | undefined, rcsNotCapable = false): void {
    if (callbackUrl === undefined || !/^https?:\/\//i.test(callbackUrl)) return;
    const scenario = control.scenario('twilio');
    if (scenario.dlr === 'none') return;
    const delay = Math.max(0, scenario.dlrDelayMs);
    if (rcsNotCapable) {
      // An RCS-only send to a handset without RCS: accepted, then `failed` with 63106 (reference §1.6).
      control.schedule(Math.floor(delay / 2), statusChange(sid, callbackUrl, 'failed', TWILIO_RCS_NOT_CAPABLE_CODE));
      return;
    }
    control.schedule(Math.floor(delay / 2), statusChange(sid, callbackUrl, 'sent'));
    if (scenario.dlr === 'delivered') {
      control.schedule(delay, statusChange(sid, callbackUrl, 'delivered'));
    } else {
      control.schedule(delay, statusChange(sid, callbackUrl, 'undelivered', scenario.dlrErrorCode ?? '30003'));
    }
  }

  /** The synchronous refusal Twilio would answer for this request, if any (`to` without its `rcs:` prefix). */
  function refusal(
    to: string | undefined,
    from: string | undefined,
    service: string | undefined,
    body: string | undefined,
    rcs: boolean,
  ): TwilioErrorBody | undefined {
    if (to === undefined || to === '') return twilioErrorBody(400, 21604, "A 'To' phone number is required.");
    // RCS addresses both ends on the RCS channel; an SMS sender cannot send to an `rcs:` recipient, nor the reverse.
    const fromRcs = from?.startsWith(RCS_PREFIX) === true;
    if ((rcs && !fromRcs && (service === undefined || service === '')) || (!rcs && fromRcs)) {
      return twilioErrorBody(400, 21910, 'Invalid From and To pair. From and To should be of the same channel.');
    }
    if ((from === undefined || from === '') && (service === undefined || service === '')) {
      return twilioErrorBody(400, 21603, "A 'From' phone number is required.");
    }
    if (body === undefined || body === '') return twilioErrorBody(400, 21602, 'Message body is required.');
    if (from === TWILIO_MAGIC_NUMBERS.fromNotOwned) {
      return twilioErrorBody(
        400,
        21606,
        `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`,
      );
    }
    switch (to) {
      case TWILIO_MAGIC_NUMBERS.invalid:
        return twilioErrorBody(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
      case TWILIO_MAGIC_NUMBERS.unroutable:
        return twilioErrorBody(
          400,
          21612,
          `The 'To' phone number: ${to}, is not currently reachable using the 'From' phone number: ${from ?? service ?? ''} via SMS.`,
        );
      case TWILIO_MAGIC_NUMBERS.noGeoPermission:
        return twilioErrorBody(
          400,
          21408,
          `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}.`,
        );
      case TWILIO_MAGIC_NUMBERS.optedOut:
        return twilioErrorBody(400, 21610, 'Attempt to send to unsubscribed recipient');
      case TWILIO_MAGIC_NUMBERS.notSmsCapable:
        if (rcs) break;
        return twilioErrorBody(400, 21614, `'To' number ${to} is not a valid mobile number`);
      default:
        break;
    }
    const number = control.number(to);
    if (!number.valid) return twilioErrorBody(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    // A landline cannot take RCS either, but Twilio only learns that when it tries: 63106, later.
    if (number.lineType === 'landline' && !rcs) return twilioErrorBody(400, 21614, `'To' number ${to} is not a valid mobile number`);
    return undefined;
  }

  /** A WhatsApp create (`To=whatsapp:+…`), after the gate: see `twilio.whatsapp-emulator.ts`. */
  function sendWhatsApp(
    reply: FastifyReply,
    request: FastifyRequest,
    fields: FormFields,
    to: string,
    from: string | undefined,
    statusCallback: string | undefined,
    log: TwilioLogFields,
  ): FastifyReply {
    if (to === '') return answer(reply, request, 400, twilioErrorBody(400, 21604, "A 'To' phone number is required."), log);
    if (to === TWILIO_MAGIC_NUMBERS.invalid || !control.number(to).valid) {
      return answer(reply, request, 400, twilioErrorBody(400, 21211, `The 'To' number ${to} is not a valid phone number.`), log);
    }
    if (to === TWILIO_MAGIC_NUMBERS.noGeoPermission) {
      return answer(
        reply,
        request,
        400,
        twilioErrorBody(
          400,
          21408,
          `Permission to send a WhatsApp message has not been enabled for the region indicated by the 'To' number: ${to}.`,
        ),
        log,
      );
    }
    const checked = twilioWhatsAppRefusal({
      to,
      from,
      body: formField(fields, 'Body'),
      contentSid: formField(fields, 'ContentSid'),
      contentVariables: formField(fields, 'ContentVariables'),
    });
    if ('error' in checked) return answer(reply, request, checked.error.status, checked.error, log);
    const now = rfc2822(new Date());
    const sid = 'SM' + randomBytes(16).toString('hex');
    const message: TwilioMessageJson = {
      account_sid: credentials.accountSid,
      api_version: API_VERSION,
      body: checked.text,
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: from ?? '',
      messaging_service_sid: null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: 'USD',
      sid,
      status: 'queued',
      subresource_uris: { media: `/${API_VERSION}/Accounts/${credentials.accountSid}/Messages/${sid}/Media.json` },
      to: TWILIO_WHATSAPP_PREFIX + to,
      uri: `/${API_VERSION}/Accounts/${credentials.accountSid}/Messages/${sid}.json`,
    };
    store(message);
    if (statusCallback !== undefined && /^https?:\/\//i.test(statusCallback)) {
      for (const plan of planTwilioWhatsAppCallbacks(to, control.number(to), checked.freeForm, control.scenario('twilio'))) {
        control.schedule(plan.atMs, statusChange(sid, statusCallback, plan.status, plan.errorCode));
      }
    }
    return answer(reply, request, 201, JSON.stringify(message), { ...log, body: checked.text });
  }

  app.post<{ Params: { sid: string } }>(`/${API_VERSION}/Accounts/:sid/Messages.json`, async (request, reply) => {
    const fields: FormFields = isFormFields(request.body) ? request.body : {};
    const toField = formField(fields, 'To');
    // RCS recipients are `rcs:+E.164` (reference §1.6), WhatsApp ones `whatsapp:+E.164`; the number
    // table and the log use the E.164.
    const rcs = toField?.startsWith(RCS_PREFIX) === true;
    const whatsapp = toField?.startsWith(TWILIO_WHATSAPP_PREFIX) === true;
    const to = rcs ? toField?.slice(RCS_PREFIX.length) : whatsapp ? toField?.slice(TWILIO_WHATSAPP_PREFIX.length) : toField;
    const statusCallback = formField(fields, 'StatusCallback');
    const log = {
      to,
      reference: referenceOf(statusCallback),
      ...(rcs ? { channel: 'rcs' as const } : whatsapp ? { channel: 'whatsapp' as const } : {}),
    };

    if (control.scenario('twilio').outage) {
      const f = failure(503);
      return answer(reply, request, 503, f.body, log, f.headers);
    }
    await control.delay('twilio');
    if (!authorized(request, request.params.sid)) {
      const f = failure(401);
      return answer(reply, request, 401, f.body, log, f.headers);
    }
    const injected = control.injectedFailure('twilio');
    if (injected !== undefined) {
      const f = failure(injected);
      return answer(reply, request, injected, f.body, log, f.headers);
    }
    const from = formField(fields, 'From');
    const service = formField(fields, 'MessagingServiceSid');
    if (whatsapp) return sendWhatsApp(reply, request, fields, to ?? '', from, statusCallback, log);
    const body = formField(fields, 'Body');
    if (from?.startsWith(TWILIO_WHATSAPP_PREFIX) === true) {
      return answer(
        reply,
        request,
        400,
        twilioErrorBody(400, 21910, 'Invalid From and To pair. From and To should be of the same channel.'),
        log,
      );
    }
    const refused = refusal(to, from, service, body, rcs);
    if (refused !== undefined) return answer(reply, request, refused.status, refused, log);
    const sentLog = { ...log, body };

    const now = rfc2822(new Date());
    const sid = 'SM' + randomBytes(16).toString('hex');
    const uri = `/${API_VERSION}/Accounts/${credentials.accountSid}/Messages/${sid}.json`;
    const message: TwilioMessageJson = {
      account_sid: credentials.accountSid,
      api_version: API_VERSION,
      body: body ?? '',
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      // Without `From`, the Messaging Service picks a sender of the message's channel.
      from: from !== undefined && from !== '' ? from : rcs ? RCS_PREFIX + TWILIO_SANDBOX_RCS_SENDER : TWILIO_SANDBOX_FROM,
      messaging_service_sid: service !== undefined && service !== '' ? service : null,
      num_media: '0',
      // RCS is not split into segments.
      num_segments: rcs ? '1' : String(countSegments(body ?? '')),
      price: null,
      price_unit: 'USD',
      sid,
      // Without a Messaging Service Twilio answers `queued`; through one, `accepted` (reference §1.1).
      status: service !== undefined && service !== '' ? 'accepted' : 'queued',
      subresource_uris: { media: `/${API_VERSION}/Accounts/${credentials.accountSid}/Messages/${sid}/Media.json` },
      to: toField ?? '',
      uri,
    };
    store(message);
    scheduleCallbacks(sid, statusCallback, rcs && to !== undefined && !control.number(to).rcs);
    // Serialise a snapshot: callbacks may mutate the stored object before the reply is written.
    return answer(reply, request, 201, JSON.stringify(message), sentLog);
  });

  app.get<{ Params: { sid: string; msid: string } }>(`/${API_VERSION}/Accounts/:sid/Messages/:msid`, async (request, reply) => {
    if (control.scenario('twilio').outage) {
      const f = failure(503);
      return answer(reply, request, 503, f.body, {}, f.headers);
    }
    await control.delay('twilio');
    if (!authorized(request, request.params.sid)) {
      const f = failure(401);
      return answer(reply, request, 401, f.body, {}, f.headers);
    }
    const msid = request.params.msid.replace(/\.json$/, '');
    const message = messages.get(msid);
    if (message === undefined) {
      return answer(
        reply,
        request,
        404,
        twilioErrorBody(404, 20404, `The requested resource ${request.url.split('?')[0] ?? ''} was not found`),
        {},
      );
    }
    return answer(reply, request, 200, JSON.stringify(message), { to: message.to.replace(/^(rcs|whatsapp):/, '') });
  });

  registerTwilioVoiceEmulator(app, kit);
  registerTwilioLookupEmulator(app, kit);
}

/** `RawDlrDoneDate`: `YYMMDDhhmm` in UTC (Twilio passes the carrier's, without a timezone). */
function rawDlrDoneDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}
