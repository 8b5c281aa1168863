/**
 * Fixed, documented sandbox values for FCM (CONTRACTS §5, DESIGN §8). FCM has no test
 * credentials of its own and no official emulator (reference §0, §4.3), so in sandbox mode the
 * adapter presents a fixed OAuth access token for a fixed Firebase project, and the emulator
 * accepts only those. They are public on purpose and worthless against the real FCM API.
 */

/**
 * The sandbox's Firebase project. The `demo-` prefix is Firebase's own convention for projects
 * that exist only in emulators (https://firebase.google.com/docs/emulator-suite/connect_and_prototype#choose_a_firebase_project).
 */
export const FCM_SANDBOX_PROJECT_ID = 'demo-project';

/** The OAuth access token the sandbox credential hands firebase-admin and the emulator expects as `Bearer`. */
export const FCM_SANDBOX_ACCESS_TOKEN = 'sandbox-fcm-access-token';

/**
 * A complete sandbox config for FCM (no service account: the adapter then uses the fixed
 * credential above when it is given a sandbox base URL).
 */
export const FCM_SANDBOX_CREDENTIALS = {
  projectId: FCM_SANDBOX_PROJECT_ID,
} as const;
