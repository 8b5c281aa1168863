/**
 * RBM's capability-check wire format as `reference/providers.md` §5 documents it: checked by the
 * adapter tests and `test/contract` against what the client really sends and what the emulator
 * really answers, so client and emulator cannot agree on a wrong format between themselves.
 */
import type { RcsCapabilityStatus } from '../../provider.ts';
import { RBM_SANDBOX_ACCESS_TOKEN, RBM_SANDBOX_AGENT_ID } from './rbm.sandbox.ts';

/** The documented request and answers of one capability check. */
export interface RbmWireGolden {
  provider: 'rbm';
  source: string;
  request: {
    method: 'GET';
    /** The path for a number, `+` kept literal. */
    path: (e164: string) => string;
    /** Query parameters, exactly these. */
    queryKeys: readonly string[];
    agentId: string;
    requestIdPattern: RegExp;
    authorization: string;
  };
  /** The 200 body of the reference, verbatim. */
  capableBody: { features: readonly string[] };
  /** The 404 body of the reference, verbatim. */
  notFoundBody: { error: { code: number; message: string; status: string } };
  /** HTTP status → capability status (the reference's recommended mapping). */
  mapping: readonly { httpStatus: number; status: RcsCapabilityStatus }[];
}

/** RBM's documented capability check (with the sandbox's agent and token). */
export const rbmGolden: RbmWireGolden = {
  provider: 'rbm',
  source: 'reference/providers.md §5',
  request: {
    method: 'GET',
    path: (e164) => `/v1/phones/${e164}/capabilities`,
    queryKeys: ['requestId', 'agentId'],
    agentId: RBM_SANDBOX_AGENT_ID,
    requestIdPattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    authorization: `Bearer ${RBM_SANDBOX_ACCESS_TOKEN}`,
  },
  capableBody: {
    features: [
      'RICHCARD_STANDALONE',
      'RICHCARD_CAROUSEL',
      'ACTION_CREATE_CALENDAR_EVENT',
      'ACTION_DIAL',
      'ACTION_OPEN_URL',
      'ACTION_SHARE_LOCATION',
      'ACTION_VIEW_LOCATION',
      'ACTION_OPEN_URL_IN_WEBVIEW',
      'ACTION_COMPOSE',
    ],
  },
  notFoundBody: { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' } },
  mapping: [
    { httpStatus: 200, status: 'capable' },
    { httpStatus: 404, status: 'not_capable' },
    { httpStatus: 403, status: 'agent_not_launched' },
    { httpStatus: 429, status: 'unknown' },
    { httpStatus: 500, status: 'unknown' },
    { httpStatus: 503, status: 'unknown' },
  ],
};
