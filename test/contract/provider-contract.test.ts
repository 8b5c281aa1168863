/**
 * The provider contract (DESIGN §5, CONTRACTS §6), run identically against every SMS provider in
 * the registry: each adapter, built with its documented sandbox credentials, talks over real HTTP
 * to its emulator served by the real sandbox app (all emulators on one listener, as in
 * `switchboard sandbox`), and the emulator's callbacks reach a real loopback receiver.
 *
 * Besides behaviour (classification, timeouts, callbacks, status mapping), each carrier's golden
 * wire format (`providers/<id>/<id>.golden.ts`, taken from reference/providers.md) is checked
 * against what actually crossed the wire in both directions, so an adapter and its emulator cannot
 * agree on a wrong format between themselves.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MAGIC_NUMBERS,
  MESSAGEBIRD_SANDBOX_CREDENTIALS,
  SINCH_SANDBOX_CREDENTIALS,
  TWILIO_SANDBOX_CREDENTIALS,
  isProviderError,
  providerModules,
} from '../../providers/index.ts';
import type { CarrierStatus, ProviderAdapter, ProviderError, ProviderModule, SendRequest } from '../../providers/index.ts';
import { messagebirdGolden } from '../../providers/messagebird/messagebird.golden.ts';
import { sinchGolden } from '../../providers/sinch/sinch.golden.ts';
import { startCallbackReceiver } from '../../providers/testing/loopback-fixtures.ts';
import type { CallbackReceiver, ReceivedCallback } from '../../providers/testing/loopback-fixtures.ts';
import type { GoldenFieldLocation, WireGolden } from '../../providers/testing/wire-golden.ts';
import { twilioGolden } from '../../providers/twilio/twilio.golden.ts';
import { createSandboxServer } from '../../src/sandbox/sandbox.server.ts';
import type { SandboxServer } from '../../src/sandbox/sandbox.server.ts';

/** What the contract needs per provider beyond its module: sandbox credentials and golden wire format. */
const CONTRACT_FIXTURES: Record<string, { sandboxConfig: unknown; golden: WireGolden }> = {
  twilio: { sandboxConfig: TWILIO_SANDBOX_CREDENTIALS, golden: twilioGolden },
  sinch: { sandboxConfig: SINCH_SANDBOX_CREDENTIALS, golden: sinchGolden },
  messagebird: { sandboxConfig: MESSAGEBIRD_SANDBOX_CREDENTIALS, golden: messagebirdGolden },
};

const modules: ProviderModule<unknown>[] = Object.values(providerModules);
const smsModules = modules.filter((m) => m.channels.includes('sms'));

/** The adapters' per-request timeout in these tests; the timeout case sets latency well above it. */
const TIMEOUT_MS = 1_500;
const SLOW_TIMEOUT_MS = 150;
const DELIVERED_STATUSES: readonly CarrierStatus[] = ['queued', 'sent', 'delivered'];

/** A request as the sandbox received it, captured before its emulator handled it. */
interface CapturedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

