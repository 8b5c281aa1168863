/**
 * The sandbox side of Sinch Number Lookup v2 and its OAuth2 token service (reference §2.4, §2.6):
 * - `POST /oauth2/token` — HTTP Basic `keyId:keySecret`, form body `grant_type=client_credentials`
 *   → `{access_token, expires_in: 3599, scope: "", token_type: "bearer"}`; wrong credentials → 401
 *   `{"error":"invalid_client"}`. Tokens are opaque, so the SDK caches one until a 401 whose
 *   `WWW-Authenticate` says `expired` (what the emulator answers for a token it no longer knows).
 * - `POST /v2/projects/:projectId/lookups` — Bearer token, JSON `{number, features?}` (default
 *   `["LineType"]`) → the camelCase answer with only the requested features, from the sandbox
 *   number table (CONTRACTS §6). Errors are RFC 9457 problem details `{type,title,status,detail,traceId}`.
 *
 * Table → Sinch:
 * - `valid:false` → 400 problem "Invalid number";
 * - `lineType` → `line.type` (`mobile` → `Mobile`, `landline` → `Landline`, `voip` → `VoIP`,
 *   `tollfree` → `Freephone`, `unknown` → `Other`);
 * - `mccmnc` → `line.mobileCountryCode`/`mobileNetworkCode`; `ported` → `line.ported`
 *   (default false) with a `portingDate` when ported;
 * - `simSwap` → `simSwap.swapped` true with the smallest period covering the swap's age
 *   (`SP4H` for an hour ago; `SPMAX` beyond 30 days); no swap → `{swapped:false, swapPeriod:"SPMAX"}`;
 * - Number Lookup has no roaming field.
 * Scenario (`sinch`): outage → 503 at once, latency, injected failures — on lookups only (the
 * token service is a separate Sinch service). Every request is recorded; lookups with `to`.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { countryOfE164 } from '../../sandbox-kit/e164-country.ts';
import { ensureFormBodyParser, formField } from '../../form-body.ts';
import type { FormFields } from '../../form-body.ts';
import type { SandboxControl, SandboxLogEntry, SandboxNumber } from '../../provider.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sinch.sandbox.ts';

/** The token lifetime Sinch announces (reference §2.6). */
const TOKEN_EXPIRES_IN = 3599;
/** How many issued tokens the emulator remembers (oldest forgotten first; the SDK then refreshes). */
const MAX_TOKENS = 10_000;
const TOKEN_PREFIX = 'sbx-sinch-';
const E164 = /^\+[1-9]\d{1,14}$/;
const PROBLEM_TYPE = 'https://developers.sinch.com/docs/number-lookup/api-reference/errors';

/** Our line types as Sinch spells them. */
const SINCH_TYPES: Readonly<Record<SandboxNumber['lineType'], string>> = {
  mobile: 'Mobile',
  landline: 'Landline',
  voip: 'VoIP',
  tollfree: 'Freephone',
  unknown: 'Other',
};

const CARRIERS: Readonly<Record<SandboxNumber['lineType'], string | undefined>> = {
  mobile: 'Sandbox Mobile',
  landline: 'Sandbox Fixed',
  voip: 'Sandbox VoIP',
  tollfree: 'Sandbox Toll-Free',
  unknown: undefined,
};

/** Sinch's swap periods, shortest first, with their length in seconds. */
const SWAP_PERIODS: readonly (readonly [string, number])[] = [
  ['SP4H', 4 * 3600],
  ['SP12H', 12 * 3600],
  ['SP24H', 24 * 3600],
  ['SP48H', 48 * 3600],
  ['SP5D', 5 * 86_400],
  ['SP7D', 7 * 86_400],
  ['SP14D', 14 * 86_400],
  ['SP30D', 30 * 86_400],
];

/**
 * The tokens the emulator's `/oauth2/token` issued, for the other OAuth2 APIs of the Sinch
 * emulator (Conversation) to check Bearer tokens against the same service.
 */
export interface SinchIssuedTokens {
  /** Whether `token` was issued and is still remembered. */
  has(token: string): boolean;
  /**
   * The `WWW-Authenticate` challenge of a 401 for `token`: a token of ours we no longer know is
   * reported expired, so the SDK fetches a new one (reference §2.6).
   */
  challenge(token: string | undefined): string;
}

