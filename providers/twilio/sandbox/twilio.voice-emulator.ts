/**
 * The sandbox side of Twilio Programmable Voice: `POST /2010-04-01/Accounts/:sid/Calls.json`
 * answers like Twilio (201 Call JSON, SID `CA…`, status `queued`) and then plays the call out as
 * signed call-progress status callbacks (https://www.twilio.com/docs/voice/api/call-resource#statuscallbackevent):
 * `initiated` → `ringing` → `in-progress` (answered) → `completed`, or → `busy`/`no-answer`/
 * `failed`/`canceled` when the scenario's `dlr` is `undelivered`. As Twilio, only the events named
 * in `StatusCallbackEvent` are posted (`completed` alone when none is), and `completed` covers
 * every way a call ends.
 *
 * The sandbox log keeps the call's inline TwiML as `content` (channel `voice`), so a test can read
 * a spoken OTP as the person called would hear it (`readCodeFromTwiml`).
 *
 * Magic `To` numbers, as Twilio's test credentials answer them for calls:
 * `+15005550001` → 21217 invalid number, `+15005550002` → 21214 cannot route,
 * `+15005550003` → 21215 no geo permission, `+15005550004` → 21216 blocked. Numbers the sandbox
 * table marks invalid answer 21217; landlines are called normally — voice is their channel.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { formField } from '../../form-body.ts';
import type { FormFields } from '../../form-body.ts';
import { TWILIO_API_VERSION, isFormFields, referenceOf, rfc2822, twilioErrorBody } from './twilio.emulator-kit.ts';
import type { TwilioEmulatorKit, TwilioErrorBody } from './twilio.emulator-kit.ts';

/** Test-credential magic `To` numbers of `Calls.json` (each refused with its Twilio code). */
export const TWILIO_VOICE_MAGIC_NUMBERS = {
  /** 21217: not a valid phone number. */
  invalid: '+15005550001',
  /** 21214: cannot be routed. */
  unroutable: '+15005550002',
  /** 21215: no geo permission to call it. */
  noGeoPermission: '+15005550003',
  /** 21216: blocked for this account. */
  blocked: '+15005550004',
} as const;

/** How many calls `GET …/Calls/:sid.json` remembers (oldest dropped first). */
const MAX_STORED_CALLS = 10_000;
/** How long the sandbox's answered calls last, in seconds (`CallDuration`). */
const SANDBOX_CALL_SECONDS = 12;

/** Terminal call statuses of an unanswered call; the scenario's `dlrErrorCode` may pick one. */
const UNANSWERED = ['busy', 'no-answer', 'failed', 'canceled'] as const;
type Unanswered = (typeof UNANSWERED)[number];
/** SIP response codes Twilio reports with each ending. */
const SIP_CODES: Readonly<Record<Unanswered | 'completed', string>> = {
  completed: '200',
  busy: '486',
  'no-answer': '487',
  failed: '404',
  canceled: '487',
};

/** The snake_case Call resource as Twilio serialises it. */
export interface TwilioCallJson {
  account_sid: string;
  annotation: string | null;
  answered_by: string | null;
  api_version: string;
  caller_name: string | null;
  date_created: string;
  date_updated: string;
  direction: 'outbound-api';
  duration: string | null;
  end_time: string | null;
  forwarded_from: string | null;
  from: string;
  from_formatted: string;
  group_sid: string | null;
  parent_call_sid: string | null;
  phone_number_sid: string | null;
  price: string | null;
  price_unit: string;
  queue_time: string;
  sid: string;
  start_time: string | null;
  status: string;
  subresource_uris: Record<string, string>;
  to: string;
  to_formatted: string;
  trunk_sid: string | null;
  uri: string;
}

function isUnanswered(value: string | undefined): value is Unanswered {
  return value !== undefined && (UNANSWERED as readonly string[]).includes(value);
}

/** All values of a repeated form field (`StatusCallbackEvent=ringing&StatusCallbackEvent=answered`). */
function formValues(fields: FormFields, key: string): string[] {
  const v = fields[key];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(/[\s,]+/)).filter((x) => x !== '');
}

