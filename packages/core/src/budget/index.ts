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
export {
  PROBE_SLOWDOWN,
  adaptiveLimitFor,
  adaptiveLimitOf,
  createAdaptiveLimit,
  type AdaptiveLimit,
  type AdaptiveLimitOptions,
  type AdaptiveLimitSettings,
  type AdaptiveTicket,
  type LimitChange,
  type LossSignal,
} from './adaptive-limit.js';
export { BudgetEvents } from './budget-events.js';
export {
  checkAcquireOptions,
  checkBudgetKey,
  checkCooldownUntil,
  checkLimit,
  rejectionBeforeQueue,
} from './lease-budget.js';