/** OAuth2 project credentials the emulator accepts. */
export interface SinchOAuthCredentials {
  projectId: string;
  keyId: string;
  keySecret: string;
}

/** Number Lookup's problem-details error body. */
export interface SinchProblemJson {
  type: string;
  title: string;
  status: number;
  detail?: string;
  traceId: string;
}

/** Number Lookup's answer (the features Switchboard asks for). */
export interface SinchLookupJson {
  number: string;
  countryCode?: string;
  traceId: string;
  line?: { carrier?: string; type: string; mobileCountryCode?: string; mobileNetworkCode?: string; ported: boolean; portingDate?: string };
  simSwap?: { swapped: boolean; swapPeriod: string };
}

function problem(status: number, title: string, detail?: string): SinchProblemJson {
  const body: SinchProblemJson = { type: `${PROBLEM_TYPE}#${status}`, title, status, traceId: randomBytes(8).toString('hex') };
  if (detail !== undefined) body.detail = detail;
  return body;
}

function basicCredentials(header: string | undefined): { user: string; pass: string } | undefined {
  if (header === undefined || !header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/**
 * The sandbox entry a lookup answers from, straight from the table (the SMS magic numbers are SMS
 * refusals, not lookup facts: CONTRACTS §6).
 */
function entryFor(control: SandboxControl, e164: string): SandboxNumber {
  const entry = control.number(e164);
  return entry;
}

/** Age of the number's last SIM swap in seconds, per the table; undefined without one. */
function swapAgeSeconds(entry: SandboxNumber, now: Date): number | undefined {
  const at = entry.simSwap?.lastSwapAt;
  if (at !== undefined && !Number.isNaN(Date.parse(at))) return Math.max(0, (now.getTime() - Date.parse(at)) / 1000);
  return entry.simSwap?.swappedWithinSeconds;
}

/** Builds Sinch's answer for a valid number with the requested features. */
export function sinchLookupJson(
  e164: string,
  entry: SandboxNumber,
  features: ReadonlySet<string>,
  now: Date = new Date(),
): SinchLookupJson {
  const json: SinchLookupJson = { number: e164, traceId: randomBytes(8).toString('hex') };
  const country = countryOfE164(e164);
  if (country !== undefined) json.countryCode = country;
  if (features.has('LineType')) {
    const line: NonNullable<SinchLookupJson['line']> = { type: SINCH_TYPES[entry.lineType], ported: entry.ported === true };
    const carrier = CARRIERS[entry.lineType];
    if (carrier !== undefined) line.carrier = carrier;
    if (entry.mccmnc !== undefined) {
      line.mobileCountryCode = entry.mccmnc.slice(0, 3);
      line.mobileNetworkCode = entry.mccmnc.slice(3);
    }
    if (entry.ported === true) line.portingDate = '2021-05-04T00:00:00Z';
    json.line = line;
  }
  if (features.has('SimSwap')) {
    const age = swapAgeSeconds(entry, now);
    if (age === undefined) json.simSwap = { swapped: false, swapPeriod: 'SPMAX' };
    else json.simSwap = { swapped: true, swapPeriod: SWAP_PERIODS.find(([, seconds]) => age <= seconds)?.[0] ?? 'SPMAX' };
  }
  return json;
}

/**
 * Registers the token service and Number Lookup on the Sinch emulator (see the file comment).
 * `credentials` default to the documented sandbox ones. Returns the issued-token check that the
 * Conversation emulator shares.
 */
export function registerSinchLookupEmulator(
  app: FastifyInstance,
  control: SandboxControl,
  credentials: SinchOAuthCredentials = SINCH_SANDBOX_CREDENTIALS,
): SinchIssuedTokens {
  const tokens = new Set<string>();
  const challengeFor = (token: string | undefined): string =>
    token?.startsWith(TOKEN_PREFIX) === true
      ? 'Bearer error="invalid_token", error_description="The access token expired"'
      : 'Bearer error="invalid_token"';
  ensureFormBodyParser(app);

  function record(reply: FastifyReply, request: FastifyRequest, status: number, to: string | undefined): void {
    const entry: Omit<SandboxLogEntry, 'at'> = {
      provider: 'sinch',
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      status,
    };
    if (to !== undefined) entry.to = to;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      control.record(entry);
    };
    reply.raw.once('finish', settle);
    reply.raw.once('close', settle);
  }

  function send(
    reply: FastifyReply,
    request: FastifyRequest,
    status: number,
    body: unknown,
    to?: string,
    headers: Record<string, string> = {},
  ): FastifyReply {
    record(reply, request, status, to);
    const type =
      status >= 400 && typeof body === 'object' && body !== null && 'traceId' in body ? 'application/problem+json' : 'application/json';
    return reply.code(status).headers(headers).type(type).send(body);
  }

  function issue(): string {
    const token = TOKEN_PREFIX + randomBytes(24).toString('base64url');
    tokens.add(token);
    if (tokens.size > MAX_TOKENS) {
      const oldest = tokens.values().next();
      if (oldest.done !== true) tokens.delete(oldest.value);
    }
    return token;
  }

  app.post('/oauth2/token', async (request, reply) => {
    const creds = basicCredentials(request.headers.authorization);
    if (creds === undefined || creds.user !== credentials.keyId || creds.pass !== credentials.keySecret) {
      return send(reply, request, 401, { error: 'invalid_client', error_description: 'Client authentication failed' }, undefined, {
        'www-authenticate': 'Basic realm="Sinch"',
      });
    }
    const fields: FormFields = isRecord(request.body) ? (request.body as FormFields) : {};
    if (formField(fields, 'grant_type') !== 'client_credentials') {
      return send(reply, request, 400, { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' });
    }
    return send(reply, request, 200, { access_token: issue(), expires_in: TOKEN_EXPIRES_IN, scope: '', token_type: 'bearer' });
  });

  function failure(reply: FastifyReply, request: FastifyRequest, status: number, to: string | undefined): FastifyReply {
    const scenario = control.scenario('sinch');
    const headers: Record<string, string> = {};
    if ((status === 429 || status === 503) && scenario.retryAfterSec !== undefined) headers['retry-after'] = String(scenario.retryAfterSec);
    return send(reply, request, status, problem(status, STATUS_CODES[status] ?? 'Error'), to, headers);
  }

  /** Body-parsing failures as problem details, recorded like every other answer. */
  function parseErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? 400 : 500;
    return send(reply, request, status, problem(status, STATUS_CODES[status] ?? 'Error', error.message));
  }

  app.post<{ Params: { projectId: string } }>(
    '/v2/projects/:projectId/lookups',
    { errorHandler: parseErrorHandler },
    async (request, reply) => {
      const body = isRecord(request.body) ? request.body : undefined;
      const number = typeof body?.['number'] === 'string' ? body['number'] : undefined;
      const to = number !== undefined && E164.test(number) ? number : undefined;

      if (control.scenario('sinch').outage) return failure(reply, request, 503, to);
      await control.delay('sinch');
      const auth = request.headers.authorization;
      const token = auth?.startsWith('Bearer ') === true ? auth.slice(7).trim() : undefined;
      if (token === undefined || !tokens.has(token)) {
        // A token of ours we no longer know is reported expired, so the SDK fetches a new one.
        return send(reply, request, 401, problem(401, 'Unauthorized'), to, { 'www-authenticate': challengeFor(token) });
      }
      if (request.params.projectId !== credentials.projectId) {
        return send(reply, request, 403, problem(403, 'Forbidden', `No access to project ${request.params.projectId}`), to);
      }
      const injected = control.injectedFailure('sinch');
      if (injected !== undefined) return failure(reply, request, injected, to);
      if (body === undefined || number === undefined)
        return send(reply, request, 400, problem(400, 'Bad Request', 'number is required'), to);
      if (!E164.test(number)) return send(reply, request, 400, problem(400, 'Bad Request', `Invalid number format: ${number}`), to);
      const entry = entryFor(control, number);
      if (!entry.valid) return send(reply, request, 400, problem(400, 'Bad Request', `Invalid number: ${number}`), to);
      const requested = Array.isArray(body['features']) ? body['features'].filter((f): f is string => typeof f === 'string') : [];
      const features = new Set(requested.length === 0 ? ['LineType'] : requested);
      return send(reply, request, 200, sinchLookupJson(number, entry, features), to);
    },
  );

  return { has: (token) => tokens.has(token), challenge: challengeFor };
}
