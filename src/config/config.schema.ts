/**
 * The one schema of Switchboard's configuration, and the ONLY place defaults live (DESIGN §3):
 * YAML files and environment variables only ever supply values, so a default read here is the
 * default everywhere (README, tests, docs).
 */
import { z } from 'zod';
import { providerRegistry, type ProviderRegistry } from '../../providers/index.ts';
import type { AnyProviderModule, Channel } from '../../providers/provider.ts';
import { definitionProblems, type TemplateDefinition } from '../domain/template-render.ts';

const port = z.coerce.number().int().min(0).max(65535);
const ms = z.coerce.number().int().min(0);

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
/** A duration as milliseconds, or as text such as `5s`, `30m`, `2h`. */
const duration = z.union([
  z.number().int().min(0),
  z
    .string()
    .regex(/^\d+(ms|s|m|h)$/, 'a duration such as 500ms, 5s, 30m or 2h')
    .transform((v) => {
      const [, n, unit] = /^(\d+)(ms|s|m|h)$/.exec(v) as unknown as [string, string, keyof typeof UNIT_MS];
      return Number(n) * UNIT_MS[unit];
    }),
]);

export const apiKeyScopeSchema = z.enum(['send', 'read', 'verify', 'admin']);
export type ApiKeyScope = z.infer<typeof apiKeyScopeSchema>;

/** One `whsec_<base64>` Standard Webhooks secret. */
export const webhookSecretSchema = z.string().regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, 'webhook secrets look like whsec_<base64>');
/** Per-lookup policy of a key (DESIGN §6.2): lookups cost about as much as an SMS. */
export const lookupPolicySchema = z.enum(['always', 'first-contact', 'never']);
/** What a recent SIM swap does to a key's messages (DESIGN §6.2). */
export const simSwapPolicySchema = z.enum(['block', 'push-only', 'allow-and-flag']);

/** Admission rate limits (CONTRACTS §3); a key's `rateLimits` overrides any of them. */
export const rateLimitsSchema = z.object({
  /** Messages admitted per API key per second (sliding window). */
  requestsPerSecond: z.number().int().min(1).default(100),
  /** OTP messages per `userId` (per API key) per hour. */
  otpPerUserPerHour: z.number().int().min(1).default(3),
  /** OTP messages per recipient number (per API key) per hour. */
  otpPerNumberPerHour: z.number().int().min(1).default(5),
  /** `shadow`: the OTP limits count and log but never refuse (sandbox.yaml, so tests are not throttled). */
  otpMode: z.enum(['enforce', 'shadow']).default('enforce'),
});

export const apiKeySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'key names are 1-64 of A-Z a-z 0-9 _ . -'),
  /** Hex SHA-256 of the key; plain keys are hashed by the loader and never kept. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  scopes: z.array(apiKeyScopeSchema).min(1),
  /** Default `callbackUrl` for this key's messages. */
  callbackUrl: z.url().optional(),
  /** This key's webhook secrets (all sign during a rotation); the global ones when unset. From env only. */
  webhookSecrets: z.array(webhookSecretSchema).min(1).optional(),
  /** Recipient countries (ISO alpha-2) this key may send to; every country when unset. */
  allowedCountries: z
    .array(z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, upper case'))
    .min(1)
    .optional(),
  /** Overrides of the global `rateLimits` for this key. */
  rateLimits: z
    .strictObject({
      requestsPerSecond: z.number().int().min(1).optional(),
      otpPerUserPerHour: z.number().int().min(1).optional(),
      otpPerNumberPerHour: z.number().int().min(1).optional(),
    })
    .optional(),
  /** Overrides of `keyDefaults` for this key. */
  lookup: lookupPolicySchema.optional(),
  simSwap: simSwapPolicySchema.optional(),
  autoUpgradeRcs: z.boolean().optional(),
  /** This key's OTP delivery timeout (`otp.deliveryTimeoutMs` when unset); a request's own wins. */
  otpDeliveryTimeoutMs: z.number().int().min(5_000).max(300_000).optional(),
});
export type ApiKeyRecord = z.infer<typeof apiKeySchema>;

