import { createBudgetRegistry } from '@sluice/core';
// Built as an import of the package's main entry (see tsup.config.ts), so the scheme lands in
// the same table attachBudget() reads.
import { registerBudgetScheme, type AttachedBudget } from '../attach/attach-budget.js';

import { redisBudgetBackend, type RedisBudgetBackendOptions } from './redis-budget-backend.js';

/** Backend options for {@link attachRedisBudget}; the URL comes separately. */
export type RedisAttachOptions = Omit<RedisBudgetBackendOptions, 'url' | 'client'>;

/**
 * An {@link AttachedBudget} on Redis, for a worker or process that was told
 * `SLUICE_BUDGET=redis://host:6379?leaseTtlMs=5000`: every budget key maps to the one budget of
 * that key shared through that Redis. `url` is shown without its password; `ready()` resolves
 * once connected and rejects with `budget-unavailable` when Redis cannot be reached;
 * `cancelSignal` never aborts (Redis carries no session cancels).
 *
 * @throws SluiceError kind `config` when the URL or an option is not accepted.
 */
export function attachRedisBudget(url: string, options: RedisAttachOptions = {}): AttachedBudget {
  const backend = redisBudgetBackend({ ...options, url });
  const registry = createBudgetRegistry({ backend });
  const never = new AbortController().signal;
  return {
    url: backend.url,
    backend,
    get: (key, getOptions) => registry.get(key, getOptions),
    list: () => registry.list(),
    cancelSignal: never,
    // No parent session to report telemetry to: the router's own subscribers see everything.
    forwardEvents: () => () => undefined,
    ready: () => backend.ready(),
    close: () => registry.close(),
  };
}

/**
 * Teaches `attachBudget()` the `redis://` and `rediss://` schemes, so a process started with
 * `SLUICE_BUDGET=redis://...` gets its budgets from that Redis. Importing
 * `@sluice/fleet-adapter/redis` already does this; call it again to change the defaults (query
 * parameters of the URL still win over them).
 *
 * @example
 * ```ts
 * import { attachBudget } from '@sluice/fleet-adapter';
 * import '@sluice/fleet-adapter/redis';
 * const router = createRouter({ config, budgets: attachBudget() }); // SLUICE_BUDGET=redis://...
 * ```
 */
export function registerRedisBudgetScheme(defaults: RedisAttachOptions = {}): void {
  const handler = (url: string) => attachRedisBudget(url, defaults);
  registerBudgetScheme('redis', handler);
  registerBudgetScheme('rediss', handler);
}
