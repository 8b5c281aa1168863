/**
 * The RBM adapter: RCS capability checks only (DESIGN §6.3 plan stage). RBM sends nothing for
 * Switchboard — RCS messages go through Sinch Conversation or Twilio — so the adapter offers no
 * channel, `send` refuses, and there are no carrier callbacks. What it adds is
 * `checkCapability(e164)` (the full answer) and `rcsCapable(e164)` (its boolean).
 *
 * - **sandbox** (`deps.baseUrl` set): requests go to the sandbox with the fixed token
 *   `RBM_SANDBOX_ACCESS_TOKEN`; a configured service account is ignored.
 * - **live**: a token minted from `serviceAccount` (JWT-bearer grant, `rbm.token.ts`), required.
 */
import { ProviderError } from '../errors.ts';
import type { Channel, ProviderAdapter, ProviderDeps, RcsCapability, SendRequest, SendResult } from '../provider.ts';
import { createRbmCapabilityClient } from './rbm.client.ts';
import type { RbmConfig } from './rbm.config.ts';
import { RBM_SANDBOX_ACCESS_TOKEN } from './sandbox/rbm.sandbox.ts';
import { RBM_OAUTH_SCOPE, createServiceAccountTokenProvider, parseGoogleServiceAccount, staticTokenProvider } from './rbm.token.ts';
import type { AccessTokenProvider } from './rbm.token.ts';

const CHANNELS: readonly Channel[] = [];

/**
 * How long the gateway should cache each answer, in seconds (reference §5: "a TTL of hours to a
 * day"). `not_capable` is cached as long as `capable`: a user who turns RCS on later simply gets
 * SMS for a while. `agent_not_launched` is about us, not the number, and `unknown` is an outage,
 * so they are not cached as the number's capability (0): the alarm, not the cache, deals with them.
 */
export const RBM_CAPABILITY_CACHE_TTL_SECONDS: Readonly<Record<RcsCapability['status'], number>> = {
  capable: 12 * 3600,
  not_capable: 12 * 3600,
  agent_not_launched: 0,
  unknown: 0,
};

/** The RBM adapter: a `ProviderAdapter` whose `checkCapability`/`rcsCapable` are always present. */
export interface RbmAdapter extends ProviderAdapter {
  checkCapability(e164: string): Promise<RcsCapability>;
  rcsCapable(e164: string): Promise<boolean>;
}

/** Options for tests: another token provider than the one the mode implies. */
export interface RbmAdapterOptions {
  tokens?: AccessTokenProvider;
}

function tokenProviderFor(config: RbmConfig, deps: ProviderDeps): AccessTokenProvider {
  if (deps.baseUrl !== undefined) return staticTokenProvider(RBM_SANDBOX_ACCESS_TOKEN);
  if (config.serviceAccount === undefined) {
    throw new Error('rbm: live mode needs providers.rbm.serviceAccount (SWITCHBOARD_RBM_SERVICE_ACCOUNT) to mint OAuth tokens');
  }
  const key = parseGoogleServiceAccount(config.serviceAccount);
  if (typeof key === 'string') throw new Error(`rbm: ${key}`);
  return createServiceAccountTokenProvider(key, {
    scope: RBM_OAUTH_SCOPE,
    timeoutMs: deps.timeoutMs,
    ...(config.tokenUrl !== undefined ? { tokenUrl: config.tokenUrl } : {}),
  });
}

/**
 * Builds the RBM adapter. Throws at construction in live mode without a usable service account
 * (so a misconfiguration fails at start, not at the first OTP). `checkCapability` never rejects;
 * each check takes at most `deps.timeoutMs`, token included.
 */
export function createRbmAdapter(config: RbmConfig, deps: ProviderDeps, options: RbmAdapterOptions = {}): RbmAdapter {
  const client = createRbmCapabilityClient({
    baseUrl: deps.baseUrl ?? config.baseUrl,
    agentId: config.agentId,
    tokens: options.tokens ?? tokenProviderFor(config, deps),
    timeoutMs: deps.timeoutMs,
  });

  async function send(req: SendRequest): Promise<SendResult> {
    throw new ProviderError(`rbm: capability checks only; channel ${req.channel} is sent through Sinch or Twilio`, {
      kind: 'permanent',
      scope: 'channel',
      provider: 'rbm',
    });
  }

  return {
    id: 'rbm',
    channels: CHANNELS,
    send,
    checkCapability: (e164) => client.checkCapability(e164),
    rcsCapable: async (e164) => (await client.checkCapability(e164)).capable,
    // RBM posts nothing to Switchboard (the deprecated Pub/Sub capability callbacks are not used).
    verifyWebhook: () => Promise.resolve(false),
    parseWebhook: () => [],
  };
}
