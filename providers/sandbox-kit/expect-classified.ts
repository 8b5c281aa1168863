/**
 * The one assertion every carrier's error-classification table uses: the error is a branded
 * `ProviderError` of this provider, with the expected kind, scope, code and retry hints.
 */
import { expect } from 'vitest';
import { isProviderError, type ProviderError, type ProviderErrorKind, type ProviderErrorScope } from '../errors.ts';
import type { ProviderId } from '../provider.ts';

export interface ExpectedClassification {
  kind: ProviderErrorKind;
  scope?: ProviderErrorScope;
  providerCode?: string;
  httpStatus?: number;
  ambiguous?: boolean;
  retryAfterMs?: number;
}

export function expectClassified(provider: ProviderId, err: ProviderError, expected: ExpectedClassification): void {
  expect(isProviderError(err)).toBe(true);
  expect(err.provider).toBe(provider);
  expect(err.kind).toBe(expected.kind);
  if (expected.scope !== undefined) expect(err.scope).toBe(expected.scope);
  if (expected.providerCode !== undefined) expect(err.providerCode).toBe(expected.providerCode);
  if (expected.httpStatus !== undefined) expect(err.httpStatus).toBe(expected.httpStatus);
  expect(err.ambiguous).toBe(expected.ambiguous ?? false);
  expect(err.retryAfterMs).toBe(expected.retryAfterMs);
}
