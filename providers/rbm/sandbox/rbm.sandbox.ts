/**
 * Fixed, documented sandbox values for Google RBM (CONTRACTS §5, DESIGN §8). RBM has no test
 * credentials or emulator of its own, so in sandbox mode the adapter presents a fixed OAuth access
 * token for a fixed agent, and the emulator (`rbm.emulator.ts`) accepts only those. Public on
 * purpose and worthless against the real RBM API.
 */

/** The sandbox's RBM agent (`agentId` query parameter). Any other agent is refused like an unlaunched one (403). */
export const RBM_SANDBOX_AGENT_ID = 'sandbox-rbm-agent';

/** The Bearer token the adapter presents in sandbox mode and the emulator expects. */
export const RBM_SANDBOX_ACCESS_TOKEN = 'sandbox-rbm-access-token';

/** A complete sandbox config for RBM (no service account: the fixed token stands in). */
export const RBM_SANDBOX_CREDENTIALS = {
  agentId: RBM_SANDBOX_AGENT_ID,
} as const;

/**
 * The features the emulator reports for an RCS-capable number: the list Google documents for a
 * typical handset (reference §5).
 */
export const RBM_SANDBOX_FEATURES: readonly string[] = [
  'RICHCARD_STANDALONE',
  'RICHCARD_CAROUSEL',
  'ACTION_CREATE_CALENDAR_EVENT',
  'ACTION_DIAL',
  'ACTION_OPEN_URL',
  'ACTION_SHARE_LOCATION',
  'ACTION_VIEW_LOCATION',
  'ACTION_OPEN_URL_IN_WEBVIEW',
  'ACTION_COMPOSE',
];
