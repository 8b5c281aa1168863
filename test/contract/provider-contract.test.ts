/**
 * The provider contract (DESIGN §5, CONTRACTS §6), run identically against every provider in the
 * registry: each adapter, built with its documented sandbox credentials, talks over real HTTP to
 * its emulator served by the real sandbox app (all emulators on one listener, as in
 * `switchboard sandbox`), and what the emulator sends back (SMS callbacks, push device acks)
 * reaches a real loopback receiver.
 *
 * Cases are declared per capability: the common ones (acceptance, classification of outages,
 * 5xx, 429 and timeouts) run for every provider; SMS ones (magic numbers, signed delivery
 * callbacks, status mapping) for SMS carriers; push ones (the sandbox token table, the device's
 * ack, no carrier callbacks) for push carriers; lookup ones (the sandbox number table normalised
 * to `NumberInfo`, outages as retryable errors) for every adapter with `lookup`; voice ones
 * (inline TwiML with the code read twice, call-progress callbacks) for voice carriers; RCS ones
 * (RCS-only sends, signed receipts at each carrier's RCS callback endpoint, "not capable" for a
 * handset without RCS) for every adapter whose sandbox config offers `rcs`; WhatsApp ones
 * (authentication-template sends, signed receipts with read receipts, the carrier's "not a
 * WhatsApp user" for a number the table marks so) for every adapter offering `whatsapp`; RCS capability ones
 * (the number table through RBM, the 403/outage answers) for capability providers (RBM).
 *
 * Besides behaviour, each carrier's golden wire format (`providers/<id>/sandbox/<id>.golden.ts`, taken from
 * reference/providers.md) is checked against what actually crossed the wire in both directions, so
 * an adapter and its emulator cannot agree on a wrong format between themselves.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FCM_SANDBOX_CREDENTIALS,
  MAGIC_NUMBERS,
  MESSAGEBIRD_SANDBOX_CREDENTIALS,
  SINCH_SANDBOX_CREDENTIALS,
  TWILIO_SANDBOX_CREDENTIALS,
  isProviderError,
  isUnregisteredToken,
  providerModules,
  RBM_SANDBOX_CREDENTIALS,
  readCodeFromTwiml,
} from '../../providers/index.ts';
import type {
  CarrierStatus,
  NumberInfo,
  ProviderAdapter,
  ProviderError,
  ProviderModule,
  SendRequest,
  WebhookEndpoint,
} from '../../providers/index.ts';
import { fcmGolden } from '../../providers/fcm/sandbox/fcm.golden.ts';
import type { PushWireGolden } from '../../providers/fcm/sandbox/fcm.golden.ts';
import { messagebirdGolden } from '../../providers/messagebird/sandbox/messagebird.golden.ts';
import { rbmGolden } from '../../providers/rbm/sandbox/rbm.golden.ts';
import type { RbmWireGolden } from '../../providers/rbm/sandbox/rbm.golden.ts';
import { sinchConversationGolden } from '../../providers/sinch/sandbox/sinch.conversation.golden.ts';
import { sinchGolden } from '../../providers/sinch/sandbox/sinch.golden.ts';
import { startCallbackReceiver } from '../../providers/sandbox-kit/loopback-fixtures.ts';
import type { CallbackReceiver, ReceivedCallback } from '../../providers/sandbox-kit/loopback-fixtures.ts';
import type { RcsFieldLocation, RcsWireGolden } from '../../providers/sandbox-kit/rcs-wire-golden.ts';
import type { GoldenFieldLocation, WireGolden } from '../../providers/sandbox-kit/wire-golden.ts';
import { twilioGolden } from '../../providers/twilio/sandbox/twilio.golden.ts';
import { twilioRcsGolden } from '../../providers/twilio/sandbox/twilio.rcs.golden.ts';
import { sinchWhatsAppGolden } from '../../providers/sinch/sandbox/sinch.whatsapp.golden.ts';
import type { WhatsAppWireGolden } from '../../providers/sandbox-kit/whatsapp-wire-golden.ts';
import { twilioWhatsAppGolden } from '../../providers/twilio/sandbox/twilio.whatsapp.golden.ts';
import { createSandboxServer } from '../../src/sandbox/sandbox.server.ts';
import type { SandboxServer } from '../../src/sandbox/sandbox.server.ts';

/** What the contract needs per provider beyond its module: its capability, sandbox credentials and golden wire format. */
type ContractFixture =
  | { capability: 'sms'; sandboxConfig: unknown; golden: WireGolden }
  | { capability: 'push'; sandboxConfig: unknown; golden: PushWireGolden }
  | { capability: 'rcs-capability'; sandboxConfig: unknown; golden: RbmWireGolden };

const CONTRACT_FIXTURES: Record<string, ContractFixture> = {
  twilio: { capability: 'sms', sandboxConfig: TWILIO_SANDBOX_CREDENTIALS, golden: twilioGolden },
  sinch: { capability: 'sms', sandboxConfig: SINCH_SANDBOX_CREDENTIALS, golden: sinchGolden },
  messagebird: { capability: 'sms', sandboxConfig: MESSAGEBIRD_SANDBOX_CREDENTIALS, golden: messagebirdGolden },
  fcm: { capability: 'push', sandboxConfig: FCM_SANDBOX_CREDENTIALS, golden: fcmGolden },
  rbm: { capability: 'rcs-capability', sandboxConfig: RBM_SANDBOX_CREDENTIALS, golden: rbmGolden },
};

/** Golden RCS wire formats of the carriers that send RCS (reference §1.6, §2.5). */
const RCS_GOLDENS: Record<string, RcsWireGolden> = { twilio: twilioRcsGolden, sinch: sinchConversationGolden };

/** Golden WhatsApp wire formats of the carriers that send WhatsApp (authentication templates). */
const WHATSAPP_GOLDENS: Record<string, WhatsAppWireGolden> = { twilio: twilioWhatsAppGolden, sinch: sinchWhatsAppGolden };

const modules: ProviderModule<unknown>[] = Object.values(providerModules);
/** Modules that send something (RBM only answers capability checks). */
const sendingModules = modules.filter((m) => m.channels.length > 0);

function fixtureOf(id: string): ContractFixture {
  const fixture = CONTRACT_FIXTURES[id];
  if (fixture === undefined) throw new Error(`no contract fixtures for ${id}`);
  return fixture;
}

