import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFakeSandboxControl } from '../../sandbox-kit/sandbox-control.fake.ts';
import type { FakeSandboxControl } from '../../sandbox-kit/sandbox-control.fake.ts';
import { registerRbmEmulator } from './rbm.emulator.ts';
import { RBM_SANDBOX_ACCESS_TOKEN, RBM_SANDBOX_AGENT_ID, RBM_SANDBOX_FEATURES } from './rbm.sandbox.ts';

const auth = { authorization: `Bearer ${RBM_SANDBOX_ACCESS_TOKEN}` };
const url = (phone: string, query = `requestId=0b9c-1&agentId=${RBM_SANDBOX_AGENT_ID}`): string =>
  `/v1/phones/${phone}/capabilities?${query}`;

describe('registerRbmEmulator', () => {
  let app: FastifyInstance;
  let control: FakeSandboxControl;

  beforeAll(async () => {
    control = createFakeSandboxControl();
    app = Fastify({ logger: false });
    registerRbmEmulator(app, control);
    await app.ready();
  });
  beforeEach(() => {
    control.set('rbm', { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0, retryAfterSec: undefined });
  });
  afterAll(async () => {
    control.close();
    await app.close();
  });

  it('answers 200 with the features list for a number whose table entry says rcs:true', async () => {
    control.setNumber('+447700900123', { rcs: true });
    const res = await app.inject({ method: 'GET', url: url('+447700900123'), headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ features: RBM_SANDBOX_FEATURES });
  });

  it('takes the number URL-encoded as well (%2B)', async () => {
    control.setNumber('+447700900124', { rcs: true });
    const res = await app.inject({ method: 'GET', url: url('%2B447700900124'), headers: auth });
    expect(res.statusCode).toBe(200);
  });

  it("answers 404 NOT_FOUND in Google's shape for a number without RCS", async () => {
    const res = await app.inject({ method: 'GET', url: url('+447700900125'), headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' } });
  });

  it('answers 401 UNAUTHENTICATED without the sandbox token', async () => {
    const res = await app.inject({ method: 'GET', url: url('+447700900123'), headers: { authorization: 'Bearer other' } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { status: 'UNAUTHENTICATED' } });
  });

  it.each([
    ['no agentId', 'requestId=r'],
    ['no requestId', `agentId=${RBM_SANDBOX_AGENT_ID}`],
  ])('answers 400 INVALID_ARGUMENT with %s', async (_name, query) => {
    const res = await app.inject({ method: 'GET', url: url('+447700900123', query), headers: auth });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { status: 'INVALID_ARGUMENT' } });
  });

  it('answers 400 for a phone that is not E.164', async () => {
    const res = await app.inject({ method: 'GET', url: url('07700900123'), headers: auth });
    expect(res.statusCode).toBe(400);
  });

  it('answers 403 PERMISSION_DENIED to an agent that is not the sandbox one', async () => {
    const res = await app.inject({ method: 'GET', url: url('+447700900123', 'requestId=r&agentId=unlaunched'), headers: auth });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
  });

  it('answers 403 for every number with errorRate 1 and errorStatus 403 (agent not launched)', async () => {
    control.set('rbm', { errorRate: 1, errorStatus: 403 });
    control.setNumber('+447700900126', { rcs: true });
    const res = await app.inject({ method: 'GET', url: url('+447700900126'), headers: auth });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { status: 'PERMISSION_DENIED' } });
  });

  it('answers an outage with 503 UNAVAILABLE and Retry-After when set', async () => {
    control.set('rbm', { outage: true, retryAfterSec: 7 });
    const res = await app.inject({ method: 'GET', url: url('+447700900123'), headers: auth });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json()).toMatchObject({ error: { status: 'UNAVAILABLE' } });
  });

  it('records every check under rbm with the number, never as an accepted send', async () => {
    const before = control.counters('rbm').requests;
    await app.inject({ method: 'GET', url: url('+447700900127'), headers: auth });
    expect(control.counters('rbm').requests).toBe(before + 1);
    expect(control.entries.at(-1)).toMatchObject({
      provider: 'rbm',
      method: 'GET',
      path: '/v1/phones/+447700900127/capabilities',
      to: '+447700900127',
      status: 404,
    });
    expect(control.counters('rbm').accepted).toBe(0);
  });
});
