/**
 * The sandbox side of MessageBird's HLR API (reference §3.4): `POST /hlr {msisdn, reference}` →
 * 201 with status `sent`, `network: null` and empty `details`; the network "answers"
 * `dlrDelayMs` later (the scenario's callback delay — an HLR answer is the network's report), and
 * `GET /hlr/{id}` shows it. Scenario `dlr: "none"` leaves every HLR at `sent`, so the gateway's
 * 1.5 s polling limit can be tested.
 *
 * Sandbox table → HLR (an HLR only knows mobiles):
 * - `valid:false` → 422 code 10 on `msisdn`, as
 *   MessageBird refuses numbers it cannot parse (and as its SMS emulator refuses the same numbers);
 * - `mobile` → `active`, `network` = `mccmnc` (null when unset), `details` with `imsi`,
 *   `country_iso`, `country_name`, `location_iso`, `ported` and `roaming` as 0/1;
 * - `landline`, `voip`, `tollfree` → `failed`: no HLR holds a fixed line;
 * - `unknown` → `unknown`.
 * Scenario (`messagebird`): outage → 503 at once, latency, injected failures; every request is
 * recorded with `to` and the HLR's reference (never as an accepted send).
 */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { countryName, countryOfE164 } from '../../sandbox-kit/e164-country.ts';
import { ensureFormBodyParser } from '../../form-body.ts';
import type { SandboxControl, SandboxLogEntry, SandboxNumber } from '../../provider.ts';
import type { MessageBirdApiErrorEntry } from '../messagebird.client.ts';
import { MESSAGEBIRD_DEFAULT_BASE_URL } from '../messagebird.config.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './messagebird.sandbox.ts';

/** How many HLRs `GET /hlr/:id` remembers (oldest dropped first). */
const MAX_STORED_HLRS = 10_000;
const MSISDN = /^[1-9]\d{1,14}$/;

/** The HLR resource as MessageBird serialises it (reference §3.4). */
export interface MessageBirdHlrJson {
  id: string;
  href: string;
  msisdn: number;
  network: number | null;
  reference: string | null;
  status: 'sent' | 'active' | 'absent' | 'unknown' | 'failed';
  createdDatetime: string;
  statusDatetime: string;
  details:
    | []
    | {
        status_desc: string;
        imsi?: string;
        country_iso?: string;
        country_name?: string;
        location_msc?: string;
        location_iso?: string;
        ported: 0 | 1;
        roaming: 0 | 1;
      };
}

function errorBody(code: number, description: string, parameter: string | null = null): { errors: MessageBirdApiErrorEntry[] } {
  return { errors: [{ code, description, parameter }] };
}

