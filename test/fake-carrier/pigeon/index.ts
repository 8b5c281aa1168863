/**
 * A fake carrier, "pigeon", declared in this one folder exactly as a real provider module is
 * (DESIGN §3, §5): settings with defaults, an env variable, a callback route and its OpenAPI
 * text, metric label membership, an opt-out code, a default route and a sandbox emulator. The
 * registry test registers it beside the built-in carriers and finds it everywhere the gateway
 * reads carriers, which proves nothing in `src/` needs to know its id.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { defineProvider } from '../../../providers/index.ts';
import type { ProviderAdapter, ProviderDeps, SandboxControl } from '../../../providers/index.ts';

/** The header pigeon signs its callbacks with, and the only value it accepts. */
export const PIGEON_SIGNATURE_HEADER = 'x-pigeon-signature';
export const PIGEON_SIGNATURE = 'coo';

/** Pigeon's options: a credential without default, a sender and a loft size with defaults. */
export const pigeonConfigSchema = z.object({
  apiKey: z.string().min(1).default('sandbox-pigeon-key'),
  from: z.string().min(1).default('+15005550006'),
  loftSize: z.number().int().min(1).max(100).default(12),
});
export type PigeonConfig = z.infer<typeof pigeonConfigSchema>;

/** Builds the adapter: sends post to the emulator (`deps.baseUrl`); callbacks verify one header. */
function createPigeonAdapter(config: PigeonConfig, deps: ProviderDeps): ProviderAdapter<'pigeon'> {
  return {
    id: 'pigeon',
    channels: ['sms'],
    async send(req) {
      const res = await fetch(`${deps.baseUrl ?? 'https://pigeon.invalid'}/pigeon/v1/flights`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${config.apiKey}` },
        body: JSON.stringify({ to: req.to, from: config.from, text: req.body, ref: req.messageId }),
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
      const body: unknown = await res.json();
      const id = typeof body === 'object' && body !== null && 'id' in body && typeof body.id === 'string' ? body.id : 'unknown';
      return { providerMessageId: id, acceptedAt: new Date() };
    },
    verifyWebhook: async (raw) => raw.headers[PIGEON_SIGNATURE_HEADER] === PIGEON_SIGNATURE,
    // Pigeons report nothing the gateway tracks yet: a verified callback is acknowledged and dropped.
    parseWebhook: () => [],
  };
}

/** The sandbox side: pigeon's one endpoint, counted and logged through the sandbox control. */
function registerPigeonEmulator(app: FastifyInstance, control: SandboxControl<'pigeon'>): void {
  app.post('/pigeon/v1/flights', async (request, reply) => {
    const failure = control.injectedFailure('pigeon');
    const status = failure ?? 201;
    control.record({ provider: 'pigeon', method: 'POST', path: '/pigeon/v1/flights', status }, { acceptedSend: failure === undefined });
    if (failure !== undefined) return reply.code(failure).send({ error: 'the loft is closed' });
    const body = request.body;
    const to = typeof body === 'object' && body !== null && 'to' in body && typeof body.to === 'string' ? body.to : '';
    return reply.code(201).send({ id: `flight-${to}` });
  });
}

/** The fake provider module: one folder, everything the registry asks of a carrier. */
export const pigeonProvider = defineProvider({
  id: 'pigeon',
  channels: ['sms'],
  configSchema: pigeonConfigSchema,
  settingsShape: pigeonConfigSchema.shape,
  secretPaths: ['apiKey'],
  env: [{ variable: 'SWITCHBOARD_PIGEON_API_KEY', option: 'apiKey', credential: true, requiredLive: true }],
  signatureHeaders: [PIGEON_SIGNATURE_HEADER],
  create: createPigeonAdapter,
  callbacks: {
    methods: ['get', 'post'],
    description: 'Pigeon landing reports, verified with `X-Pigeon-Signature`.',
    media: ['application/json'],
  },
  lookups: true,
  statusReads: false,
  defaultRoutes: { sms: 3 },
  optOutErrorCodes: ['P-STOP'],
  emulator: (app, control) => registerPigeonEmulator(app, control),
});
