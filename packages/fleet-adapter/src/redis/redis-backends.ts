import type { ResolvedBudget } from '@sluice/core';

import {
  redisBudgetBackend,
  type RedisBudgetBackend,
  type RedisBudgetBackendOptions,
} from './redis-budget-backend.js';

/** The `redis` entry of {@link redisBackends}: makes (once per URL) and closes backends. */
export interface RedisBackendFactory {
  (budget: ResolvedBudget): RedisBudgetBackend;
  /** The backends made so far, one per URL. */
  backends(): RedisBudgetBackend[];
  /** Closes every backend made so far. */
  closeAll(): Promise<void>;
}

/**
 * Ready-made `budgetBackends` for `createRouter`: routes whose config says
 * `budget: { backend: 'redis', url }` get a {@link redisBudgetBackend} for that URL, one per URL
 * (instances on the same Redis share one connection). `options` apply to all of them; query
 * parameters of a URL win.
 *
 * @example
 * ```ts
 * const budgetBackends = redisBackends({ leaseTtlMs: 5_000 });
 * const router = createRouter({ config, budgetBackends });
 * // at shutdown
 * await router.close();
 * await budgetBackends.redis.closeAll();
 * ```
 */
export function redisBackends(options: Omit<RedisBudgetBackendOptions, 'url' | 'client'> = {}): {
  redis: RedisBackendFactory;
} {
  const byUrl = new Map<string, RedisBudgetBackend>();
  const factory = ((budget: ResolvedBudget) => {
    // The config schema requires a url for redis; a hand-built route may lack it.
    const url = budget.url ?? '';
    let backend = byUrl.get(url);
    if (backend === undefined) {
      backend = redisBudgetBackend({ ...options, url });
      byUrl.set(url, backend);
    }
    return backend;
  }) as RedisBackendFactory;
  factory.backends = () => [...byUrl.values()];
  factory.closeAll = async () => {
    const all = [...byUrl.values()];
    byUrl.clear();
    await Promise.all(all.map((backend) => backend.close()));
  };
  return { redis: factory };
}