/** MessageBird writes `2024-06-06T09:22:14+00:00`. */
function datetime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** First value of a JSON or form field, as a string. */
function fieldString(body: Record<string, unknown>, key: string): string | undefined {
  const raw = body[key];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The sandbox entry an HLR answers from, straight from the table (the SMS magic numbers are SMS
 * refusals, not lookup facts: CONTRACTS §6).
 */
function entryFor(control: SandboxControl, e164: string): SandboxNumber {
  const entry = control.number(e164);
  return entry;
}

/** What the network answers for a number, per the table in the file comment. */
export function resolveHlr(hlr: MessageBirdHlrJson, entry: SandboxNumber, now: Date = new Date()): void {
  const e164 = `+${hlr.msisdn}`;
  const country = countryOfE164(e164);
  hlr.statusDatetime = datetime(now);
  if (entry.lineType !== 'mobile') {
    hlr.status = entry.lineType === 'unknown' ? 'unknown' : 'failed';
    hlr.details = {
      status_desc: entry.lineType === 'unknown' ? 'Subscriber status could not be determined' : 'Not a mobile subscriber',
      ported: 0,
      roaming: 0,
    };
    return;
  }
  hlr.status = 'active';
  hlr.network = entry.mccmnc === undefined ? null : Number(entry.mccmnc);
  const details: Exclude<MessageBirdHlrJson['details'], []> = {
    status_desc: 'Subscriber is active',
    ported: entry.ported === true ? 1 : 0,
    roaming: entry.roaming === true ? 1 : 0,
  };
  if (entry.mccmnc !== undefined) details.imsi = entry.mccmnc + '0'.repeat(15 - entry.mccmnc.length - 4) + hlr.msisdn.toString().slice(-4);
  if (country !== undefined) {
    details.country_iso = country;
    const name = countryName(country);
    if (name !== undefined) details.country_name = name;
    // Roaming: the sandbox does not say where, only that it is not home.
    if (entry.roaming !== true) details.location_iso = country.toLowerCase();
  }
  hlr.details = details;
}

/** Registers `POST /hlr` and `GET /hlr/:id` (see the file comment). `accessKey` defaults to the sandbox one. */
export function registerMessageBirdLookupEmulator(
  app: FastifyInstance,
  control: SandboxControl,
  accessKey: string = MESSAGEBIRD_SANDBOX_CREDENTIALS.accessKey,
): void {
  const hlrs = new Map<string, MessageBirdHlrJson>();
  ensureFormBodyParser(app);

  function answer(
    reply: FastifyReply,
    request: FastifyRequest,
    status: number,
    body: unknown,
    log: { to?: string | undefined; reference?: string | undefined },
    headers: Record<string, string> = {},
  ): FastifyReply {
    const entry: Omit<SandboxLogEntry, 'at'> = {
      provider: 'messagebird',
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      status,
    };
    if (log.to !== undefined) entry.to = log.to;
    if (log.reference !== undefined) entry.reference = log.reference;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      control.record(entry);
    };
    reply.raw.once('finish', settle);
    reply.raw.once('close', settle);
    return reply.code(status).headers(headers).type('application/json').send(body);
  }

  /** Outage, latency, access key, injected failure — in that order, as on `/messages`. */
  async function gate(
    reply: FastifyReply,
    request: FastifyRequest,
    log: { to?: string | undefined; reference?: string | undefined },
  ): Promise<FastifyReply | undefined> {
    const scenario = control.scenario('messagebird');
    const fail = (status: number): FastifyReply => {
      const headers: Record<string, string> = {};
      if ((status === 429 || status === 503) && control.scenario('messagebird').retryAfterSec !== undefined)
        headers['retry-after'] = String(control.scenario('messagebird').retryAfterSec);
      const body =
        status === 401
          ? errorBody(2, 'Request not allowed (incorrect access_key)', 'access_key')
          : errorBody(99, STATUS_CODES[status] ?? 'internal error');
      return answer(reply, request, status, body, log, headers);
    };
    if (scenario.outage) return fail(503);
    await control.delay('messagebird');
    if (request.headers.authorization !== `AccessKey ${accessKey}`) return fail(401);
    const injected = control.injectedFailure('messagebird');
    return injected === undefined ? undefined : fail(injected);
  }

  function store(hlr: MessageBirdHlrJson): void {
    hlrs.set(hlr.id, hlr);
    if (hlrs.size > MAX_STORED_HLRS) {
      const oldest = hlrs.keys().next();
      if (oldest.done !== true) hlrs.delete(oldest.value);
    }
  }

  function parseErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? 400 : 500;
    return answer(
      reply,
      request,
      status,
      status === 400 ? errorBody(21, `Bad request: ${error.message}`) : errorBody(99, 'internal error'),
      {},
    );
  }

  app.post('/hlr', { errorHandler: parseErrorHandler }, async (request, reply) => {
    const body = isRecord(request.body) ? request.body : undefined;
    const msisdn = body === undefined ? undefined : fieldString(body, 'msisdn')?.replace(/^\+/, '');
    const reference = body === undefined ? undefined : fieldString(body, 'reference');
    const log = { to: msisdn === undefined ? undefined : `+${msisdn}`, reference };
    const gated = await gate(reply, request, log);
    if (gated !== undefined) return gated;
    if (msisdn === undefined) return answer(reply, request, 422, errorBody(9, 'msisdn is required', 'msisdn'), log);
    if (!MSISDN.test(msisdn)) return answer(reply, request, 422, errorBody(10, 'msisdn is invalid', 'msisdn'), log);
    const e164 = `+${msisdn}`;
    if (!entryFor(control, e164).valid) return answer(reply, request, 422, errorBody(10, 'msisdn is invalid', 'msisdn'), log);

    const now = datetime(new Date());
    const id = randomBytes(16).toString('hex');
    const hlr: MessageBirdHlrJson = {
      id,
      href: `${MESSAGEBIRD_DEFAULT_BASE_URL}/hlr/${id}`,
      msisdn: Number(msisdn),
      network: null,
      reference: reference ?? null,
      status: 'sent',
      createdDatetime: now,
      statusDatetime: now,
      details: [],
    };
    store(hlr);
    const scenario = control.scenario('messagebird');
    if (scenario.dlr !== 'none') {
      control.schedule(Math.max(0, scenario.dlrDelayMs), async () => {
        resolveHlr(hlr, entryFor(control, e164));
      });
    }
    // Serialise a snapshot: the resolution may mutate the stored object before the reply is written.
    return answer(reply, request, 201, JSON.stringify(hlr), log);
  });

  app.get<{ Params: { id: string } }>('/hlr/:id', async (request, reply) => {
    const hlr = hlrs.get(request.params.id);
    const log = { to: hlr === undefined ? undefined : `+${hlr.msisdn}`, reference: hlr?.reference ?? undefined };
    const gated = await gate(reply, request, log);
    if (gated !== undefined) return gated;
    if (hlr === undefined) return answer(reply, request, 404, errorBody(20, 'hlr not found'), log);
    return answer(reply, request, 200, JSON.stringify(hlr), log);
  });
}
