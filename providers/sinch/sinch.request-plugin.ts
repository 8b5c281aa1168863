/**
 * Per-call cancellation for the Sinch SDK.
 *
 * `@sinch/sdk-core` has no timeout or `AbortSignal` option: every call goes through node-fetch
 * with only the options its request plugins produce. Our plugin — installed through the client's
 * public `requestPlugins` parameter — copies the signal of the current call onto those options,
 * so a timeout or a worker shutdown aborts the HTTP request itself. The signal travels through an
 * `AsyncLocalStorage` scope opened by {@link runSinchCall}, so concurrent sends never share one.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { SinchClientParameters } from '@sinch/sdk-core';

/** The SDK's request-plugin contract (not exported by name from the package). */
export type SinchRequestPlugin = NonNullable<SinchClientParameters['requestPlugins']>[number];
type SinchRequestOptions = Parameters<ReturnType<SinchRequestPlugin['load']>['transform']>[0];

/** What one SDK call carries in (see {@link runSinchCall}). */
export interface SinchCallContext {
  /** Aborts the HTTP request when fired. */
  signal?: AbortSignal;
}

const callContext = new AsyncLocalStorage<SinchCallContext>();

/** Runs one SDK call so {@link AbortSignalRequestPlugin} can apply `ctx.signal` to its request. */
export function runSinchCall<T>(ctx: SinchCallContext, fn: () => Promise<T>): Promise<T> {
  return callContext.run(ctx, fn);
}

/** Copies the current call's `AbortSignal` onto node-fetch's options; outside a call scope it does nothing. */
export class AbortSignalRequestPlugin implements SinchRequestPlugin {
  getName(): string {
    return 'SwitchboardAbortSignalRequest';
  }

  load(): ReturnType<SinchRequestPlugin['load']> {
    return {
      transform: (options: SinchRequestOptions): SinchRequestOptions => {
        const signal = callContext.getStore()?.signal;
        // node-fetch reads `signal` from these options; the SDK's typings omit it (node-fetch's own
        // types are a dev-only dependency of the SDK), hence the assign.
        return signal === undefined ? options : Object.assign(options, { signal });
      },
    };
  }
}
