/**
 * `POST /_sandbox/inbound`: a "handset" texts one of our numbers. The named carrier's
 * emulator posts that inbound message to the gateway exactly as the carrier would — its body
 * format and its signature with the documented sandbox credentials — at
 * `<gateway public URL>/webhooks/<provider>/inbound`, so opt-out tests and demos exercise the real
 * verification and parsing.
 *
 * Body: `{provider, from, text, to?, url?}`. `to` defaults to the sandbox sender (+15005550006).
 * The gateway's public URL is `url` when given (a sandbox serving several gateways, or one behind a
 * tunnel), else the sandbox's `gatewayUrl` option — `SWITCHBOARD_PUBLIC_URL`, which roles `all`
 * and `sandbox` derive in sandbox mode. Answers `{provider, url, status}` with the status the
 * gateway answered (204 accepted, 401 refused signature…); 502 when the gateway could not be reached.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AnyProviderModule } from '../../providers/index.ts';
import { SandboxRequestError } from './sandbox-control.ts';

/** The sandbox's default sender: every emulator's `from` (Twilio's magic valid sender). */
const SANDBOX_SENDER = '+15005550006';

export const inboundRequestSchema = z.strictObject({
  provider: z.string().min(1),
  from: z.string().regex(/^\+?\d{6,15}$/, 'an MSISDN such as +14155550100'),
  text: z.string().max(1_600),
  to: z
    .string()
    .regex(/^\+?\d{3,15}$/)
    .optional(),
  url: z.url().optional(),
});

export function registerSandboxInboundRoutes(
  app: FastifyInstance,
  providers: readonly AnyProviderModule[],
  gatewayUrl: string | undefined,
): void {
  app.post('/_sandbox/inbound', async (request, reply) => {
    const parsed = inboundRequestSchema.safeParse(request.body);
    if (!parsed.success)
      throw new SandboxRequestError(
        400,
        'SB_VALIDATION_FAILED',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    const body = parsed.data;
    const module = providers.find((p) => p.id === body.provider);
    if (module?.inbound === undefined) {
      const known = providers.filter((p) => p.inbound !== undefined).map((p) => p.id);
      throw new SandboxRequestError(
        404,
        'SB_SANDBOX_UNKNOWN_PROVIDER',
        `no inbound emulator for "${body.provider}" (have: ${known.join(', ')})`,
      );
    }
    const base = body.url ?? gatewayUrl;
    if (base === undefined)
      throw new SandboxRequestError(400, 'SB_VALIDATION_FAILED', 'url: the gateway URL is unknown to this sandbox; give `url`');
    const url = `${base.replace(/\/+$/, '')}/webhooks/${module.id}/inbound`;
    try {
      const status = await module.inbound.emulate({ from: body.from, to: body.to ?? SANDBOX_SENDER, text: body.text }, url);
      return { provider: module.id, url, status };
    } catch (err) {
      return reply
        .code(502)
        .send({ error: { code: 'SB_UNAVAILABLE', message: `the gateway at ${url} did not answer: ${(err as Error).message}` } });
    }
  });
}
