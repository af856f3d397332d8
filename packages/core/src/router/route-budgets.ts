import { createBudgetRegistry } from '../budget/budget-registry.js';
import type { Budget, BudgetBackend, BudgetRegistry } from '../budget/types.js';
import { ConfigError, type ConfigIssue } from '../config/config-error.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import type { ResolvedBudget } from '../config/resolved-route.js';

/**
 * A budget backend for `RouterOptions.budgetBackends`: the backend itself, or a function that
 * makes one from a route's resolved budget settings (its `url`), called once per provider
 * instance. A function should return the same backend object for the same url, so instances on
 * one Redis share one connection.
 */
export type BudgetBackendProvider = BudgetBackend | ((budget: ResolvedBudget) => BudgetBackend);

// One registry per backend object, for the life of the backend: two routers handed the same
// backend share one budget object per key, with one local queue, as they do in memory.
const registries = new WeakMap<BudgetBackend, BudgetRegistry>();

/**
 * The registry a router reads budgets from: `fallback` for routes whose budget backend is
 * `memory`, and for other backends (`redis`) a registry over `providers[backend]`, picked by
 * budget key. `list()` returns the budgets of all of them.
 *
 * Returns `fallback` itself when every route is on `memory`.
 *
 * @throws ConfigError naming each provider instance (and its routes) whose backend is not in
 *   `providers`, with the import that provides it.
 */
export function routeBudgetRegistry(
  config: ResolvedConfig,
  fallback: BudgetRegistry,
  providers: Record<string, BudgetBackendProvider> | undefined,
): BudgetRegistry {
  const byKey = new Map<string, BudgetRegistry>();
  const issues: ConfigIssue[] = [];

  for (const [name, instance] of config.instances) {
    const budget = instance.budget;
    if (budget === undefined || budget.backend === 'memory') continue;

    const routes = [...config.routes.values()].filter((route) => route.instance === name);
    const provider = providers?.[budget.backend];
    if (provider === undefined) {
      issues.push(
        missingBackend(
          name,
          budget.backend,
          routes.map((route) => route.name),
        ),
      );
      continue;
    }

    const backend = typeof provider === 'function' ? provider(budget) : provider;
    let registry = registries.get(backend);
    if (registry === undefined) {
      registry = createBudgetRegistry({ backend });
      registries.set(backend, registry);
    }
    byKey.set(instance.budgetKey, registry);
    for (const route of routes) byKey.set(route.budgetKey, registry);
  }

  if (issues.length > 0) throw new ConfigError({ issues, subject: 'router options' });
  if (byKey.size === 0) return fallback;

  const all = [fallback, ...new Set(byKey.values())];
  return {
    get backend(): BudgetBackend {
      return fallback.backend;
    },
    get(key: string, options: { limit: number }): Budget {
      return (byKey.get(key) ?? fallback).get(key, options);
    },
    // In-process budgets only: declaring opens the budget, and a budget on Redis is opened (and
    // connected) at its first request, not when the router is made.
    declare(key: string, limit: number): () => void {
      if (byKey.has(key)) return () => {};
      return fallback.declare?.(key, limit) ?? (() => {});
    },
    list(): Budget[] {
      return all.flatMap((registry) => registry.list());
    },
  };
}

function missingBackend(instance: string, backend: string, routes: string[]): ConfigIssue {
  const used = routes.length > 0 ? ` (routes ${routes.map((r) => `"${r}"`).join(', ')})` : '';
  const fix =
    backend === 'redis'
      ? "import { redisBackends } from '@sluice/fleet-adapter/redis' and pass createRouter({ config, budgetBackends: redisBackends() }), or pass budgetBackends: { redis: redisBudgetBackend({ url }) }"
      : `pass createRouter({ config, budgetBackends: { ${JSON.stringify(backend)}: yourBackend } })`;
  return {
    path: `providers.${instance}.budget.backend`,
    message: `puts the budget of provider instance "${instance}"${used} on "${backend}", but createRouter was given no budgetBackends.${backend}`,
    value: JSON.stringify(backend),
    fix,
  };
}
