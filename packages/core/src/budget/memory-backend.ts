import { createLeaseBudget } from './lease-budget.js';
import type { Budget, BudgetBackend } from './types.js';

/**
 * The in-process budget backend (name `memory`): each `open` creates a
 * {@link createLeaseBudget lease budget}. This is the default backend of
 * {@link createBudgetRegistry}; worker, child-process, socket and Redis backends implement the same
 * {@link BudgetBackend} interface and plug in without changing callers.
 *
 * `open` does not deduplicate: one budget per key is the registry's job.
 *
 * @throws SluiceError kind `config` from `open` when the limit is not an integer >= 0.
 */
export function memoryBackend(): BudgetBackend {
  return {
    name: 'memory',
    open(key: string, options: { limit: number }): Budget {
      return createLeaseBudget({ key, limit: options.limit });
    },
  };
}
