/**
 * The provider registry: the only module `src/` imports from `providers/` (besides types), so the
 * gateway stays ignorant of carrier SDKs and a new carrier is one line here (DESIGN §3, §5).
 *
 * A provider module (`defineProvider` in `providers/<id>/index.ts`) carries everything the gateway
 * knows about its carrier: the settings (config section, typed from its schema, with defaults),
 * the environment variables that fill them, its callback routes and their OpenAPI text, its
 * metric label membership (lookups, status reads), its default routes, its opt-out error codes
 * and its sandbox emulator (`providers/<id>/sandbox/`). `src/` iterates `providerRegistry`
 * (config schema and loader, adapters, routes, OpenAPI, metrics, opt-outs, sandbox) and never
 * names a carrier. To add one: a folder with its module, its id in `ProviderId`, one entry in
 * `builtinProviders` (the compile-time check below keeps the two in step).
 */
import type { AnyProviderModule, ProviderAdapter, ProviderDeps, ProviderId, ProviderModule } from './provider.ts';
import { fcmProvider } from './fcm/index.ts';
import { messagebirdProvider } from './messagebird/index.ts';
import { rbmProvider } from './rbm/index.ts';
import { sinchProvider } from './sinch/index.ts';
import { twilioProvider } from './twilio/index.ts';

export type * from './provider.ts';
export { MAGIC_NUMBERS, defaultProviderScenario, defineProvider } from './provider.ts';
export type { ProviderErrorInit, ProviderErrorKind, ProviderErrorScope } from './errors.ts';
export { ProviderError, isProviderError, parseRetryAfterMs, classifyNetworkError } from './errors.ts';
export type { FormFields } from './form-body.ts';
export { ensureFormBodyParser, parseFormBody } from './form-body.ts';
export type { TwilioConfig } from './twilio/index.ts';
export { TWILIO_SANDBOX_CREDENTIALS, twilioProvider } from './twilio/index.ts';
/** Voice OTP: the TwiML a call speaks, and reading the code back from it (sandbox log `content`). */
export { buildVoiceTwiml, readCodeFromTwiml, voicePromptFor, TWILIO_VOICE_MAGIC_NUMBERS } from './twilio/index.ts';
export type { SinchConfig } from './sinch/index.ts';
export { SINCH_SANDBOX_CREDENTIALS, sinchProvider } from './sinch/index.ts';
/** RCS receipts of Sinch Conversation (`POST /webhooks/sinch/conversation`): also on `adapter.webhooks.conversation`. */
export { verifySinchConversationWebhook, parseSinchConversationWebhook, sinchConversationSignatureHeaders } from './sinch/index.ts';
export type { MessageBirdConfig } from './messagebird/index.ts';
export { MESSAGEBIRD_SANDBOX_CREDENTIALS, messagebirdProvider } from './messagebird/index.ts';
export type { FcmConfig } from './fcm/index.ts';
export { FCM_SANDBOX_CREDENTIALS, FCM_UNREGISTERED_CODES, PUSH_DATA_KEYS, fcmProvider, isUnregisteredToken } from './fcm/index.ts';
export type { RbmAdapter, RbmConfig } from './rbm/index.ts';
export { RBM_CAPABILITY_CACHE_TTL_SECONDS, RBM_SANDBOX_CREDENTIALS, rbmProvider } from './rbm/index.ts';

/**
 * The built-in carriers, in the registry's order: the order of the sandbox's provider list, of
 * metric label sets and of the default candidates that tie on rank. Adding a carrier is a folder
 * plus one entry here.
 */
export const builtinProviders = [twilioProvider, sinchProvider, messagebirdProvider, fcmProvider, rbmProvider] as const;

/** A set of provider modules the gateway is built from, with typed lookups by id. */
export interface ProviderRegistry<M extends AnyProviderModule = AnyProviderModule> {
  /** Every module, in registration order. */
  readonly modules: readonly M[];
  /** Their ids, in the same order (never empty): the closed label sets of the metrics, the sandbox's providers. */
  readonly ids: readonly [M['id'], ...M['id'][]];
  /** The module of `id`; `undefined` for an unknown id (user input, a URL parameter). */
  get(id: string): M | undefined;
  /** The module of a known id, with its own option and config types. */
  require<Id extends M['id']>(id: Id): Extract<M, { id: Id }>;
  /** Whether `id` names a registered provider. */
  has(id: string): id is M['id'];
}