const countryCode = z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, upper case');
const price = z.number().min(0).max(10);
const providerPricesSchema = z.object({
  na: price.optional(),
  eu: price.optional(),
  apac: price.optional(),
  default: price.optional(),
  countries: z.record(countryCode, price).optional(),
});
/**
 * A provider's section of the gateway configuration, derived from the provider's own schema (its
 * `<id>.config.ts`, the one place its options are declared): every field optional — the loader fills
 * in sandbox credentials and decides `enabled` — with the provider's checks and defaults, and
 * unknown keys refused. Restating the fields here once dropped options the adapters document.
 */
export function providerSettings<Shape extends z.core.$ZodShape>(shape: Shape) {
  // Field by field rather than `.partial()`, which zod refuses on schemas with refinements (Sinch
  // checks that its OAuth2 credentials come together; the adapter's parse applies that).
  type Optional = { [K in keyof Shape]: z.ZodOptional<Shape[K]> };
  const fields = Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, z.optional(v)])) as Optional;
  return z.object({ enabled: z.boolean().optional() }).extend(fields).strict();
}

/** The settings schema of one module's section. */
type SettingsSchemaOf<M extends AnyProviderModule> = ReturnType<typeof providerSettings<M['settingsShape']>>;
/** `providers`: one section per registered provider, each typed from that provider's own options. */
type ProvidersShape<M extends AnyProviderModule> = { [P in M as P['id']]: z.ZodPrefault<SettingsSchemaOf<P>> };

/** The `providers` object: a section per module of `registry`, each defaulting to `{}`. */
function providersSchema<M extends AnyProviderModule>(registry: ProviderRegistry<M>) {
  const shape = Object.fromEntries(
    registry.modules.map((m) => [m.id, providerSettings(m.settingsShape).prefault({})]),
  ) as ProvidersShape<M>;
  // Unset means `{}` (each section then defaults to `{}`): a preprocess, because `.prefault({})`
  // cannot be checked against a shape that is still generic here.
  return z.preprocess((v) => (v === undefined ? {} : v), z.object(shape));
}

/** The ids a channel's candidate list holds when the configuration names none, by each module's `defaultRoutes` rank. */
export function defaultRouteOf<M extends AnyProviderModule>(registry: ProviderRegistry<M>, channel: Channel): Array<M['id']> {
  const ranked: Array<{ id: M['id']; rank: number }> = [];
  for (const m of registry.modules) {
    const rank = m.defaultRoutes[channel];
    if (rank !== undefined) ranked.push({ id: m.id, rank });
  }
  return ranked.sort((a, b) => a.rank - b.rank).map((r) => r.id);
}

/** The first id and the rest: `z.enum` needs at least one. */
function nonEmpty<T>(values: readonly T[], what: string): [T, ...T[]] {
  const [first, ...rest] = values;
  if (first === undefined) throw new Error(`the provider registry has no ${what}`);
  return [first, ...rest];
}

/**
 * The templates every deployment ships (CONTRACTS §3): `otp` (what `otp` alone sends), `otp-app`
 * (the same with the app's name) and `login-alert` (transactional, no code). Config may add
 * templates and locales or replace texts; these stay unless replaced.
 */