/** The refusal Twilio would answer for this call, if any. */
function refusal(
  kit: TwilioEmulatorKit,
  to: string | undefined,
  from: string | undefined,
  fields: FormFields,
): TwilioErrorBody | undefined {
  if (to === undefined || to === '') return twilioErrorBody(400, 21201, "No 'To' number is specified");
  if (from === undefined || from === '') return twilioErrorBody(400, 21213, "No 'From' number is specified");
  if (
    formField(fields, 'Twiml') === undefined &&
    formField(fields, 'Url') === undefined &&
    formField(fields, 'ApplicationSid') === undefined
  ) {
    return twilioErrorBody(400, 21205, 'Url, Twiml or ApplicationSid is required');
  }
  switch (to) {
    case TWILIO_VOICE_MAGIC_NUMBERS.invalid:
      return twilioErrorBody(400, 21217, `Phone number ${to} does not appear to be valid`);
    case TWILIO_VOICE_MAGIC_NUMBERS.unroutable:
      return twilioErrorBody(400, 21214, `'To' phone number ${to} cannot be reached`);
    case TWILIO_VOICE_MAGIC_NUMBERS.noGeoPermission:
      return twilioErrorBody(400, 21215, `Account not authorized to call ${to}. Perhaps you need to enable some international permissions`);
    case TWILIO_VOICE_MAGIC_NUMBERS.blocked:
      return twilioErrorBody(400, 21216, `Account not allowed to call ${to}`);
    default:
      break;
  }
  if (!kit.control.number(to).valid) return twilioErrorBody(400, 21217, `Phone number ${to} does not appear to be valid`);
  return undefined;
}

/**
 * Registers `POST /2010-04-01/Accounts/:sid/Calls.json` and `GET …/Calls/:csid(.json)` on the
 * Twilio emulator (same credentials, scenario and log as its messages). Callbacks are spread over
 * the scenario's `dlrDelayMs`: `initiated` at ¼, `ringing` at ½, `in-progress` at ¾, the ending at
 * the full delay, each with a `SequenceNumber`, `Timestamp`, and for the ending `CallDuration` and
 * `SipResponseCode`. The unanswered ending is the scenario's `dlrErrorCode` when it names one
 * (`busy`, `no-answer`, `failed`, `canceled`), else `no-answer`.
 */
