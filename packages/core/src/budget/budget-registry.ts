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
  /** See {@link BudgetRegistry.declare}; always present here. */
  declare(key: string, limit: number): () => void;
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
 * Declarations that end: `declare(key, limit)` counts like a `get` until its withdrawal is called
 * (a router declares its limits when made and withdraws them when closed). When the strictest
 * declaration ends, the strictest of the rest (and of limits given to `get` outside any
 * declaration, which last) holds, raised only from the limit the ended one had set. When the last
 * ends, the next declaration stands alone.
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
  // Declarations that end (`declare`, one per router and key), and the strictest limit that `get`
  // was given outside them, which lasts for the registry's life.
  // Per key: each live declared limit and how many declarations hold it.
  const live = new Map<string, Map<number, number>>();
  const lasting = new Map<string, number>();
  // Keys whose last declaration ended, with the limit it had left the budget at.
  const orphaned = new Map<string, number>();
  let mismatchListeners: ((mismatch: LimitMismatch) => void)[] = [];

  const apply = (key: string, limit: number): Budget => {
    const existing = budgets.get(key);
    if (existing === undefined) {
      const budget = backend.open(key, { limit });
      budgets.set(key, budget);
      declared.set(key, limit);
      return budget;
    }

    const left = orphaned.get(key);
    if (left !== undefined && !declared.has(key)) {
      // Nobody declares this key any more: the new declaration stands alone, unless the limit
      // was moved at runtime since (resize, the adaptive limit), which is kept.
      orphaned.delete(key);
      isStricter(key, limit, 0); // validates the limit
      declared.set(key, limit);
      if (existing.limit === left && limit !== left) existing.resize(limit);
      return existing;
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
  };

  /** A declaration ended: the strictest of the others is the key's limit now. */
  const withdraw = (key: string, limit: number): void => {
    const declarations = live.get(key)!;
    const holders = declarations.get(limit)! - 1;
    if (holders > 0) declarations.set(limit, holders);
    else declarations.delete(limit);
    if (declarations.size === 0) live.delete(key);
    const before = declared.get(key);
    const budget = budgets.get(key);
    if (before === undefined || budget === undefined) return;
    let after = lasting.get(key);
    for (const other of declarations.keys()) {
      after = after === undefined || isStricter(key, other, after) ? other : after;
    }
    if (after === undefined) {
      declared.delete(key);
      reported.delete(key);
      orphaned.set(key, budget.limit);
      return;
    }
    if (after === before || !isStricter(key, before, after)) return;
    declared.set(key, after);
    reported.delete(key);
    // Raised only from the limit the ended declaration had set, never from one moved at runtime.
    if (budget.limit === before) budget.resize(after);
  };

  return {
    backend,

    get(key: string, getOptions: { limit: number }): Budget {
      const limit = getOptions?.limit;
      // A limit some live declaration holds is already counted: the budget middleware's call on
      // every request lands here.
      if (live.get(key)?.has(limit)) return budgets.get(key)!;
      const budget = apply(key, limit);
      const kept = lasting.get(key);
      if (kept === undefined || isStricter(key, limit, kept)) lasting.set(key, limit);
      return budget;
    },

    declare(key: string, limit: number): () => void {
      apply(key, limit);
      let declarations = live.get(key);
      if (declarations === undefined) {
        declarations = new Map();
        live.set(key, declarations);
      }
      declarations.set(limit, (declarations.get(limit) ?? 0) + 1);
      let withdrawn = false;
      return () => {
        if (withdrawn) return;
        withdrawn = true;
        withdraw(key, limit);
      };
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
      live.clear();
      lasting.clear();
      orphaned.clear();
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