function fieldsOf(callback: ReceivedCallback, where: GoldenFieldLocation): Record<string, unknown> {
  if (where === 'query') return Object.fromEntries(new URL(callback.publicUrl).searchParams);
  const text = callback.rawBody.toString('utf8');
  if (where === 'form-body') return Object.fromEntries(new URLSearchParams(text));
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

/** The same callback with some fields rewritten where the carrier carries them (body or query). */
function rewrite(callback: ReceivedCallback, where: GoldenFieldLocation, patch: Readonly<Record<string, string>>): ReceivedCallback {
  if (where === 'query') {
    const url = new URL(callback.publicUrl);
    for (const [k, v] of Object.entries(patch)) url.searchParams.set(k, v);
    return { ...callback, publicUrl: url.toString(), query: Object.fromEntries(url.searchParams) };
  }
  if (where === 'form-body') {
    const params = new URLSearchParams(callback.rawBody.toString('utf8'));
    for (const [k, v] of Object.entries(patch)) params.set(k, v);
    return { ...callback, rawBody: Buffer.from(params.toString()) };
  }
  const body = { ...fieldsOf(callback, where), ...patch };
  return { ...callback, rawBody: Buffer.from(JSON.stringify(body)) };
}

function bodyRecord(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && !Buffer.isBuffer(body) ? (body as Record<string, unknown>) : {};
}

async function sendError(adapter: ProviderAdapter, req: SendRequest): Promise<ProviderError> {
  try {
    await adapter.send(req);
  } catch (err) {
    if (isProviderError(err)) return err;
    throw new Error(`send rejected with something other than a ProviderError: ${String(err)}`);
  }
  throw new Error('expected the send to fail');
}

describe('provider contract', () => {
  let sandbox: SandboxServer;
  let baseUrl: string;
  let receiver: CallbackReceiver;
  const captured: CapturedRequest[] = [];

  beforeAll(async () => {
    sandbox = createSandboxServer({ providers: modules });
    sandbox.app.addHook('preHandler', async (request) => {
      captured.push({ method: request.method, path: request.url.split('?')[0] ?? request.url, headers: { ...request.headers }, body: request.body });
    });
    await sandbox.app.listen({ host: '127.0.0.1', port: 0 });
    const address = sandbox.app.server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    receiver = await startCallbackReceiver();
  });
  beforeEach(() => {
    sandbox.control.reset();
    captured.length = 0;
    receiver.received.length = 0;
    receiver.status = 204;
  });
  afterAll(async () => {
    const closing = sandbox.app.close();
    // Sockets whose client gave up mid-request (the timeout cases) would hold close() until their keep-alive ends.
    sandbox.app.server.closeAllConnections();
    await closing;
    await receiver.close();
  });

  it('covers every SMS provider of the registry', () => {
    expect(smsModules.length).toBeGreaterThanOrEqual(3);
    for (const module of smsModules) {
      expect(CONTRACT_FIXTURES[module.id], `contract fixtures for ${module.id}`).toBeDefined();
      expect(CONTRACT_FIXTURES[module.id]?.golden.provider).toBe(module.id);
      expect(module.emulator, `emulator of ${module.id}`).toBeTypeOf('function');
    }
  });

  describe.each(smsModules.map((m) => [m.id, m] as const))('%s', (id, module) => {
    const fixtures = CONTRACT_FIXTURES[id];
    if (fixtures === undefined) throw new Error(`no contract fixtures for ${id}`);
    const { golden } = fixtures;
    const config = module.configSchema.parse(fixtures.sandboxConfig);
    let n = 0;

    const adapter = (timeoutMs = TIMEOUT_MS): ProviderAdapter => module.create(config, { baseUrl, timeoutMs });
    const request = (to: string, overrides: Partial<SendRequest> = {}): SendRequest => {
      n += 1;
      const messageId = `msg_contract_${id}_${n}`;
      return {
        messageId,
        attempt: 1,
        channel: 'sms',
        to,
        body: 'Your code is 123456',
        statusCallbackUrl: `${receiver.origin}/webhooks/${id}?sb=${messageId}`,
        ...overrides,
      };
    };
    const scenario = (patch: Record<string, unknown>): void => {
      sandbox.control.putSettings(id, patch);
    };
    /** Sends and waits for the callbacks of a delivered message, in arrival order. */
    const deliveredCallbacks = async (): Promise<{ req: SendRequest; providerMessageId: string; callbacks: ReceivedCallback[] }> => {
      scenario({ dlrDelayMs: 60 });
      const req = request('+14155550100');
      const result = await adapter().send(req);
      const callbacks = await receiver.waitFor(golden.callback.deliveredSequence.length, { ref: req.messageId });
      return { req, providerMessageId: result.providerMessageId, callbacks: callbacks.sort((a, b) => a.receivedAt - b.receivedAt) };
    };

    it('accepts a send, returning a provider message id, and records it with our reference', async () => {
      scenario({ dlr: 'none' });
      const req = request('+14155550100');
      const result = await adapter().send(req);
      expect(result.providerMessageId).toBeTypeOf('string');
      expect(result.providerMessageId).not.toBe('');
      expect(result.acceptedAt).toBeInstanceOf(Date);
      expect(sandbox.control.counters(id)).toMatchObject({ requests: 1, accepted: 1, rejected: 0 });
      expect(sandbox.control.log({ provider: id })).toEqual([expect.objectContaining({ provider: id, method: 'POST', to: req.to, reference: req.messageId })]);
    });

    it('classifies an outage (503) as retryable, counting against the breaker', async () => {
      scenario({ outage: true });
      const err = await sendError(adapter(), request('+14155550100'));
      expect(err).toMatchObject({ provider: id, kind: 'retryable', httpStatus: 503, ambiguous: false });
      expect(err.countsAgainstBreaker).toBe(true);
    });

    it('classifies an injected 500 as retryable', async () => {
      scenario({ errorRate: 1, errorStatus: 500 });
      expect(await sendError(adapter(), request('+14155550100'))).toMatchObject({ kind: 'retryable', httpStatus: 500 });
    });

    it('classifies a 429 with Retry-After as rate_limited with retryAfterMs, without retrying it', async () => {
      scenario({ errorRate: 1, errorStatus: 429, retryAfterSec: 2 });
      const err = await sendError(adapter(), request('+14155550100'));
      expect(err).toMatchObject({ kind: 'rate_limited', retryAfterMs: 2_000, httpStatus: 429 });
      expect(err.countsAgainstBreaker).toBe(false);
      expect(sandbox.control.counters(id).requests).toBe(1);
    });

    it(`classifies the invalid magic number ${MAGIC_NUMBERS.invalid} as permanent/recipient with the carrier's code`, async () => {
      const err = await sendError(adapter(), request(MAGIC_NUMBERS.invalid));
      expect(err).toMatchObject({ kind: 'permanent', scope: 'recipient', ambiguous: false });
      expect(err.providerCode).toBeTypeOf('string');
      expect(err.providerCode).not.toBe('');
      expect(sandbox.control.counters(id)).toMatchObject({ requests: 1, accepted: 0, rejected: 1 });
    });

    it('refuses a number the sandbox table marks invalid like the invalid magic number', async () => {
      sandbox.control.putNumber('+14155550199', { valid: false });
      const magic = await sendError(adapter(), request(MAGIC_NUMBERS.invalid));
      const table = await sendError(adapter(), request('+14155550199'));
      expect(table).toMatchObject({ kind: 'permanent', scope: 'recipient', providerCode: magic.providerCode, httpStatus: magic.httpStatus });
    });

    it('classifies a timeout as retryable and ambiguous, within the adapter timeout', async () => {
      scenario({ latencyMs: 2_000, dlr: 'none' });
      const started = Date.now();
      const err = await sendError(adapter(SLOW_TIMEOUT_MS), request('+14155550100'));
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(err).toMatchObject({ kind: 'retryable', ambiguous: true });
      expect(err.countsAgainstBreaker).toBe(true);
    });

    it('delivers callbacks that verify and parse to queued/sent/delivered, ending delivered', async () => {
      const { req, providerMessageId, callbacks } = await deliveredCallbacks();
      const a = adapter();
      for (const callback of callbacks) expect(await a.verifyWebhook(callback)).toBe(true);
      const events = callbacks.flatMap((c) => a.parseWebhook(c));
      expect(events).toHaveLength(golden.callback.deliveredSequence.length);
      for (const event of events) {
        expect(DELIVERED_STATUSES).toContain(event.status);
        expect(event).toMatchObject({ provider: id, providerMessageId, messageId: req.messageId });
        expect(event.occurredAt).toBeInstanceOf(Date);
      }
      expect(events.at(-1)?.status).toBe('delivered');
      // Counted once the emulator has read our answer, a moment after the receiver saw the request.
      await expect.poll(() => sandbox.control.counters(id).callbacksSent).toBeGreaterThanOrEqual(callbacks.length);
    });

    it('reports an undelivered message with the carrier error code', async () => {
      scenario({ dlr: 'undelivered', dlrDelayMs: 40 });
      const req = request('+14155550100');
      await adapter().send(req);
      const callbacks = await receiver.waitFor(golden.callback.deliveredSequence.length, { ref: req.messageId });
      const events = callbacks.sort((x, y) => x.receivedAt - y.receivedAt).flatMap((c) => adapter().parseWebhook(c));
      const last = events.at(-1);
      expect(last?.status).toBe('undelivered');
      expect(last?.rawStatus).toBe(golden.callback.undeliveredStatus);
      expect(last?.errorCode).toBeTypeOf('string');
      // The sandbox's default failure is each carrier's usually-transient one (Twilio 30003, Sinch 404, MessageBird 27).
      expect(last?.transient).toBe(true);
    });

    it('fails verification for a tampered or unauthenticated callback', async () => {
      const { callbacks } = await deliveredCallbacks();
      const a = adapter();
      const callback = callbacks[0];
      if (callback === undefined) throw new Error('no callback');
      expect(await a.verifyWebhook(callback)).toBe(true);
      if (golden.callback.integrity === 'signature') {
        const tampered = rewrite(callback, golden.callback.fieldsIn, { [golden.callback.statusField]: golden.callback.undeliveredStatus });
        expect(await a.verifyWebhook(tampered)).toBe(false);
      } else {
        const forged = { ...callback, headers: { ...callback.headers, [golden.callback.authHeader]: 'Basic ' + Buffer.from('sinch-callback:guessed').toString('base64') } };
        expect(await a.verifyWebhook(forged)).toBe(false);
      }
      const headers = { ...callback.headers };
      delete headers[golden.callback.authHeader];
      expect(await a.verifyWebhook({ ...callback, headers })).toBe(false);
      const moved = { ...callback, publicUrl: callback.publicUrl.replace('?sb=', '?sb=x') };
      if (golden.callback.integrity === 'signature') expect(await a.verifyWebhook(moved)).toBe(false);
    });

    describe('status mapping', () => {
      let template: ReceivedCallback;

      beforeAll(async () => {
        sandbox.control.reset();
        const { callbacks } = await deliveredCallbacks();
        const last = callbacks.at(-1);
        if (last === undefined) throw new Error('no callback');
        template = last;
      });

      it.each(golden.statusTable.map((row) => [JSON.stringify(row.fields), row.status, row] as const))('maps %s to %s', (_name, status, row) => {
        const events = adapter().parseWebhook(rewrite(template, golden.callback.fieldsIn, row.fields));
        expect(events).toHaveLength(1);
        expect(events[0]?.status).toBe(status);
        expect(events[0]?.rawStatus).toBe(row.fields[golden.callback.statusField]);
      });
    });

    describe(`golden wire format (${golden.source})`, () => {
      it('sends the documented path, auth, content type and body fields', async () => {
        scenario({ dlr: 'none' });
        const req = request('+14155550123', { validitySeconds: 300 });
        await adapter().send(req);
        const sent = captured.filter((c) => c.method === golden.send.method && c.path === golden.send.path);
        expect(sent).toHaveLength(1);
        const wire = sent[0];
        if (wire === undefined) throw new Error('no request captured');
        expect(wire.headers['authorization']).toBe(golden.send.authorization);
        expect(String(wire.headers['content-type'])).toMatch(golden.send.contentType);
        const body = bodyRecord(wire.body);
        const names = Object.keys(body);
        for (const field of golden.send.requiredFields) expect(names, `field ${field}`).toContain(field);
        // Every field sent is one the reference documents for this carrier.
        for (const field of names) expect([...golden.send.requiredFields, ...golden.send.optionalFields], `field ${field}`).toContain(field);
        expect(golden.send.optionalFields.some((f) => names.includes(f)), 'the validity period travels').toBe(true);
        expect(body).toMatchObject(golden.send.fixedValues);
        expect(body[golden.send.recipientField]).toEqual(golden.send.recipientFormat(req.to));
        expect(body[golden.send.callbackUrlField]).toBe(req.statusCallbackUrl);
        if (golden.send.referenceField !== undefined) expect(body[golden.send.referenceField]).toBe(req.messageId);
      });

      it('receives callbacks of the documented method, auth header, content type and fields', async () => {
        const { callbacks } = await deliveredCallbacks();
        expect(callbacks.map((c) => fieldsOf(c, golden.callback.fieldsIn)[golden.callback.statusField])).toEqual(golden.callback.deliveredSequence);
        for (const callback of callbacks) {
          expect(callback.method).toBe(golden.callback.method);
          expect(callback.headers[golden.callback.authHeader]).toBeTypeOf('string');
          if (golden.callback.contentType === undefined) expect(callback.rawBody).toHaveLength(0);
          else expect(String(callback.headers['content-type'])).toMatch(golden.callback.contentType);
          const fields = Object.keys(fieldsOf(callback, golden.callback.fieldsIn));
          for (const field of golden.callback.requiredFields) expect(fields, `callback field ${field}`).toContain(field);
        }
      });

      it('carries the error code in the documented field of an undelivered callback', async () => {
        scenario({ dlr: 'undelivered', dlrDelayMs: 40 });
        const req = request('+14155550100');
        await adapter().send(req);
        const callbacks = await receiver.waitFor(golden.callback.deliveredSequence.length, { ref: req.messageId });
        const final = fieldsOf(callbacks.sort((a, b) => a.receivedAt - b.receivedAt).at(-1) ?? callbacks[0]!, golden.callback.fieldsIn);
        expect(final[golden.callback.statusField]).toBe(golden.callback.undeliveredStatus);
        expect(String(final[golden.callback.errorCodeField] ?? '')).not.toBe('');
      });
    });
  });
});