export function registerTwilioVoiceEmulator(app: FastifyInstance, kit: TwilioEmulatorKit): void {
  const { control, credentials, answer } = kit;
  const calls = new Map<string, TwilioCallJson>();

  function store(call: TwilioCallJson): void {
    calls.set(call.sid, call);
    if (calls.size > MAX_STORED_CALLS) {
      const oldest = calls.keys().next();
      if (oldest.done !== true) calls.delete(oldest.value);
    }
  }

  function progress(sid: string, url: string, status: string, sequence: number): () => Promise<void> {
    return async () => {
      const call = calls.get(sid);
      const now = new Date();
      if (call !== undefined) {
        call.status = status;
        call.date_updated = rfc2822(now);
        if (status === 'in-progress') call.start_time = rfc2822(now);
        if (status === 'completed' || isUnanswered(status)) {
          call.end_time = rfc2822(now);
          call.duration = status === 'completed' ? String(SANDBOX_CALL_SECONDS) : '0';
        }
      }
      const params: Record<string, string> = {
        AccountSid: credentials.accountSid,
        ApiVersion: TWILIO_API_VERSION,
        CallSid: sid,
        CallStatus: status,
        CallbackSource: 'call-progress-events',
        Called: call?.to ?? '',
        Caller: call?.from ?? '',
        Direction: 'outbound-api',
        From: call?.from ?? '',
        SequenceNumber: String(sequence),
        Timestamp: rfc2822(now),
        To: call?.to ?? '',
      };
      if (status === 'completed' || isUnanswered(status)) {
        const seconds = status === 'completed' ? SANDBOX_CALL_SECONDS : 0;
        params['CallDuration'] = String(seconds);
        params['Duration'] = String(Math.ceil(seconds / 60));
        params['SipResponseCode'] = SIP_CODES[status === 'completed' ? 'completed' : (status as Unanswered)];
      }
      await kit.postCallback(url, params, randomUUID());
    };
  }

  function scheduleProgress(sid: string, url: string | undefined, events: string[]): void {
    if (url === undefined || !/^https?:\/\//i.test(url)) return;
    const scenario = control.scenario('twilio');
    if (scenario.dlr === 'none') return;
    const wanted = new Set(events.length === 0 ? ['completed'] : events);
    const delay = Math.max(0, scenario.dlrDelayMs);
    const ending = scenario.dlr === 'delivered' ? 'completed' : isUnanswered(scenario.dlrErrorCode) ? scenario.dlrErrorCode : 'no-answer';
    const steps: { event: string; status: string; at: number }[] = [
      { event: 'initiated', status: 'initiated', at: Math.floor(delay / 4) },
      { event: 'ringing', status: 'ringing', at: Math.floor(delay / 2) },
    ];
    if (ending === 'completed') steps.push({ event: 'answered', status: 'in-progress', at: Math.floor((3 * delay) / 4) });
    steps.push({ event: 'completed', status: ending, at: delay });
    let sequence = 0;
    for (const step of steps) {
      if (!wanted.has(step.event)) continue;
      control.schedule(step.at, progress(sid, url, step.status, sequence));
      sequence += 1;
    }
  }

  app.post<{ Params: { sid: string } }>(`/${TWILIO_API_VERSION}/Accounts/:sid/Calls.json`, async (request, reply) => {
    const fields: FormFields = isFormFields(request.body) ? request.body : {};
    const to = formField(fields, 'To');
    const statusCallback = formField(fields, 'StatusCallback');
    const log = { to, reference: referenceOf(statusCallback), channel: 'voice' as const };
    const gated = await kit.gate(reply, request, request.params.sid, log);
    if (gated !== undefined) return gated;

    const from = formField(fields, 'From');
    const refused = refusal(kit, to, from, fields);
    if (refused !== undefined) return answer(reply, request, refused.status, refused, log);

    const now = rfc2822(new Date());
    const sid = 'CA' + randomBytes(16).toString('hex');
    const base = `/${TWILIO_API_VERSION}/Accounts/${credentials.accountSid}/Calls/${sid}`;
    const call: TwilioCallJson = {
      account_sid: credentials.accountSid,
      annotation: null,
      answered_by: null,
      api_version: TWILIO_API_VERSION,
      caller_name: null,
      date_created: now,
      date_updated: now,
      direction: 'outbound-api',
      duration: null,
      end_time: null,
      forwarded_from: null,
      from: from ?? '',
      from_formatted: from ?? '',
      group_sid: null,
      parent_call_sid: null,
      phone_number_sid: null,
      price: null,
      price_unit: 'USD',
      queue_time: '0',
      sid,
      start_time: null,
      status: 'queued',
      subresource_uris: {
        notifications: `${base}/Notifications.json`,
        recordings: `${base}/Recordings.json`,
        events: `${base}/Events.json`,
      },
      to: to ?? '',
      to_formatted: to ?? '',
      trunk_sid: null,
      uri: `${base}.json`,
    };
    store(call);
    scheduleProgress(sid, statusCallback, formValues(fields, 'StatusCallbackEvent'));
    // Serialise a snapshot: callbacks may mutate the stored object before the reply is written.
    const twiml = formField(fields, 'Twiml');
    return answer(reply, request, 201, JSON.stringify(call), {
      ...log,
      content: twiml,
      body: twiml === undefined ? undefined : spokenText(twiml),
    });
  });

  app.get<{ Params: { sid: string; csid: string } }>(`/${TWILIO_API_VERSION}/Accounts/:sid/Calls/:csid`, async (request, reply) => {
    const gated = await kit.gate(reply, request, request.params.sid, { channel: 'voice' });
    if (gated !== undefined) return gated;
    const call = calls.get(request.params.csid.replace(/\.json$/, ''));
    if (call === undefined) {
      return answer(
        reply,
        request,
        404,
        twilioErrorBody(404, 20404, `The requested resource ${request.url.split('?')[0] ?? ''} was not found`),
        { channel: 'voice' },
      );
    }
    return answer(reply, request, 200, JSON.stringify(call), { to: call.to, channel: 'voice' });
  });
}

/** What the callee hears: the text of every `<Say>` of the TwiML, in order (the sandbox log's `body`). */
export function spokenText(twiml: string): string {
  return [...twiml.matchAll(/<Say\b[^>]*>([^<]*)<\/Say>/g)]
    .map((m) => (m[1] ?? '').trim())
    .filter((t) => t !== '')
    .join(' ');
}
