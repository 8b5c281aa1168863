/**
 * The gateway's roles (main.ts `ROLES`), listed apart so the CLI can tell a role from an ops
 * command without loading the gateway; a test keeps the two lists equal.
 */
export const ROLE_NAMES = ['api', 'worker', 'sandbox', 'all'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
