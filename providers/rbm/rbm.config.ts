/**
 * Google RBM's configuration (capability checks only, reference §5). The schema is the single
 * place where this provider's config is validated; the gateway's config loader hands the
 * `providers.rbm` section to it.
 */
import { z } from 'zod';
import { parseGoogleServiceAccount } from './rbm.token.ts';

/** RBM's global host. Regional ones exist (`us-`, `europe-`, `asia-rcsbusinessmessaging.googleapis.com`). */
export const RBM_DEFAULT_BASE_URL = 'https://rcsbusinessmessaging.googleapis.com';

/**
 * - `agentId`: the RBM agent asking (RBM requires it on every capability check; an agent that is
 *   not launched gets 403 or 404 for non-testers, reference §5). Env `SWITCHBOARD_RBM_AGENT_ID`.
 * - `serviceAccount`: the service-account key JSON, as a string (env
 *   `SWITCHBOARD_RBM_SERVICE_ACCOUNT`). Required in live mode — the adapter refuses to be built
 *   without it — and unused in sandbox mode, where a fixed token stands in. Checked here so a
 *   truncated secret fails at config load, not at the first capability check.
 * - `baseUrl`: RBM's host (pick a regional one to keep traffic in-region); replaced by the sandbox
 *   URL in sandbox mode.
 * - `tokenUrl`: the OAuth token endpoint; the key's `token_uri`, else `https://oauth2.googleapis.com/token`.
 */
export const rbmConfigSchema = z.object({
  agentId: z.string().min(1),
  serviceAccount: z
    .string()
    .min(1)
    .superRefine((json, ctx) => {
      const parsed = parseGoogleServiceAccount(json);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
    })
    .optional(),
  baseUrl: z.url({ protocol: /^https?$/ }).default(RBM_DEFAULT_BASE_URL),
  tokenUrl: z.url({ protocol: /^https?$/ }).optional(),
});

/** Validated RBM configuration (defaults applied). */
export type RbmConfig = z.output<typeof rbmConfigSchema>;