/**
 * Builds a registry from a list of modules. No global state: tests register a fake carrier with
 * `createRegistry([...builtinProviders, fake])` and hand that registry to the config schema, the
 * routes, the metrics and the sandbox. Duplicate ids are refused (one id, one carrier).
 */
export function createRegistry<const L extends readonly [AnyProviderModule, ...AnyProviderModule[]]>(
  modules: L,
): ProviderRegistry<L[number]> {
  type M = L[number];
  const [first, ...rest]: readonly [M, ...M[]] = modules;
  const byId = new Map<string, M>();
  for (const module of modules) {
    if (byId.has(module.id)) throw new Error(`provider "${module.id}" is registered twice`);
    byId.set(module.id, module);
  }
  const has = (id: string): id is M['id'] => byId.has(id);
  return {
    modules,
    ids: [first.id, ...rest.map((m): M['id'] => m.id)],
    get: (id) => byId.get(id),
    has,
    require<Id extends M['id']>(id: Id): Extract<M, { id: Id }> {
      const module = byId.get(id);
      if (module === undefined || module.id !== id) throw new Error(`provider "${id}" is not registered`);
      return module as Extract<M, { id: Id }>;
    },
  };
}

/** The registry of the built-in carriers: what the gateway runs with. */
export const providerRegistry = createRegistry(builtinProviders);

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compile-time check: `ProviderId` (provider.ts) names exactly the built-in carriers. */
export type BuiltinIdsMatch = Same<(typeof builtinProviders)[number]['id'], ProviderId> extends true ? true : never;
const builtinIdsMatch: BuiltinIdsMatch = true;
void builtinIdsMatch;

/** Every built-in provider module, by id. */
export const providerModules = Object.fromEntries(builtinProviders.map((m) => [m.id, m])) as {
  readonly [M in (typeof builtinProviders)[number] as M['id']]: M;
};

/** Ids of the implemented providers (every `ProviderId`; RBM offers capability checks, no channel). */
export type ImplementedProviderId = (typeof builtinProviders)[number]['id'];

/**
 * Looks a built-in provider module up by id. `undefined` for an unknown id, so the config
 * loader can say "provider X is not available" instead of crashing.
 */
export function getProviderModule(id: string): AnyProviderModule | undefined {
  return providerRegistry.get(id);
}

/** What `createProviders` needs of each provider's configuration section. */
export type ProviderSection = Readonly<{ enabled?: boolean | undefined }> & Readonly<Record<string, unknown>>;

/**
 * The configuration `module`'s adapter is built with: its section of the gateway configuration
 * (without `enabled`, unset options dropped), validated by the provider's own schema with its
 * defaults. Every option the schema declares arrives as the operator set it.
 */
export function adapterConfigOf<TConfig>(module: ProviderModule<TConfig, string>, section: ProviderSection): TConfig {
  const settings = Object.fromEntries(Object.entries(section).filter(([k, v]) => k !== 'enabled' && v !== undefined));
  const parsed = module.configSchema.safeParse(settings);
  if (!parsed.success) {
    throw new Error(`providers.${module.id}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/**
 * Builds the adapter of every registered provider whose section is not `enabled: false`, in
 * registry order: the composition root's one call into the carriers.
 */
export function createProviders<M extends AnyProviderModule>(
  registry: ProviderRegistry<M>,
  sections: { readonly [Id in M['id']]?: ProviderSection },
  deps: ProviderDeps,
): Map<M['id'], ProviderAdapter<M['id'] | ProviderId>> {
  const adapters = new Map<M['id'], ProviderAdapter<M['id'] | ProviderId>>();
  for (const module of registry.modules) {
    const id: M['id'] = module.id;
    const section: ProviderSection = sections[id] ?? {};
    if (section.enabled === false) continue;
    adapters.set(id, module.create(adapterConfigOf(module, section), deps));
  }
  return adapters;
}
