import type { RequestContext } from '../pipeline/types.js';

const ATTEMPTS = Symbol('sluice.attempts');
const WAITED_MS = Symbol('sluice.waitedMs');

/** Counts one more attempt of the request, across retries and fallbacks. */
export function countAttempt(context: RequestContext): void {
  context.state.set(ATTEMPTS, attemptsOf(context) + 1);
}

/** Attempts sent so far (0 before the first). */
export function attemptsOf(context: RequestContext): number {
  return (context.state.get(ATTEMPTS) as number | undefined) ?? 0;
}

/** Adds a lease wait to the request's total queue time. */
export function addWaitedMs(context: RequestContext, waitedMs: number): void {
  context.state.set(WAITED_MS, waitedOf(context) + waitedMs);
}

/** Total ms the request's attempts waited for leases. */
export function waitedOf(context: RequestContext): number {
  return (context.state.get(WAITED_MS) as number | undefined) ?? 0;
}
