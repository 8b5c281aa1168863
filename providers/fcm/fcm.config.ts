/**
 * FCM's configuration. The schema is the single place where this provider's config is
 * validated; the gateway's config loader hands the `providers.fcm` section to it.
 */
import { z } from 'zod';
import { FCM_SANDBOX_PROJECT_ID } from './sandbox/fcm.sandbox.ts';

/**
 * Google Cloud project ids: 6–30 characters, lower-case letters, digits and hyphens, starting
 * with a letter and not ending with a hyphen (https://cloud.google.com/resource-manager/docs/creating-managing-projects).
 */
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** The fields of a service-account key file that firebase-admin's `cert()` needs. */
interface ServiceAccountKey {
  project_id: string;
  client_email: string;
  private_key: string;
}

/** Parses a service-account key (the JSON file downloaded from the Firebase console), or says why it is not one. */
export function parseServiceAccount(json: string): ServiceAccountKey | string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return 'serviceAccount must be the JSON of a service-account key file';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'serviceAccount must be a JSON object';
  const record = value as Record<string, unknown>;
  for (const key of ['project_id', 'client_email', 'private_key'] as const) {
    if (typeof record[key] !== 'string' || record[key] === '') return `serviceAccount has no "${key}"`;
  }
  return record as unknown as ServiceAccountKey;
}

/**
 * - `serviceAccount`: the service-account key JSON, as a string (env
 *   `SWITCHBOARD_FCM_SERVICE_ACCOUNT`, CONTRACTS §5). Required in live mode — the adapter refuses
 *   to be built without it — and unused in sandbox mode, where a fixed credential stands in.
 *   Checked here (JSON with `project_id`, `client_email`, `private_key`) so a truncated secret
 *   fails at config load, not at the first OTP.
 * - `projectId`: the Firebase project messages are sent through. Defaults to the key's
 *   `project_id`, else to the sandbox project `demo-project`.
 */
export const fcmConfigSchema = z
  .object({
    projectId: z
      .string()
      .regex(PROJECT_ID, { message: 'a Google Cloud project id (6–30 of a-z 0-9 -, starting with a letter)' })
      .optional(),
    serviceAccount: z
      .string()
      .min(1)
      .superRefine((json, ctx) => {
        const parsed = parseServiceAccount(json);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      })
      .optional(),
  })
  .transform(({ projectId, serviceAccount }) => {
    const key = serviceAccount === undefined ? undefined : parseServiceAccount(serviceAccount);
    const keyProject = key !== undefined && typeof key !== 'string' ? key.project_id : undefined;
    const config: { projectId: string; serviceAccount?: string } = { projectId: projectId ?? keyProject ?? FCM_SANDBOX_PROJECT_ID };
    if (serviceAccount !== undefined) config.serviceAccount = serviceAccount;
    return config;
  });

/** Validated FCM configuration (defaults applied). */
export type FcmConfig = z.output<typeof fcmConfigSchema>;