export const BUILT_IN_TEMPLATES: Readonly<Record<string, TemplateDefinition>> = {
  otp: {
    defaultLocale: 'en',
    locales: {
      en: 'Your verification code is {{code}}. Do not share it with anyone.',
      es: 'Tu código de verificación es {{code}}. No lo compartas con nadie.',
      fr: 'Votre code de vérification est {{code}}. Ne le partagez avec personne.',
      de: 'Ihr Bestätigungscode lautet {{code}}. Geben Sie ihn niemandem weiter.',
      pt: 'Seu código de verificação é {{code}}. Não o compartilhe com ninguém.',
      hi: 'आपका सत्यापन कोड {{code}} है। इसे किसी के साथ साझा न करें।',
      ar: 'رمز التحقق الخاص بك هو {{code}}. لا تشاركه مع أي شخص.',
    },
  },
  'otp-app': {
    defaultLocale: 'en',
    locales: {
      en: '{{code}} is your {{app}} verification code. Do not share it.',
      es: '{{code}} es tu código de verificación de {{app}}. No lo compartas.',
      fr: '{{code}} est votre code de vérification {{app}}. Ne le partagez pas.',
      de: '{{code}} ist Ihr {{app}}-Bestätigungscode. Geben Sie ihn nicht weiter.',
      pt: '{{code}} é o seu código de verificação do {{app}}. Não o compartilhe.',
      hi: '{{code}} आपका {{app}} सत्यापन कोड है। इसे साझा न करें।',
      ar: '{{code}} هو رمز التحقق الخاص بك في {{app}}. لا تشاركه.',
    },
  },
  'login-alert': {
    defaultLocale: 'en',
    locales: {
      en: 'New sign-in to {{app}} from {{device}}. If this was not you, reset your password.',
      es: 'Nuevo inicio de sesión en {{app}} desde {{device}}. Si no fuiste tú, restablece tu contraseña.',
      fr: 'Nouvelle connexion à {{app}} depuis {{device}}. Si ce n’était pas vous, réinitialisez votre mot de passe.',
      de: 'Neue Anmeldung bei {{app}} von {{device}}. Wenn Sie das nicht waren, setzen Sie Ihr Passwort zurück.',
      pt: 'Novo acesso ao {{app}} a partir de {{device}}. Se não foi você, redefina sua senha.',
      hi: '{{device}} से {{app}} में नया साइन-इन। अगर यह आप नहीं थे, तो अपना पासवर्ड रीसेट करें।',
      ar: 'تسجيل دخول جديد إلى {{app}} من {{device}}. إذا لم تكن أنت، فأعد تعيين كلمة المرور.',
    },
  },
};

const localeTag = z.string().regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'a locale such as en or pt-BR');

/** One configured template; `defaultLocale` unset keeps the built-in's (or `en`). */
const templateConfigSchema = z.strictObject({
  defaultLocale: localeTag.optional(),
  locales: z.record(localeTag, z.string().min(1).max(1600)),
});

/** Built-ins merged with config: a configured template adds locales to a built-in of the same name or replaces its texts. */
const templatesSchema = z
  .record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'template names are 1-64 of a-z 0-9 _ -'), templateConfigSchema)
  .default({})
  .transform((configured, ctx): Record<string, TemplateDefinition> => {
    const out: Record<string, TemplateDefinition> = { ...BUILT_IN_TEMPLATES };
    for (const [name, t] of Object.entries(configured)) {
      const base = Object.hasOwn(BUILT_IN_TEMPLATES, name) ? BUILT_IN_TEMPLATES[name] : undefined;
      const def: TemplateDefinition = {
        defaultLocale: t.defaultLocale ?? base?.defaultLocale ?? 'en',
        locales: { ...base?.locales, ...t.locales },
      };
      for (const message of definitionProblems(name, def)) ctx.issues.push({ code: 'custom', message, input: t, path: [name] });
      out[name] = def;
    }
    return out;
  });

/**
 * The configuration schema of a gateway built from `registry`: the carriers' sections, the ids
 * routing, pricing and lookups may name, and their defaults all come from the registered modules,
 * so a carrier added to the registry (a test's fake included) is configurable without an edit here.
 */
