/**
 * The sandbox side of Google RBM's capability check (reference §5), answering from the sandbox
 * number table (CONTRACTS §6: "Every lookup emulator and RBM answers from this table"):
 *
 * `GET /v1/phones/:phone/capabilities?requestId=…&agentId=…` with `Authorization: Bearer` →
 * - scenario outage → 503 UNAVAILABLE at once; then the scenario latency;
 * - missing or wrong token → 401 UNAUTHENTICATED;
 * - no `agentId` or `requestId`, or a phone that is not E.164 → 400 INVALID_ARGUMENT;
 * - an agent other than the sandbox's → 403 PERMISSION_DENIED (an unlaunched agent);
 * - an injected failure (`errorRate`/`errorStatus`) → Google's body for that status. **403 "agent
 *   not launched"** for any number: `PUT /_sandbox/providers/rbm {"errorRate":1,"errorStatus":403}`;
 *   429/500/503 likewise (`Retry-After` on 429/503 when `retryAfterSec` is set);
 * - table `rcs: true` (and `valid`) → 200 `{features:[…]}`; otherwise → 404 NOT_FOUND with
 *   Google's body `{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}`.
 * Every request is recorded (provider `rbm`, `to` = the number), so `GET /_sandbox/providers/rbm`
 * counts checks; RBM sends nothing, so `accepted` stays 0.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxControl, SandboxLogEntry } from '../../provider.ts';
import { RBM_SANDBOX_ACCESS_TOKEN, RBM_SANDBOX_AGENT_ID, RBM_SANDBOX_FEATURES } from './rbm.sandbox.ts';

const E164 = /^\+[1-9]\d{1,14}$/;

/** Google's JSON error envelope (reference §5). */
export interface GoogleErrorBody {
  error: { code: number; message: string; status: string };
}

/** Google's body for an HTTP status, as RBM answers it. */
export function rbmErrorBody(code: number, message?: string): GoogleErrorBody {
  switch (code) {
    case 400:
      return { error: { code, message: message ?? 'Request contains an invalid argument.', status: 'INVALID_ARGUMENT' } };
    case 401:
      return {
        error: {
          code,
          message:
            'Request had invalid authentication credentials. Expected OAuth 2 ' +
            'access token, login cookie or other valid authentication credential.',
          status: 'UNAUTHENTICATED',
        },
      };
    case 403:
      return {
        error: { code, message: message ?? 'The caller does not have permission: the agent is not launched.', status: 'PERMISSION_DENIED' },
      };
    case 404:
      return { error: { code, message: 'Requested entity was not found.', status: 'NOT_FOUND' } };
    case 429:
      return { error: { code, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } };
    case 500:
      return { error: { code, message: 'Internal error encountered.', status: 'INTERNAL' } };
    case 503:
      return { error: { code, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' } };
    default:
      return { error: { code, message: message ?? 'Unknown error.', status: 'UNKNOWN' } };
  }
}

/** Options of {@link registerRbmEmulator}; tests use them to run an emulator with other credentials. */
export interface RbmEmulatorOptions {
  accessToken?: string;
  /** Launched agents; any other `agentId` gets 403. The sandbox agent by default. */
  agentIds?: readonly string[];
}

/** Registers the RBM emulator (see the file comment). */
export function registerRbmEmulator(app: FastifyInstance, control: SandboxControl, options: RbmEmulatorOptions = {}): void {
  const accessToken = options.accessToken ?? RBM_SANDBOX_ACCESS_TOKEN;
  const agents = new Set(options.agentIds ?? [RBM_SANDBOX_AGENT_ID]);

  function answer(
    reply: FastifyReply,
    request: FastifyRequest,
    status: number,
    body: unknown,
    to: string | undefined,
    headers: Record<string, string> = {},
  ): FastifyReply {
    const entry: Omit<SandboxLogEntry, 'at'> = {
      provider: 'rbm',
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
    return reply.code(status).headers(headers).type('application/json; charset=UTF-8').send(body);
  }

  function failure(reply: FastifyReply, request: FastifyRequest, status: number, to: string | undefined): FastifyReply {
    const scenario = control.scenario('rbm');
    const headers: Record<string, string> = {};
    if ((status === 429 || status === 503) && scenario.retryAfterSec !== undefined) headers['retry-after'] = String(scenario.retryAfterSec);
    return answer(reply, request, status, rbmErrorBody(status), to, headers);
  }

  app.get<{ Params: { phone: string }; Querystring: Record<string, string | undefined> }>(
    '/v1/phones/:phone/capabilities',
    async (request, reply) => {
      const phone = request.params.phone;
      const to = E164.test(phone) ? phone : undefined;
      if (control.scenario('rbm').outage) return failure(reply, request, 503, to);
      await control.delay('rbm');
      if (request.headers.authorization !== `Bearer ${accessToken}`)
        return answer(reply, request, 401, rbmErrorBody(401), to, { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' });
      const agentId = typeof request.query.agentId === 'string' ? request.query.agentId : '';
      const requestId = typeof request.query.requestId === 'string' ? request.query.requestId : '';
      if (agentId === '') return answer(reply, request, 400, rbmErrorBody(400, 'agentId is required.'), to);
      if (requestId === '') return answer(reply, request, 400, rbmErrorBody(400, 'requestId is required.'), to);
      if (!agents.has(agentId)) return answer(reply, request, 403, rbmErrorBody(403, `Agent ${agentId} is not launched.`), to);
      const injected = control.injectedFailure('rbm');
      if (injected !== undefined) return failure(reply, request, injected, to);
      if (to === undefined) return answer(reply, request, 400, rbmErrorBody(400, `Invalid phone number: ${phone}`), to);
      const entry = control.number(to);
      if (!entry.valid || !entry.rcs) return answer(reply, request, 404, rbmErrorBody(404), to);
      return answer(reply, request, 200, { features: [...RBM_SANDBOX_FEATURES] }, to);
    },
  );
}
