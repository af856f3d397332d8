// Public exports of the budget area.
export { createLeaseBudget, type LeaseBudgetOptions } from './lease-budget.js';
export { memoryBackend } from './memory-backend.js';
export {
  createBudgetRegistry,
  defaultBudgetRegistry,
  type BudgetRegistryOptions,
  type LeaseBudgetRegistry,
  type LimitMismatch,
} from './budget-registry.js';