export function createConfigSchema<M extends AnyProviderModule>(registry: ProviderRegistry<M>) {
  const providerIdSchema = z.enum(registry.ids);
  const lookupIds = nonEmpty(
    registry.modules.filter((m) => m.lookups).map((m): M['id'] => m.id),
    'lookup provider',
  );
  const channelRouteSchema = (channel: Channel) =>
    z.object({
      providers: z.array(providerIdSchema).min(1).default(defaultRouteOf(registry, channel)),
      /** Per-destination candidate lists that replace `providers` for that country. */
      countries: z.record(countryCode, z.array(providerIdSchema).min(1)).default({}),
    });
  return z.object({
    mode: z.enum(['sandbox', 'live']),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    redis: z
      .object({
        url: z
          .string()
          .regex(
            /^(rediss?|rediss?\+sentinel|rediss?-cluster):\/\//,
            'use redis://, rediss://, redis+sentinel://, rediss+sentinel://, redis-cluster:// or rediss-cluster://',
          )
          .default('redis://127.0.0.1:6379'),
        /**
         * Under Redis Cluster the loader wraps it in a hash tag (`sb` → `{sb}`) so every key and
         * queue lives in one slot; a prefix given as `{name}` is used as is on any Redis.
         */
        prefix: z
          .string()
          .regex(
            /^([A-Za-z0-9_-]{1,32}|\{[A-Za-z0-9_-]{1,32}\})$/,
            'prefix: 1-32 of A-Z a-z 0-9 _ - (no ":"), optionally as a hash tag {name}',
          )
          .default('sb'),
      })
      .prefault({}),
    api: z
      .object({
        port: port.default(3000),
        host: z.string().default('127.0.0.1'),
        /** Base URL carriers and apps use to reach the API; derived from `port` in sandbox mode. */
        publicUrl: z.url().optional(),
        bodyLimitBytes: z.number().int().positive().default(65_536),
      })
      .prefault({}),
    sandbox: z
      .object({
        port: port.default(3100),
        host: z.string().default('127.0.0.1'),
        /** Where carriers' base URLs point in sandbox mode; derived from `port` when unset. */
        url: z.url().optional(),
      })
      .prefault({}),
    metrics: z.object({ port: port.default(9464) }).prefault({}),
    apiKeys: z.array(apiKeySchema).default([]),
    rateLimits: rateLimitsSchema.prefault({}),
    /** Policies of keys that do not set their own (config/keys.yaml). */
    keyDefaults: z
      .object({
        lookup: lookupPolicySchema.default('first-contact'),
        simSwap: simSwapPolicySchema.default('allow-and-flag'),
        autoUpgradeRcs: z.boolean().default(false),
      })
      .prefault({}),
    providers: providersSchema(registry),
    /** config/routing.yaml: which providers may carry each channel, in tie-break order. */
    routing: z
      .object({
        channels: z
          .object({
            sms: channelRouteSchema('sms').prefault({}),
            push: channelRouteSchema('push').prefault({}),
            voice: channelRouteSchema('voice').prefault({}),
            rcs: channelRouteSchema('rcs').prefault({}),
            whatsapp: channelRouteSchema('whatsapp').prefault({}),
          })
          .prefault({}),
        /**
         * The conversion term of the score (src/routing/conversion-score.ts): price × health ×
         * (1 / max(floor, verified / delivered OTPs))^weight, neutral below `minSamples`.
         */
        conversion: z
          .object({
            /** Exponent of the term: 0 turns it off, 1 scores the cost of one verified code. */
            weight: z.number().min(0).max(4).default(1),
            /** Decayed delivered OTPs of a provider×country before its conversion counts. */
            minSamples: z.number().min(1).default(20),
            /** Half-life of the delivered and verified OTP counters. */
            halfLifeMs: z.number().int().min(1_000).default(3_600_000),
            /** Lowest ratio divided by: caps the factor at (1 / floor)^weight (50 by default). */
            floor: z.number().min(0.001).max(1).default(0.02),
          })
          .prefault({}),
      })
      .prefault({}),
    /**
     * Predicted push skip (src/pipeline/push-skip.stage.ts): a Beta posterior of each push token's
     * acks; push is skipped (`push_predicted_unacked`) when the posterior probability that the
     * token acks at least `minAckProbability` of pushes falls below `1 − confidence`.
     */
    push: z
      .object({
        prediction: z
          .object({
            enabled: z.boolean().default(true),
            /** Ack rate below which push is not worth its ack timeout. */
            minAckProbability: z.number().gt(0).lt(1).default(0.25),
            /** How sure the posterior must be that the ack rate is below `minAckProbability`. */
            confidence: z.number().gt(0).lt(1).default(0.9),
            /** Beta prior: pseudo-acks and pseudo-misses every token starts with. */
            priorAcks: z.number().gt(0).default(1),
            priorMisses: z.number().gt(0).default(1),
            /** Half-life of a token's ack evidence (it decays back to the prior). */
            halfLifeMs: z
              .number()
              .int()
              .min(1_000)
              .default(7 * 86_400_000),
            /** Every this-many-th message of a skipped token is pushed anyway (exploration); 0 never. */
            exploreEvery: z.number().int().min(0).default(10),
            /** A token's posterior is forgotten this long after its last update. */
            retentionSeconds: z
              .number()
              .int()
              .min(60)
              .default(30 * 86_400),
          })
          .prefault({}),
      })
      .prefault({}),
    /** config/pricing.yaml: prices per segment, regions and volume tiers (illustrative defaults there). */
    pricing: z
      .object({
        regions: z.record(countryCode, z.enum(['na', 'eu', 'apac', 'default'])).default({}),
        prices: z.partialRecord(providerIdSchema, providerPricesSchema).default({}),
        tiers: z
          .partialRecord(providerIdSchema, z.array(z.object({ from: z.number().int().min(0), discount: z.number().min(0).max(1) })))
          .default({}),
        /** Per-message prices of other channels (WhatsApp), per provider, shaped like `prices`; unlisted channels are not priced. */
        channels: z
          .partialRecord(z.enum(['whatsapp', 'rcs', 'voice']), z.partialRecord(providerIdSchema, providerPricesSchema))
          .default({}),
      })
      .prefault({}),
    rcs: z
      .object({
        /** How long an RBM capable / not-capable answer is trusted (a result is meaningful ~31 days; reference §5). */
        capabilityTtlSeconds: z
          .number()
          .int()
          .min(60)
          .default(12 * 3_600),
      })
      .prefault({}),
    whatsapp: z
      .object({
        /**
         * How long a carrier's "this number has no WhatsApp" is remembered, so the next messages to it
         * skip WhatsApp at once (src/pipeline/whatsapp-registration.stage.ts); 0 never remembers.
         */
        notRegisteredTtlSeconds: z
          .number()
          .int()
          .min(0)
          .default(7 * 86_400),
      })
      .prefault({}),
    lookup: z
      .object({
        /** Which provider answers number lookups (DESIGN §6.2). */
        provider: z.enum(lookupIds).default(lookupIds[0]),
        lineTypeTtlSeconds: z
          .number()
          .int()
          .min(60)
          .default(7 * 86_400),
        simSwapTtlSeconds: z.number().int().min(60).default(3_600),
        /** A SIM swap this recent triggers the key's `simSwap` policy. */
        simSwapWindowSeconds: z
          .number()
          .int()
          .min(60)
          .default(7 * 86_400),
        /** Price book of one lookup (USD) when the provider reports none; illustrative. */
        costUsd: z.number().min(0).default(0.008),
        /** Above MessageBird's HLR poll budget (1.5 s) plus a round trip, so a slow HLR ends "unknown", not "error". */
        timeoutMs: ms.default(3_000),
      })
      .prefault({}),
    health: z
      .object({
        /** Health is neutral until a provider×country has this many samples. */
        minSamples: z.number().int().min(0).default(20),
        errorHalfLifeMs: ms.default(60_000),
        dlrHalfLifeMs: ms.default(600_000),
      })
      .prefault({}),
    breaker: z
      .object({
        /** Failure ratio over the sampling window that opens a provider×channel breaker. */
        threshold: z.number().min(0).max(1).default(0.5),
        samplingMs: ms.default(10_000),
        minimumRps: z.number().min(0).default(2),
        halfOpenAfterMs: ms.default(10_000),
        maxHalfOpenAfterMs: ms.default(60_000),
        /** How often each worker re-reads the shared open signals. */
        sharedRefreshMs: ms.default(500),
      })
      .prefault({}),
    send: z
      .object({
        concurrency: z.number().int().min(1).max(1000).default(50),
        /** Short locks so a killed worker's OTP is retried within 5–15 s (DESIGN §7). */
        lockDurationMs: ms.default(10_000),
        stalledIntervalMs: ms.default(5_000),
        /** BullMQ attempts of one send job when every candidate failed with a retryable error. */
        jobAttempts: z.number().int().min(1).max(20).default(5),
        backoffMs: ms.default(1_000),
        carrierTimeoutMs: ms.default(10_000),
      })
      .prefault({}),
    intake: z
      .object({
        idempotencyTtlSeconds: z.number().int().min(60).default(86_400),
        /** Records left `accepted` longer than this get their job re-added by the sweeper. */
        sweepAfterMs: ms.default(30_000),
        sweepIntervalMs: ms.default(10_000),
        /**
         * Most messages admitted in the same tick whose send jobs ride in one `send-batch` job
         * (queues/send-batcher.ts): BullMQ's job cycle is paid once a batch instead of once a
         * message. 1 queues one job per message (job id = message id).
         */
        sendBatchMax: z.coerce.number().int().min(1).max(500).default(32),
        /**
         * Replicas that must hold an accepted message before the API answers 202 (Redis `WAIT`).
         * 0 (the default) answers as soon as the primary has it: a failover may then lose the last
         * few accepted messages (asynchronous replication). With 1 or more, a message the API
         * accepted survives the primary's loss; a shortfall within `waitReplicasTimeoutMs` answers
         * 503 `SB_NOT_REPLICATED` so the client retries with its Idempotency-Key.
         */
        waitReplicas: z.coerce.number().int().min(0).max(10).default(0),
        waitReplicasTimeoutMs: ms.default(500),
      })
      .prefault({}),
    dlr: z
      .object({
        /** A callback for a message we cannot find yet is retried this long, then parked. */
        unknownRetryForMs: ms.default(600_000),
        /**
         * An attempt with a carrier id and no final callback this long after the carrier accepted it
         * is looked up at the carrier's status API (CONTRACTS §4 "Never stuck"), then again on a
         * doubling back-off until the message's validity ends.
         */
        reconcileAfterMs: ms.default(30_000),
      })
      .prefault({}),
    messages: z
      .object({
        /**
         * How long message records (and every per-message key: ledger, OTP attempts) are kept after
         * creation; past it no Redis key holds the number in clear (PII at rest). Values under an hour
         * only make sense in tests.
         */
        retentionSeconds: z
          .number()
          .int()
          .min(1)
          .default(7 * 86_400),
        maxAttempts: z.number().int().min(1).max(10).default(3),
      })
      .prefault({}),
    /** Named templates (CONTRACTS §3), the built-ins included; `GET /v1/templates` lists them. */
    templates: templatesSchema,
    otp: z
      .object({
        length: z.number().int().min(4).max(10).default(6),
        ttlSeconds: z.number().int().min(30).max(86_400).default(300),
        /** Wrong codes accepted by `POST /v1/messages/:id/verify` before the code locks. */
        maxVerifyAttempts: z.number().int().min(1).max(20).default(5),
        /**
         * An OTP attempt without `delivered` this long after the carrier accepted it, not verified and
         * not expired, sends the same code once more elsewhere (fallback reason `dlr_timeout`). A
         * request's `otp.deliveryTimeoutMs`, then its key's `otpDeliveryTimeoutMs`, override it.
         */
        deliveryTimeoutMs: ms.default(20_000),
      })
      .prefault({}),
    webhooks: z
      .object({
        /** Delays between delivery tries (CONTRACTS §4); tries = length + 1, then dead letter. */
        retrySchedule: z.array(duration).max(20).default([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
        /** ± fraction applied to each scheduled delay, so retries of many events do not stampede. */
        jitter: z.number().min(0).max(0.5).default(0.2),
        timeoutMs: ms.default(15_000),
        retryAfterCapMs: duration.default(3_600_000),
        concurrency: z.number().int().min(1).max(1000).default(50),
        relayIntervalMs: ms.default(100),
        deadLetterRetentionSeconds: z
          .number()
          .int()
          .min(3600)
          .default(30 * 86_400),
        /**
         * SSRF guard (src/security/ssrf-guard.ts): whether callbacks may target loopback, private,
         * link-local, CGNAT, unique-local or metadata addresses. Off by default; config/sandbox.yaml
         * turns it on because tests and demos receive webhooks on 127.0.0.1.
         */
        allowPrivateTargets: z.boolean().default(false),
        /** Whether `callbackUrl` must be https (live default; config/sandbox.yaml allows http). */
        requireHttps: z.boolean().default(true),
        /**
         * Addresses or CIDRs (`10.1.2.3`, `10.20.0.0/16`, `fd12::/64`) exempt from the forbidden
         * ranges: an internal receiver an operator vouches for. Metadata addresses are never exempt.
         */
        allowedTargets: z.array(z.string().regex(/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/, 'an IP address or CIDR')).default([]),
      })
      .prefault({}),
    /**
     * SMS-pumping guard (src/pipeline/pumping.stage.ts): sends per country and per number prefix
     * (the number minus its last 4 digits) in a sliding window against a decayed baseline, plus a
     * conversion tripwire over the keys that report conversions.
     */
    pumping: z
      .object({
        /** `block`: over the threshold → failed `SB_POLICY_PUMPING`; `shadow`: delivered, flagged (timeline, metric, audit). */
        mode: z.enum(['block', 'shadow']).default('block'),
        windowMs: z.number().int().min(1_000).default(300_000),
        /** Never block below this many sends per window, whatever the baseline. */
        minSends: z.number().int().min(1).default(200),
        /** Block past `max(minSends, baselineMultiplier × baseline sends per window)`. */
        baselineMultiplier: z.number().min(1).default(10),
        baselineHalfLifeMs: z.number().int().min(1_000).default(86_400_000),
        /** No blocking until a dimension has been observed this long (its baseline means nothing before). */
        warmupMs: ms.default(86_400_000),
        /** Conversion tripwire: counted only over keys that reported a conversion within `reportingKeySeconds`. */
        conversion: z
          .object({
            enabled: z.boolean().default(true),
            /** Sends (of reporting keys) a dimension needs before its conversion rate means anything. */
            minSends: z.number().int().min(1).default(50),
            /** Block when verified / sent falls below this. */
            minRate: z.number().min(0).max(1).default(0.05),
            windowHours: z.number().int().min(1).max(168).default(24),
            reportingKeySeconds: z
              .number()
              .int()
              .min(60)
              .default(7 * 86_400),
          })
          .prefault({}),
        /** Never blocked (still counted): ISO countries and E.164 prefixes such as `+1415`. */
        safeList: z
          .object({
            countries: z.array(countryCode).default([]),
            prefixes: z.array(z.string().regex(/^\+\d{1,14}$/, 'an E.164 prefix such as +1415')).default([]),
          })
          .prefault({}),
      })
      .prefault({}),
    /** The audit stream (`<prefix>:audit`): who sent what to which number token, and what happened. */
    audit: z
      .object({
        /** Approximate cap (`XADD … MAXLEN ~`): the oldest entries go first. */
        maxLen: z.number().int().min(100).default(100_000),
      })
      .prefault({}),
    shutdown: z.object({ graceMs: ms.default(15_000) }).prefault({}),
    secrets: z
      .object({
        /** 32-byte base64 master key; sandbox mode generates one and stores it in Redis. */
        encryptionKey: z
          .string()
          .refine((v) => Buffer.from(v, 'base64').length === 32, 'SWITCHBOARD_ENCRYPTION_KEY must be 32 bytes, base64')
          .optional(),
        /** One `whsec_…` secret, or several separated by spaces during a rotation (all of them sign). */
        webhookSecret: z
          .string()
          .regex(
            /^whsec_[A-Za-z0-9+/=]{16,}([\s,]+whsec_[A-Za-z0-9+/=]{16,})*$/,
            'webhook secrets look like whsec_<base64> (several: space-separated)',
          )
          .optional(),
      })
      .prefault({}),
  });
}

/** The schema of the gateway's configuration (the built-in carriers). */
export const configSchema = createConfigSchema(providerRegistry);

export type Config = z.infer<typeof configSchema>;