/** The modules of one capability, each with its fixture narrowed to that capability. */
function withCapability<C extends ContractFixture['capability']>(
  capability: C,
): (readonly [string, ProviderModule<unknown>, Extract<ContractFixture, { capability: C }>])[] {
  return modules.flatMap((m) => {
    const fixture = CONTRACT_FIXTURES[m.id];
    return fixture !== undefined && fixture.capability === capability
      ? [[m.id, m, fixture as Extract<ContractFixture, { capability: C }>] as const]
      : [];
  });
}

/**
 * What each lookup carrier can tell (DESIGN §6.2), so one set of lookup cases fits them all:
 * whether it names fixed lines (an HLR only knows mobiles), reports SIM swaps, porting, roaming.
 */
const LOOKUP_ABILITIES: Record<string, { landline: NumberInfo['lineType']; simSwap: boolean; ported: boolean; roaming: boolean }> = {
  twilio: { landline: 'landline', simSwap: true, ported: false, roaming: false },
  sinch: { landline: 'landline', simSwap: true, ported: true, roaming: false },
  messagebird: { landline: 'unknown', simSwap: false, ported: true, roaming: true },
};

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
  return typeof body === 'object' && body !== null && !Array.isArray(body) && !Buffer.isBuffer(body)
    ? (body as Record<string, unknown>)
    : {};
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
  /** Adapters built by the cases; closed at the end (FCM's own firebase-admin apps and agents). */
  const openAdapters: ProviderAdapter[] = [];

  beforeAll(async () => {
    sandbox = createSandboxServer({ providers: modules });
    sandbox.app.addHook('preHandler', async (request) => {
      captured.push({
        method: request.method,
        path: request.url.split('?')[0] ?? request.url,
        headers: { ...request.headers },
        body: request.body,
      });
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
    await Promise.all(openAdapters.map((a) => a.close?.()));
    const closing = sandbox.app.close();
    // Sockets whose client gave up mid-request (the timeout cases) would hold close() until their keep-alive ends.
    sandbox.app.server.closeAllConnections();
    await closing;
    await receiver.close();
  });

  it('covers every provider of the registry, by capability', () => {
    expect(withCapability('sms').length).toBeGreaterThanOrEqual(3);
    expect(withCapability('push').map(([id]) => id)).toEqual(['fcm']);
    for (const module of modules) {
      const fixture = CONTRACT_FIXTURES[module.id];
      expect(fixture, `contract fixtures for ${module.id}`).toBeDefined();
      expect(fixture?.golden.provider).toBe(module.id);
      if (fixture?.capability === 'rcs-capability') expect(module.channels, `channels of ${module.id}`).toEqual([]);
      else expect(module.channels, `channels of ${module.id}`).toContain(fixture?.capability);
      expect(module.emulator, `emulator of ${module.id}`).toBeTypeOf('function');
    }
  });

  /** Per-provider helpers every capability's cases share. */
  function harness(id: string, module: ProviderModule<unknown>, fixture: ContractFixture) {
    const config = module.configSchema.parse(fixture.sandboxConfig);
    let n = 0;
    const nextMessageId = (): string => {
      n += 1;
      return `msg_contract_${id}_${n}`;
    };
    const adapter = (timeoutMs = TIMEOUT_MS): ProviderAdapter => {
      const created = module.create(config, { baseUrl, timeoutMs });
      openAdapters.push(created);
      return created;
    };
    const smsRequest = (to: string, overrides: Partial<SendRequest> = {}): SendRequest => {
      const messageId = nextMessageId();
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
    /** A push as the gateway builds it (DESIGN §6.3): ack data for the app, which acks to our receiver. */
    const pushRequest = (token: string, overrides: Partial<SendRequest> = {}): SendRequest => {
      const messageId = nextMessageId();
      return {
        messageId,
        attempt: 1,
        channel: 'push',
        to: '+14155550100',
        body: 'Your code is 123456',
        statusCallbackUrl: `${receiver.origin}/unused`,
        push: {
          token,
          title: 'Sign-in code',
          data: { sb_message_id: messageId, sb_ack_token: `ack.${messageId}`, sb_ack_url: `${receiver.origin}/v1/push/ack` },
        },
        ...overrides,
      };
    };
    /** A request the provider accepts unless a scenario says otherwise. */
    const ordinary = (overrides: Partial<SendRequest> = {}): SendRequest =>
      fixture.capability === 'sms' ? smsRequest('+14155550100', overrides) : pushRequest(`device-${id}-${n + 1}`, overrides);
    /** Where the recipient shows in the sandbox log: the number, or the device token. */
    const recipientOf = (req: SendRequest): string | undefined => (fixture.capability === 'sms' ? req.to : req.push?.token);
    const scenario = (patch: Record<string, unknown>): void => {
      sandbox.control.putSettings(id, patch);
    };
    return { adapter, smsRequest, pushRequest, ordinary, recipientOf, scenario };
  }

  describe.each(sendingModules.map((m) => [m.id, m] as const))('%s: every capability', (id, module) => {
    const { adapter, ordinary, recipientOf, scenario } = harness(id, module, fixtureOf(id));

    it('accepts a send, returning a provider message id, and records it with our reference', async () => {
      scenario({ dlr: 'none' });
      const req = ordinary();
      const result = await adapter().send(req);
      expect(result.providerMessageId).toBeTypeOf('string');
      expect(result.providerMessageId).not.toBe('');
      expect(result.acceptedAt).toBeInstanceOf(Date);
      expect(sandbox.control.counters(id)).toMatchObject({ requests: 1, accepted: 1, rejected: 0 });
      expect(sandbox.control.log({ provider: id })).toEqual([
        expect.objectContaining({ provider: id, method: 'POST', to: recipientOf(req), reference: req.messageId }),
      ]);
    });

    it('classifies an outage (503) as retryable, counting against the breaker', async () => {
      scenario({ outage: true });
      const err = await sendError(adapter(), ordinary());
      expect(err).toMatchObject({ provider: id, kind: 'retryable', httpStatus: 503, ambiguous: false });
      expect(err.countsAgainstBreaker).toBe(true);
    });

    it('classifies an injected 500 as retryable', async () => {
      scenario({ errorRate: 1, errorStatus: 500 });
      expect(await sendError(adapter(), ordinary())).toMatchObject({ kind: 'retryable', httpStatus: 500 });
    });

    it('classifies a 429 with Retry-After as rate_limited with retryAfterMs, without retrying it', async () => {
      scenario({ errorRate: 1, errorStatus: 429, retryAfterSec: 2 });
      const err = await sendError(adapter(), ordinary());
      expect(err).toMatchObject({ kind: 'rate_limited', retryAfterMs: 2_000, httpStatus: 429 });
      expect(err.countsAgainstBreaker).toBe(false);
      expect(sandbox.control.counters(id).requests).toBe(1);
    });

    it('classifies a timeout as retryable and ambiguous, within the adapter timeout', async () => {
      scenario({ latencyMs: 2_000, dlr: 'none' });
      const started = Date.now();
      const err = await sendError(adapter(SLOW_TIMEOUT_MS), ordinary());
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(err).toMatchObject({ kind: 'retryable', ambiguous: true });
      expect(err.countsAgainstBreaker).toBe(true);
    });
  });

  describe.each(withCapability('sms'))('%s: SMS', (id, module, fixture) => {
    const { golden } = fixture;
    const { adapter, smsRequest: request, scenario } = harness(id, module, fixture);
    /** Sends and waits for the callbacks of a delivered message, in arrival order. */
    const deliveredCallbacks = async (): Promise<{ req: SendRequest; providerMessageId: string; callbacks: ReceivedCallback[] }> => {
      scenario({ dlrDelayMs: 60 });
      const req = request('+14155550100');
      const result = await adapter().send(req);
      const callbacks = await receiver.waitFor(golden.callback.deliveredSequence.length, { ref: req.messageId });
      return { req, providerMessageId: result.providerMessageId, callbacks: callbacks.sort((a, b) => a.receivedAt - b.receivedAt) };
    };

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
      expect(table).toMatchObject({
        kind: 'permanent',
        scope: 'recipient',
        providerCode: magic.providerCode,
        httpStatus: magic.httpStatus,
      });
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
        const forged = {
          ...callback,
          headers: {
            ...callback.headers,
            [golden.callback.authHeader]: 'Basic ' + Buffer.from('sinch-callback:guessed').toString('base64'),
          },
        };
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

      it.each(golden.statusTable.map((row) => [JSON.stringify(row.fields), row.status, row] as const))(
        'maps %s to %s',
        (_name, status, row) => {
          const events = adapter().parseWebhook(rewrite(template, golden.callback.fieldsIn, row.fields));
          expect(events).toHaveLength(1);
          expect(events[0]?.status).toBe(status);
          expect(events[0]?.rawStatus).toBe(row.fields[golden.callback.statusField]);
        },
      );
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
        for (const field of names)
          expect([...golden.send.requiredFields, ...golden.send.optionalFields], `field ${field}`).toContain(field);
        expect(
          golden.send.optionalFields.some((f) => names.includes(f)),
          'the validity period travels',
        ).toBe(true);
        expect(body).toMatchObject(golden.send.fixedValues);
        expect(body[golden.send.recipientField]).toEqual(golden.send.recipientFormat(req.to));
        expect(body[golden.send.callbackUrlField]).toBe(req.statusCallbackUrl);
        if (golden.send.referenceField !== undefined) expect(body[golden.send.referenceField]).toBe(req.messageId);
      });

      it('receives callbacks of the documented method, auth header, content type and fields', async () => {
        const { callbacks } = await deliveredCallbacks();
        expect(callbacks.map((c) => fieldsOf(c, golden.callback.fieldsIn)[golden.callback.statusField])).toEqual(
          golden.callback.deliveredSequence,
        );
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

  describe.each(withCapability('push'))('%s: push', (id, module, fixture) => {
    const { golden } = fixture;
    const { adapter, pushRequest, scenario } = harness(id, module, fixture);
    /** Sets a token's behaviour through the scenario API, as a test client would. */
    const putToken = async (token: string, body: Record<string, unknown>): Promise<void> => {
      const res = await sandbox.app.inject({ method: 'PUT', url: `/_sandbox/push/${encodeURIComponent(token)}`, payload: body });
      expect(res.statusCode).toBe(200);
    };
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

    it('classifies an unregistered token as permanent/channel, a token to drop, outside the breaker', async () => {
      await putToken('device-gone', { result: 'unregistered' });
      const err = await sendError(adapter(), pushRequest('device-gone'));
      expect(err).toMatchObject({ provider: id, kind: 'permanent', scope: 'channel', ambiguous: false });
      expect(err.providerCode).toBeTypeOf('string');
      expect(err.countsAgainstBreaker).toBe(false);
      expect(isUnregisteredToken(err)).toBe(true);
      expect(sandbox.control.counters(id)).toMatchObject({ requests: 1, accepted: 0, rejected: 1 });
    });

    it('classifies an invalid token as permanent/channel, not a token to drop', async () => {
      await putToken('device-bad', { result: 'invalid' });
      const err = await sendError(adapter(), pushRequest('device-bad'));
      expect(err).toMatchObject({ kind: 'permanent', scope: 'channel', ambiguous: false });
      expect(isUnregisteredToken(err)).toBe(false);
    });

    it('classifies an unavailable token as retryable 503, within the adapter timeout', async () => {
      await putToken('device-busy', { result: 'unavailable' });
      scenario({ retryAfterSec: 1 });
      const started = Date.now();
      const err = await sendError(adapter(), pushRequest('device-busy'));
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1_000);
      expect(err).toMatchObject({ kind: 'retryable', httpStatus: 503, ambiguous: false });
    });

    it('has the sandbox device ack through sb_ack_url after autoAckMs, counted as a callback', async () => {
      await putToken('device-acks', { result: 'ok', autoAckMs: 60 });
      const req = pushRequest('device-acks');
      const sentAt = Date.now();
      await adapter().send(req);
      const [ack] = await receiver.waitFor(1);
      expect(ack?.receivedAt ?? 0).toBeGreaterThanOrEqual(sentAt + 50);
      expect(ack?.publicUrl).toBe(req.push?.data['sb_ack_url']);
      expect(JSON.parse(ack?.rawBody.toString('utf8') ?? '')).toEqual({
        messageId: req.messageId,
        ackToken: req.push?.data['sb_ack_token'],
      });
      await expect.poll(() => sandbox.control.counters(id).callbacksSent).toBe(1);
    });

    it('does not ack for a token without autoAckMs, nor after a reset', async () => {
      await adapter().send(pushRequest('device-silent'));
      await putToken('device-slow', { result: 'ok', autoAckMs: 150 });
      await adapter().send(pushRequest('device-slow'));
      await sandbox.app.inject({ method: 'POST', url: '/_sandbox/reset' });
      await sleep(300);
      expect(receiver.received).toHaveLength(0);
    });

    it('has no carrier callbacks: nothing verifies, nothing parses', async () => {
      const raw = {
        method: 'POST',
        publicUrl: `${receiver.origin}/webhooks/${id}`,
        headers: { 'content-type': 'application/json' },
        query: {},
        rawBody: Buffer.from('{}'),
      };
      const a = adapter();
      expect(await a.verifyWebhook(raw)).toBe(false);
      expect(a.parseWebhook(raw)).toEqual([]);
    });

    describe(`golden wire format (${golden.source})`, () => {
      it('sends the documented path, host, auth, headers and message', async () => {
        const req = pushRequest('device-wire', { validitySeconds: 300 });
        const result = await adapter().send(req);
        expect(result.providerMessageId).toMatch(golden.send.responseName);
        const sent = captured.filter((c) => c.method === golden.send.method && c.path === golden.send.path);
        expect(sent).toHaveLength(1);
        const wire = sent[0];
        if (wire === undefined) throw new Error('no request captured');
        expect(wire.headers['host']).toBe(golden.send.host);
        expect(wire.headers['authorization']).toBe(golden.send.authorization);
        expect(String(wire.headers['content-type'])).toMatch(golden.send.contentType);
        for (const [name, pattern] of Object.entries(golden.send.headers))
          expect(String(wire.headers[name]), `header ${name}`).toMatch(pattern);
        const body = bodyRecord(wire.body);
        expect(Object.keys(body)).toEqual([golden.send.envelope]);
        const message = bodyRecord(body[golden.send.envelope]);
        const names = Object.keys(message);
        for (const field of golden.send.requiredFields) expect(names, `field ${field}`).toContain(field);
        for (const field of names)
          expect([...golden.send.requiredFields, ...golden.send.optionalFields], `field ${field}`).toContain(field);
        expect(message).toMatchObject(golden.send.fixedValues);
        expect(message[golden.send.recipientField]).toBe(req.push?.token);
        const data = bodyRecord(message['data']);
        for (const key of golden.send.dataKeys) expect(data[key], `data.${key}`).toBe(req.push?.data[key]);
        expect(data[golden.send.referenceDataKey]).toBe(req.messageId);
        // The validity travels as the Android TTL (a protobuf Duration).
        expect(message['android']).toMatchObject({ ttl: '300s' });
      });

      it('receives the device ack of the documented method, content type and fields', async () => {
        await putToken('device-ack-wire', { result: 'ok', autoAckMs: 10 });
        await adapter().send(pushRequest('device-ack-wire'));
        const [ack] = await receiver.waitFor(1);
        expect(ack?.method).toBe(golden.ack.method);
        expect(String(ack?.headers['content-type'])).toMatch(golden.ack.contentType);
        expect(Object.keys(JSON.parse(ack?.rawBody.toString('utf8') ?? '{}') as object).sort()).toEqual([...golden.ack.fields].sort());
      });
    });
  });

  it('covers every SMS carrier with the lookup cases', () => {
    expect(
      withCapability('sms')
        .map(([id]) => id)
        .sort(),
    ).toEqual(Object.keys(LOOKUP_ABILITIES).sort());
  });

  describe.each(withCapability('sms').filter(([id]) => id in LOOKUP_ABILITIES))('%s: lookup', (id, module, fixture) => {
    const abilities = LOOKUP_ABILITIES[id]!;
    const { adapter, scenario } = harness(id, module, fixture);
    let n = 0;
    /** A number no other case has used: lookups are cached by the gateway, tests use fresh numbers. */
    const fresh = (): string => `+1415555${String(3000 + (n++ % 1000)).padStart(4, '0')}`;
    const lookup = async (e164: string, a: ProviderAdapter = adapter()): Promise<NumberInfo> => {
      if (a.lookup === undefined) throw new Error(`${id} has no lookup`);
      return a.lookup(e164);
    };

    it('offers lookup with its documented sandbox credentials', () => {
      expect(adapter().lookup).toBeTypeOf('function');
    });

    it('reports a mobile from the sandbox table, priced in USD, recording the number', async () => {
      const e164 = fresh();
      sandbox.control.putNumber(e164, { mccmnc: '310260' });
      const info = await lookup(e164);
      expect(info).toMatchObject({ valid: true, lineType: 'mobile', country: 'US', mcc: '310', mnc: '260' });
      expect(info.cost?.currency).toBe('USD');
      expect(info.cost?.amount).toBeGreaterThan(0);
      const entries = sandbox.control.log({ provider: id, to: e164 });
      expect(entries.length).toBeGreaterThanOrEqual(1);
      expect(sandbox.control.counters(id).requests).toBeGreaterThanOrEqual(entries.length);
    });

    it(`reports a landline as ${abilities.landline}, never as a mobile`, async () => {
      const e164 = fresh();
      sandbox.control.putNumber(e164, { lineType: 'landline' });
      expect(await lookup(e164)).toMatchObject({ valid: true, lineType: abilities.landline });
    });

    it('answers valid:false, without a cost, for a number the table marks invalid', async () => {
      const e164 = fresh();
      sandbox.control.putNumber(e164, { valid: false });
      expect(await lookup(e164)).toEqual({ valid: false, lineType: 'unknown' });
    });

    it('answers the SMS magic numbers from the table like any unset number (CONTRACTS §6)', async () => {
      expect(await lookup(MAGIC_NUMBERS.invalid)).toMatchObject({ valid: true });
    });

    it(
      abilities.simSwap ? 'reports a SIM swapped an hour ago as recent (within 4 h)' : 'reports no SIM swap data (the carrier has none)',
      async () => {
        const e164 = fresh();
        sandbox.control.putNumber(e164, { simSwap: { swappedWithinSeconds: 3_600 } });
        const info = await lookup(e164);
        if (abilities.simSwap) {
          expect(info.simSwap?.swappedWithinSeconds).toBeGreaterThanOrEqual(3_590);
          expect(info.simSwap?.swappedWithinSeconds).toBeLessThanOrEqual(4 * 3_600);
        } else {
          expect(info.simSwap).toBeUndefined();
        }
        expect((await lookup(fresh())).simSwap).toBeUndefined();
      },
    );

    it('reports the current network of a ported, roaming number, and porting/roaming where the carrier knows them', async () => {
      const e164 = fresh();
      sandbox.control.putNumber(e164, { mccmnc: '311480', ported: true, roaming: true });
      const info = await lookup(e164);
      expect(info).toMatchObject({ valid: true, mcc: '311', mnc: '480' });
      expect(info.ported).toBe(abilities.ported ? true : undefined);
      expect(info.roaming).toBe(abilities.roaming ? true : undefined);
    });

    it('rejects an outage with a retryable ProviderError, so the gateway can degrade to unknown', async () => {
      scenario({ outage: true });
      let caught: unknown;
      try {
        await lookup(fresh());
      } catch (err) {
        caught = err;
      }
      expect(isProviderError(caught)).toBe(true);
      expect(caught).toMatchObject({ provider: id, kind: 'retryable', httpStatus: 503 });
    });
  });

  describe.each(modules.filter((m) => m.channels.includes('voice')).map((m) => [m.id, m, fixtureOf(m.id)] as const))(
    '%s: voice',
    (id, module, fixture) => {
      const { adapter, smsRequest, scenario } = harness(id, module, fixture);
      const call = (to: string, overrides: Partial<SendRequest> = {}): SendRequest =>
        smsRequest(to, { channel: 'voice', spokenCode: '593017', locale: 'es', ...overrides });
      const bySequence = (callbacks: ReceivedCallback[]): ReceivedCallback[] =>
        callbacks.sort(
          (a, b) =>
            Number(new URLSearchParams(a.rawBody.toString()).get('SequenceNumber')) -
            Number(new URLSearchParams(b.rawBody.toString()).get('SequenceNumber')),
        );

      it('places an OTP call whose logged content says the code digit by digit, twice, in the locale', async () => {
        scenario({ dlr: 'none' });
        const req = call('+14155550150');
        const result = await adapter().send(req);
        expect(result.status).toBe('queued');
        const [entry] = sandbox.control.log({ provider: id, to: req.to });
        expect(entry).toMatchObject({ method: 'POST', channel: 'voice', reference: req.messageId, status: 201 });
        const twiml = entry?.content ?? '';
        expect(readCodeFromTwiml(twiml)).toBe('593017');
        expect(twiml.split('5, 9, 3, 0, 1, 7.').length - 1).toBe(2);
        expect(twiml).toContain('language="es-ES"');
        expect(twiml).not.toContain('593017');
        expect(sandbox.control.counters(id)).toMatchObject({ requests: 1, accepted: 1 });
      });

      it('reports a completed call through signed callbacks that parse to queued → sent → delivered', async () => {
        scenario({ dlrDelayMs: 80 });
        const req = call('+14155550151');
        const a = adapter();
        const result = await a.send(req);
        const callbacks = bySequence(await receiver.waitFor(4, { ref: req.messageId }));
        for (const callback of callbacks) expect(await a.verifyWebhook(callback)).toBe(true);
        const events = callbacks.flatMap((c) => a.parseWebhook(c));
        expect(events.map((e) => e.status)).toEqual(['queued', 'queued', 'sent', 'delivered']);
        for (const event of events)
          expect(event).toMatchObject({ provider: id, providerMessageId: result.providerMessageId, messageId: req.messageId });
      });

      it('reports a busy line as undelivered (CONTRACTS §2)', async () => {
        scenario({ dlr: 'undelivered', dlrErrorCode: 'busy', dlrDelayMs: 40 });
        const req = call('+14155550152');
        const a = adapter();
        await a.send(req);
        const callbacks = bySequence(await receiver.waitFor(3, { ref: req.messageId }));
        expect(callbacks.flatMap((c) => a.parseWebhook(c)).at(-1)).toMatchObject({ status: 'undelivered', rawStatus: 'busy' });
      });

      it('classifies the invalid magic number as permanent/recipient', async () => {
        expect(await sendError(adapter(), call(MAGIC_NUMBERS.invalid))).toMatchObject({ kind: 'permanent', scope: 'recipient' });
      });
    },
  );

  it('covers every RCS-offering adapter with an RCS golden, and RBM with the capability cases', () => {
    const offering = sendingModules.filter((m) => harness(m.id, m, fixtureOf(m.id)).adapter().channels.includes('rcs')).map((m) => m.id);
    expect(offering.sort()).toEqual(Object.keys(RCS_GOLDENS).sort());
    expect(withCapability('rcs-capability').map(([id]) => id)).toEqual(['rbm']);
  });

  describe.each(
    sendingModules.filter((m) => RCS_GOLDENS[m.id] !== undefined).map((m) => [m.id, m, fixtureOf(m.id), RCS_GOLDENS[m.id]!] as const),
  )('%s: RCS', (id, module, fixture, golden) => {
    const { adapter, scenario } = harness(id, module, fixture);
    let n = 0;
    /** The callback endpoint this carrier's RCS receipts go to (the gateway serves it at the same path). */
    const callbackPath = golden.callback.endpoint === 'main' ? `/webhooks/${id}` : `/webhooks/${id}/${golden.callback.endpoint}`;
    const rcsRequest = (to: string, overrides: Partial<SendRequest> = {}): SendRequest => {
      n += 1;
      const messageId = `msg_contract_rcs_${id}_${n}`;
      return {
        messageId,
        attempt: 1,
        channel: 'rcs',
        to,
        body: `Your code is ${200000 + n}`,
        statusCallbackUrl: `${receiver.origin}${callbackPath}?sb=${messageId}`,
        ...overrides,
      };
    };
    /** A fresh number with the given RCS capability in the sandbox table. */
    const number = (rcs: boolean): string => {
      const e164 = `+1415555${String(5000 + (n % 1000)).padStart(4, '0')}`;
      sandbox.control.putNumber(e164, { rcs });
      return e164;
    };
    const endpointOf = (a: ProviderAdapter): WebhookEndpoint => {
      if (golden.callback.endpoint === 'main') return { verify: (raw) => a.verifyWebhook(raw), parse: (raw) => a.parseWebhook(raw) };
      const endpoint = a.webhooks?.[golden.callback.endpoint];
      if (endpoint === undefined) throw new Error(`${id} has no ${golden.callback.endpoint} webhook`);
      return endpoint;
    };
    const rcsFields = (callback: ReceivedCallback, where: RcsFieldLocation): Record<string, unknown> => {
      const text = callback.rawBody.toString('utf8');
      if (where === 'form-body') return Object.fromEntries(new URLSearchParams(text));
      const parsed: unknown = JSON.parse(text);
      return bodyRecord(parsed);
    };
    const withFields = (callback: ReceivedCallback, where: RcsFieldLocation, fields: Record<string, unknown>): ReceivedCallback => {
      const rawBody =
        where === 'form-body'
          ? Buffer.from(new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)])).toString())
          : Buffer.from(JSON.stringify(fields));
      return { ...callback, rawBody };
    };
    const inOrder = (callbacks: ReceivedCallback[]): ReceivedCallback[] => callbacks.sort((a, b) => a.receivedAt - b.receivedAt);
    const deliveredCallbacks = async (): Promise<{ req: SendRequest; providerMessageId: string; callbacks: ReceivedCallback[] }> => {
      scenario({ dlrDelayMs: 60 });
      const req = rcsRequest(number(true));
      const result = await adapter().send(req);
      const callbacks = await receiver.waitFor(golden.callback.deliveredSequence.length, { ref: req.messageId });
      return { req, providerMessageId: result.providerMessageId, callbacks: inOrder(callbacks) };
    };

    it('offers rcs with its documented sandbox credentials', () => {
      expect(adapter().channels).toContain('rcs');
    });

    it('accepts an RCS send, recorded as channel rcs with the text and our reference', async () => {
      scenario({ dlr: 'none' });
      const req = rcsRequest(number(true));
      const result = await adapter().send(req);
      expect(result.providerMessageId).not.toBe('');
      expect(sandbox.control.counters(id)).toMatchObject({ accepted: 1, rejected: 0 });
      expect(sandbox.control.log({ provider: id, to: req.to })[0]).toMatchObject({
        channel: 'rcs',
        reference: req.messageId,
        body: req.body,
      });
    });

    it(`delivers signed receipts at ${callbackPath} that verify and parse to sent → delivered`, async () => {
      const { req, providerMessageId, callbacks } = await deliveredCallbacks();
      const endpoint = endpointOf(adapter());
      for (const callback of callbacks) expect(await endpoint.verify(callback)).toBe(true);
      const events = callbacks.flatMap((c) => endpoint.parse(c));
      expect(events.map((e) => e.status)).toEqual(['sent', 'delivered']);
      for (const event of events) expect(event).toMatchObject({ provider: id, providerMessageId, messageId: req.messageId });
      await expect.poll(() => sandbox.control.counters(id).callbacksSent).toBeGreaterThanOrEqual(callbacks.length);
    });

    it('reports a handset without RCS as failed and not capable, so the gateway falls back to SMS', async () => {
      scenario({ dlrDelayMs: 40 });
      const req = rcsRequest(number(false));
      await adapter().send(req);
      const [callback] = await receiver.waitFor(1, { ref: req.messageId });
      if (callback === undefined) throw new Error('no callback');
      const fields = rcsFields(callback, golden.callback.fieldsIn);
      expect(golden.callback.statusOf(fields)).toBe(golden.callback.notCapable.status);
      expect(golden.callback.errorCodeOf(fields)).toBe(golden.callback.notCapable.errorCode);
      const endpoint = endpointOf(adapter());
      expect(await endpoint.verify(callback)).toBe(true);
      expect(endpoint.parse(callback)).toEqual([
        expect.objectContaining({ status: 'failed', recipientNotCapable: true, transient: false, messageId: req.messageId }),
      ]);
    });

    it('reports an undelivered RCS message with its error code, transient by default', async () => {
      scenario({ dlr: 'undelivered', dlrDelayMs: 40 });
      const req = rcsRequest(number(true));
      await adapter().send(req);
      const callbacks = inOrder(await receiver.waitFor(golden.callback.deliveredSequence.length, { ref: req.messageId }));
      const last = callbacks.flatMap((c) => endpointOf(adapter()).parse(c)).at(-1);
      expect(last).toMatchObject({ status: 'undelivered', rawStatus: golden.callback.undeliveredStatus, transient: true });
      expect(last?.errorCode).toBeTypeOf('string');
      expect(last?.recipientNotCapable).toBeUndefined();
    });

    it('fails verification for a tampered receipt and one without its signature', async () => {
      const { callbacks } = await deliveredCallbacks();
      const callback = callbacks[0];
      if (callback === undefined) throw new Error('no callback');
      const endpoint = endpointOf(adapter());
      const fields = rcsFields(callback, golden.callback.fieldsIn);
      expect(
        await endpoint.verify(
          withFields(
            callback,
            golden.callback.fieldsIn,
            golden.callback.withStatus(fields, golden.callback.deliveredSequence.at(-1) ?? ''),
          ),
        ),
      ).toBe(false);
      const headers = { ...callback.headers };
      for (const header of golden.callback.authHeaders) delete headers[header];
      expect(await endpoint.verify({ ...callback, headers })).toBe(false);
    });

    it('classifies an outage of the RCS API as retryable', async () => {
      scenario({ outage: true });
      expect(await sendError(adapter(), rcsRequest(number(true)))).toMatchObject({ provider: id, kind: 'retryable', httpStatus: 503 });
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

      it.each(
        golden.statusTable.map(
          (row) => [`${row.status}${row.errorCode === undefined ? '' : ` (${row.errorCode})`}`, row.normalized, row] as const,
        ),
      )('maps %s to %s', (_name, normalized, row) => {
        const fields = golden.callback.withStatus(rcsFields(template, golden.callback.fieldsIn), row.status, row.errorCode);
        const events = endpointOf(adapter()).parse(withFields(template, golden.callback.fieldsIn, fields));
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ status: normalized, rawStatus: row.status });
        expect(events[0]?.recipientNotCapable).toBe(row.recipientNotCapable);
      });
    });

    describe(`golden wire format (${golden.source})`, () => {
      it('sends the documented path, auth, content type and RCS-only body', async () => {
        scenario({ dlr: 'none' });
        const req = rcsRequest(number(true), { validitySeconds: 300 });
        await adapter().send(req);
        const sent = captured.filter((c) => c.method === golden.send.method && c.path === golden.send.path);
        expect(sent).toHaveLength(1);
        const wire = sent[0];
        if (wire === undefined) throw new Error('no request captured');
        if (typeof golden.send.authorization === 'string') expect(wire.headers['authorization']).toBe(golden.send.authorization);
        else expect(String(wire.headers['authorization'])).toMatch(golden.send.authorization);
        expect(String(wire.headers['content-type'])).toMatch(golden.send.contentType);
        const body = bodyRecord(wire.body);
        const names = Object.keys(body);
        for (const field of golden.send.requiredFields) expect(names, `field ${field}`).toContain(field);
        for (const field of names)
          expect([...golden.send.requiredFields, ...golden.send.optionalFields], `field ${field}`).toContain(field);
        expect(
          golden.send.optionalFields.some((f) => names.includes(f)),
          'the validity travels',
        ).toBe(true);
        expect(body).toMatchObject(golden.send.fixedValues);
        expect(body).toMatchObject(golden.send.recipient(req.to));
        expect(golden.send.textOf(body)).toBe(req.body);
        for (const field of golden.send.referenceFields) expect(body[field], `reference ${field}`).toBe(req.messageId);
        expect(body[golden.send.callbackUrlField]).toBe(req.statusCallbackUrl);
      });

      it('receives receipts of the documented method, signature headers, content type, fields and RCS markers', async () => {
        const { callbacks } = await deliveredCallbacks();
        expect(callbacks.map((c) => golden.callback.statusOf(rcsFields(c, golden.callback.fieldsIn)))).toEqual(
          golden.callback.deliveredSequence,
        );
        for (const callback of callbacks) {
          expect(callback.method).toBe(golden.callback.method);
          expect(new URL(callback.publicUrl).pathname).toBe(callbackPath);
          expect(String(callback.headers['content-type'])).toMatch(golden.callback.contentType);
          for (const header of golden.callback.authHeaders) expect(callback.headers[header], `header ${header}`).toBeTypeOf('string');
          const fields = rcsFields(callback, golden.callback.fieldsIn);
          for (const field of golden.callback.requiredFields) expect(Object.keys(fields), `callback field ${field}`).toContain(field);
          expect(golden.callback.rcsMarkersOf(fields)).toEqual(golden.callback.rcsMarkers);
        }
      });
    });
  });

  it('covers every WhatsApp-offering adapter with a WhatsApp golden', () => {
    const offering = sendingModules
      .filter((m) => harness(m.id, m, fixtureOf(m.id)).adapter().channels.includes('whatsapp'))
      .map((m) => m.id);
    expect(offering.sort()).toEqual(Object.keys(WHATSAPP_GOLDENS).sort());
  });

  describe.each(
    sendingModules
      .filter((m) => WHATSAPP_GOLDENS[m.id] !== undefined)
      .map((m) => [m.id, m, fixtureOf(m.id), WHATSAPP_GOLDENS[m.id]!] as const),
  )('%s: WhatsApp', (id, module, fixture, golden) => {
    const { adapter, scenario } = harness(id, module, fixture);
    let n = 0;
    const endpointOf = (a: ProviderAdapter): WebhookEndpoint =>
      a.webhooks?.['conversation'] ?? { verify: (raw) => a.verifyWebhook(raw), parse: (raw) => a.parseWebhook(raw) };
    const callbackPath = id === 'sinch' ? '/webhooks/sinch/conversation' : `/webhooks/${id}`;
    const waRequest = (to: string): SendRequest => {
      n += 1;
      const messageId = `msg_contract_wa_${id}_${n}`;
      return {
        messageId,
        attempt: 1,
        channel: 'whatsapp',
        to,
        body: 'unused on WhatsApp',
        otpCode: String(300000 + n),
        statusCallbackUrl: `${receiver.origin}${callbackPath}?sb=${messageId}`,
      };
    };
    const number = (whatsapp?: boolean): string => {
      const e164 = `+1415555${String(6000 + (n % 1000)).padStart(4, '0')}`;
      sandbox.control.putNumber(e164, whatsapp === undefined ? {} : { whatsapp });
      return e164;
    };

    it('sends the documented template request, recorded as channel whatsapp with the text the handset shows', async () => {
      scenario({ dlr: 'none' });
      const req = waRequest(number());
      await adapter().send(req);
      const sent = captured.filter((c) => c.method === golden.send.method && c.path === golden.send.path);
      expect(sent).toHaveLength(1);
      expect(String(sent[0]?.headers['content-type'])).toMatch(golden.send.contentType);
      const body = bodyRecord(sent[0]?.body);
      for (const field of golden.send.requiredFields) expect(Object.keys(body), `field ${field}`).toContain(field);
      for (const field of golden.send.forbiddenFields) expect(Object.keys(body), `field ${field}`).not.toContain(field);
      expect(body).toMatchObject(golden.send.expected(req.to, req.otpCode ?? ''));
      const logged = sandbox.control.log({ provider: id, to: req.to })[0];
      expect(logged).toMatchObject({ channel: 'whatsapp', reference: req.messageId });
      expect(logged?.body).toContain(req.otpCode);
    });

    it('delivers signed receipts that verify and parse to sent → delivered → delivered (read)', async () => {
      scenario({ dlrDelayMs: 60 });
      const req = waRequest(number());
      const { providerMessageId } = await adapter().send(req);
      const callbacks = (await receiver.waitFor(golden.callback.deliveredSequence.length, { ref: req.messageId })).sort(
        (a, b) => a.receivedAt - b.receivedAt,
      );
      const endpoint = endpointOf(adapter());
      for (const callback of callbacks) {
        expect(await endpoint.verify(callback)).toBe(true);
        expect(String(callback.headers['content-type'])).toMatch(golden.callback.contentType);
        for (const header of golden.callback.authHeaders) expect(callback.headers[header], `header ${header}`).toBeTypeOf('string');
        expect(golden.callback.summarize(callback.rawBody.toString('utf8')).markers).toEqual(golden.callback.markers);
      }
      expect(callbacks.map((c) => golden.callback.summarize(c.rawBody.toString('utf8')).status)).toEqual(golden.callback.deliveredSequence);
      const events = callbacks.flatMap((c) => endpoint.parse(c));
      expect(events.map((e) => [e.status, e.read === true])).toEqual([
        ['sent', false],
        ['delivered', false],
        ['delivered', true],
      ]);
      for (const event of events) expect(event).toMatchObject({ provider: id, providerMessageId, messageId: req.messageId });
    });

    it('answers a number the sandbox marks not on WhatsApp with the carrier\'s own "not a WhatsApp user"', async () => {
      scenario({ dlrDelayMs: 40 });
      const req = waRequest(number(false));
      await adapter().send(req);
      const [callback] = await receiver.waitFor(1, { ref: req.messageId });
      if (callback === undefined) throw new Error('no callback');
      const summary = golden.callback.summarize(callback.rawBody.toString('utf8'));
      expect([summary.status, summary.errorCode]).toEqual([golden.callback.notRegistered.status, golden.callback.notRegistered.errorCode]);
      expect(await endpointOf(adapter()).verify(callback)).toBe(true);
      expect(endpointOf(adapter()).parse(callback)).toEqual([
        expect.objectContaining({ status: 'failed', recipientNotCapable: true, messageId: req.messageId }),
      ]);
    });

    it('classifies an outage of the WhatsApp API as retryable', async () => {
      scenario({ outage: true });
      expect(await sendError(adapter(), waRequest(number()))).toMatchObject({ provider: id, kind: 'retryable', httpStatus: 503 });
    });
  });

  describe.each(withCapability('rcs-capability'))('%s: RCS capability', (id, module, fixture) => {
    const { golden } = fixture;
    const config = module.configSchema.parse(fixture.sandboxConfig);
    const checker = (timeoutMs = TIMEOUT_MS): ProviderAdapter => module.create(config, { baseUrl, timeoutMs });
    let n = 0;
    const fresh = (): string => `+1415555${String(6000 + (n++ % 1000)).padStart(4, '0')}`;
    const check = async (e164: string, a: ProviderAdapter = checker()) => {
      if (a.checkCapability === undefined || a.rcsCapable === undefined) throw new Error(`${id} has no capability check`);
      return { answer: await a.checkCapability(e164), capable: await a.rcsCapable(e164) };
    };

    it('offers no channel, only capability checks', () => {
      expect(checker().channels).toEqual([]);
    });

    it('reports a number the table marks rcs:true as capable, with features, counting each check', async () => {
      const e164 = fresh();
      sandbox.control.putNumber(e164, { rcs: true });
      const { answer, capable } = await check(e164);
      expect(answer).toMatchObject({ capable: true, status: 'capable', features: golden.capableBody.features });
      expect(capable).toBe(true);
      expect(sandbox.control.counters(id)).toMatchObject({ requests: 2, accepted: 0 });
      expect(sandbox.control.log({ provider: id, to: e164 })).toHaveLength(2);
    });

    it('reports an unset number (rcs:false by default) as not capable', async () => {
      const { answer, capable } = await check(fresh());
      expect(answer).toMatchObject({ capable: false, status: 'not_capable', httpStatus: 404 });
      expect(capable).toBe(false);
    });

    it('reports agent_not_launched when the scenario answers 403 (errorRate 1, errorStatus 403)', async () => {
      sandbox.control.putSettings(id, { errorRate: 1, errorStatus: 403 });
      const e164 = fresh();
      sandbox.control.putNumber(e164, { rcs: true });
      expect((await check(e164)).answer).toMatchObject({ capable: false, status: 'agent_not_launched', httpStatus: 403 });
    });

    it('reports an outage, a 500 and a slow answer as unknown, never rejecting', async () => {
      sandbox.control.putSettings(id, { outage: true });
      expect((await check(fresh())).answer).toMatchObject({ status: 'unknown', httpStatus: 503 });
      sandbox.control.putSettings(id, { outage: false, errorRate: 1, errorStatus: 500 });
      expect((await check(fresh())).answer).toMatchObject({ status: 'unknown', httpStatus: 500 });
      sandbox.control.putSettings(id, { errorRate: 0, latencyMs: 2_000 });
      const started = Date.now();
      expect((await check(fresh(), checker(SLOW_TIMEOUT_MS))).answer).toMatchObject({ status: 'unknown' });
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it('agrees with the RCS carriers: capable numbers deliver over RCS, others come back not capable', async () => {
      const yes = fresh();
      const no = fresh();
      sandbox.control.putNumber(yes, { rcs: true });
      expect((await check(yes)).capable).toBe(true);
      expect((await check(no)).capable).toBe(false);
      sandbox.control.putSettings('sinch', { dlrDelayMs: 20 });
      const sinch = sendingModules.find((m) => m.id === 'sinch');
      if (sinch === undefined) throw new Error('no sinch module');
      const carrier = sinch.create(sinch.configSchema.parse(fixtureOf('sinch').sandboxConfig), { baseUrl, timeoutMs: TIMEOUT_MS });
      openAdapters.push(carrier);
      const endpoint = carrier.webhooks?.['conversation'];
      for (const [to, expected] of [
        [yes, 'sent'],
        [no, 'failed'],
      ] as const) {
        const messageId = `msg_contract_agree_${to.slice(1)}`;
        await carrier.send({
          messageId,
          attempt: 1,
          channel: 'rcs',
          to,
          body: 'Your code is 123456',
          statusCallbackUrl: `${receiver.origin}/webhooks/sinch/conversation?sb=${messageId}`,
        });
        const [first] = inOrderOf(await receiver.waitFor(1, { ref: messageId }));
        expect(endpoint?.parse(first!)[0]?.status).toBe(expected);
      }
    });

    describe(`golden wire format (${golden.source})`, () => {
      it('asks with the documented method, path, query and Bearer token, without a body', async () => {
        const e164 = fresh();
        await check(e164);
        const asked = captured.filter((c) => c.path === golden.request.path(e164));
        expect(asked.length).toBeGreaterThanOrEqual(1);
        for (const request of asked) {
          expect(request.method).toBe(golden.request.method);
          expect(request.headers['authorization']).toBe(golden.request.authorization);
          expect(request.body).toBeUndefined();
        }
      });
    });
  });
});

function inOrderOf(callbacks: ReceivedCallback[]): ReceivedCallback[] {
  return callbacks.sort((a, b) => a.receivedAt - b.receivedAt);
}
