import { SluiceError } from '../errors/sluice-error.js';
import { memoryBackend } from './memory-backend.js';
import type { Budget, BudgetBackend, BudgetRegistry } from './types.js';

/** Options of {@link createBudgetRegistry}. */
export interface BudgetRegistryOptions {
  /** Where budgets are opened. Default {@link memoryBackend}. */
  backend?: BudgetBackend;
}

/**
 * Payload of the registry's `limit-mismatch` event. Limits here are the DECLARED ones (what
 * callers of `get` asked for), not the budget's runtime limit, which `resize` and the adaptive
 * limit move on their own.
 */
export interface LimitMismatch {
  key: string;
  /** The limit this `get` asked for. */
  requested: number;
  /** The strictest limit declared for the key before this `get`. */
  previous: number;
  /** The strictest limit declared for the key after this `get`. */
  limit: number;
}

/** A {@link BudgetRegistry} that also reports limit mismatches and can close its backend. */
export interface LeaseBudgetRegistry extends BudgetRegistry {
  /**
   * `limit-mismatch` fires when `get` declares a limit other than the strictest one declared so
   * far for its key, once per key and declared limit (the budget middleware calls `get` on every
   * request). Returns an unsubscribe function.
   */
  on(event: 'limit-mismatch', listener: (mismatch: LimitMismatch) => void): () => void;
  /** Forgets all budgets and closes the backend (for tests and shutdown). */
  close(): Promise<void>;
}

/**
 * Creates a registry that holds exactly one budget per key, so two routers or clients for the same
 * provider and credential share one budget instead of one each.
 *
 * Limit rule: when a `get` declares a different limit than was declared before for its key, the
 * STRICTER limit wins (0 counts as "no cap", so any positive limit is stricter than 0), and a
 * `limit-mismatch` event is emitted. The budget protects a provider that really serves only so
 * many streams per credential, so two configs disagreeing about it must not push it past either
 * one, and the outcome must not depend on which router was created first. Lowering never revokes
 * held leases. A `get` never raises a limit: a limit lowered at runtime (`budget.resize`, the
 * adaptive limit) stays where it is. To raise a limit on purpose, call `budget.resize(n)`.
 *
 * @throws SluiceError kind `config` from `get` when the key is empty or the limit is not an
 *   integer >= 0.
 */
export function createBudgetRegistry(options: BudgetRegistryOptions = {}): LeaseBudgetRegistry {
  const backend = options.backend ?? memoryBackend();
  const budgets = new Map<string, Budget>();
  // The strictest limit declared per key, and the disagreeing limits already reported.
  const declared = new Map<string, number>();
  const reported = new Map<string, Set<number>>();
  let mismatchListeners: ((mismatch: LimitMismatch) => void)[] = [];

  return {
    backend,

    get(key: string, getOptions: { limit: number }): Budget {
      const limit = getOptions?.limit;
      const existing = budgets.get(key);
      if (existing === undefined) {
        const budget = backend.open(key, { limit });
        budgets.set(key, budget);
        declared.set(key, limit);
        return budget;
      }

      const previous = declared.get(key) ?? existing.limit;
      if (limit !== previous) {
        if (isStricter(key, limit, previous)) {
          declared.set(key, limit);
          if (isStricter(key, limit, existing.limit)) existing.resize(limit);
        }

        const seen = reported.get(key) ?? new Set<number>();
        reported.set(key, seen);
        if (seen.has(limit)) return existing;
        seen.add(limit);
        const mismatch = { key, requested: limit, previous, limit: declared.get(key)! };
        for (const listener of mismatchListeners) {
          // A throwing listener must not turn a valid `get` into a failure; report it like
          // EventTarget does, on a microtask.
          try {
            listener(mismatch);
          } catch (error) {
            queueMicrotask(() => {
              throw error;
            });
          }
        }
      }
      return existing;
    },

    list(): Budget[] {
      return [...budgets.values()];
    },

    on(event, listener) {
      if (event !== 'limit-mismatch') {
        throw new SluiceError({
          kind: 'config',
          message: `A budget registry has no event "${String(event)}"; it has "limit-mismatch".`,
        });
      }
      mismatchListeners = [...mismatchListeners, listener];
      return () => {
        mismatchListeners = mismatchListeners.filter((existing) => existing !== listener);
      };
    },

    async close(): Promise<void> {
      budgets.clear();
      declared.clear();
      reported.clear();
      await backend.close?.();
    },
  };
}

function isStricter(key: string, requested: unknown, current: number): requested is number {
  if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < 0) {
    throw new SluiceError({
      kind: 'config',
      phase: 'config',
      message: `Budget "${key}": limit must be an integer >= 0 (0 = no cap), got ${String(requested)}.`,
      hint: 'Set maxConcurrency to a whole number such as 3, or 0 for no client-side cap.',
    });
  }
  if (requested === 0) return false;
  return current === 0 || requested < current;
}

const GLOBAL_KEY = Symbol.for('@sluice/core/budgets');

/**
 * The process-wide registry every router uses unless given another. It lives on `globalThis`
 * under `Symbol.for('@sluice/core/budgets')`, so duplicate copies of `@sluice/core` in one process
 * (two versions side by side, or the ESM and CJS builds) still share one budget per key.
 */
export function defaultBudgetRegistry(): BudgetRegistry {
  const store = globalThis as unknown as Record<symbol, BudgetRegistry | undefined>;
  let registry = store[GLOBAL_KEY];
  if (registry === undefined) {
    registry = createBudgetRegistry();
    Object.defineProperty(globalThis, GLOBAL_KEY, {
      value: registry,
      writable: false,
      enumerable: false,
      configurable: true,
    });
  }
  return registry;
}
