import { describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../errors/sluice-error.js';
import { createBudgetRegistry, defaultBudgetRegistry } from './budget-registry.js';
import { memoryBackend } from './memory-backend.js';
import type { BudgetBackend } from './types.js';

describe('createBudgetRegistry', () => {
  it('gives exactly one budget per key', async () => {
    const registry = createBudgetRegistry();
    const first = registry.get('glm:abc', { limit: 2 });
    const second = registry.get('glm:abc', { limit: 2 });
    const other = registry.get('openai:xyz', { limit: 2 });

    expect(second).toBe(first);
    expect(other).not.toBe(first);
    expect(registry.list()).toEqual([first, other]);

    // Shared counting: a lease through one handle is visible through the other.
    const lease = await first.acquire();
    expect(second.active).toBe(1);
    lease.release();
  });

  it('opens budgets on the memory backend by default', () => {
    const registry = createBudgetRegistry();
    expect(registry.backend.name).toBe('memory');
    expect(registry.get('k', { limit: 1 }).backend).toBe('memory');
  });

  it('opens each key once on a custom backend', () => {
    const opened: string[] = [];
    const inner = memoryBackend();
    const backend: BudgetBackend = {
      name: 'counting',
      open(key, options) {
        opened.push(key);
        return inner.open(key, options);
      },
    };
    const registry = createBudgetRegistry({ backend });
    registry.get('a', { limit: 1 });
    registry.get('a', { limit: 1 });
    registry.get('b', { limit: 1 });
    expect(opened).toEqual(['a', 'b']);
  });

  it('a stricter limit on a later get lowers the budget and reports a limit-mismatch', () => {
    const registry = createBudgetRegistry();
    const mismatches: unknown[] = [];
    registry.on('limit-mismatch', (mismatch) => mismatches.push(mismatch));
    const budget = registry.get('glm', { limit: 5 });
    const again = registry.get('glm', { limit: 3 });

    expect(again).toBe(budget);
    expect(budget.limit).toBe(3);
    expect(mismatches).toEqual([{ key: 'glm', requested: 3, previous: 5, limit: 3 }]);
  });

  it('a looser limit on a later get keeps the stricter one and still reports it', () => {
    const registry = createBudgetRegistry();
    const mismatches: unknown[] = [];
    registry.on('limit-mismatch', (mismatch) => mismatches.push(mismatch));
    registry.get('glm', { limit: 3 });
    const budget = registry.get('glm', { limit: 10 });
    registry.get('glm', { limit: 0 });

    expect(budget.limit).toBe(3);
    expect(mismatches).toEqual([
      { key: 'glm', requested: 10, previous: 3, limit: 3 },
      { key: 'glm', requested: 0, previous: 3, limit: 3 },
    ]);
  });

  it('reports a disagreeing limit once, however often it is asked for', () => {
    const registry = createBudgetRegistry();
    const mismatches: unknown[] = [];
    registry.on('limit-mismatch', (mismatch) => mismatches.push(mismatch));
    registry.get('glm', { limit: 3 });
    for (let request = 0; request < 100; request++) registry.get('glm', { limit: 5 });
    expect(mismatches).toEqual([{ key: 'glm', requested: 5, previous: 3, limit: 3 }]);
  });

  it('a runtime resize is not a mismatch, and a get never raises a lowered limit', () => {
    const registry = createBudgetRegistry();
    const mismatches: unknown[] = [];
    registry.on('limit-mismatch', (mismatch) => mismatches.push(mismatch));
    const budget = registry.get('glm', { limit: 3 });
    budget.resize(1); // e.g. the adaptive limit after rate-limit signals
    expect(registry.get('glm', { limit: 3 }).limit).toBe(1);
    expect(mismatches).toEqual([]);

    // A stricter declaration still counts, without raising the runtime limit.
    registry.get('glm', { limit: 2 });
    expect(budget.limit).toBe(1);
    expect(mismatches).toEqual([{ key: 'glm', requested: 2, previous: 3, limit: 2 }]);
  });

  it('any positive limit is stricter than 0 (no cap)', () => {
    const registry = createBudgetRegistry();
    registry.get('k', { limit: 0 });
    expect(registry.get('k', { limit: 4 }).limit).toBe(4);
  });

  it('the order of gets does not change the outcome', () => {
    const one = createBudgetRegistry();
    one.get('k', { limit: 2 });
    const two = createBudgetRegistry();
    two.get('k', { limit: 7 });
    expect(one.get('k', { limit: 7 }).limit).toBe(two.get('k', { limit: 2 }).limit);
  });

  it('rejects a bad limit on first and later gets with a config error naming the key', () => {
    const registry = createBudgetRegistry();
    expect(() => registry.get('glm', { limit: -1 })).toThrow(/"glm".*-1/);
    registry.get('glm', { limit: 2 });
    let caught: unknown;
    try {
      registry.get('glm', { limit: 2.5 });
    } catch (error) {
      caught = error;
    }
    expect(SluiceError.isInstance(caught) && caught.kind).toBe('config');
    expect(registry.get('glm', { limit: 2 }).limit).toBe(2);
  });

  it('close forgets budgets and closes the backend', async () => {
    let closed = 0;
    const inner = memoryBackend();
    const registry = createBudgetRegistry({
      backend: { name: 'x', open: inner.open, close: async () => void closed++ },
    });
    registry.get('k', { limit: 1 });
    await registry.close();
    expect(registry.list()).toEqual([]);
    expect(closed).toBe(1);
  });
});

describe('defaultBudgetRegistry', () => {
  it('is one registry per process, stored under a global symbol shared by package copies', () => {
    const registry = defaultBudgetRegistry();
    expect(defaultBudgetRegistry()).toBe(registry);
    const stored = (globalThis as Record<symbol, unknown>)[Symbol.for('@sluice/core/budgets')];
    expect(stored).toBe(registry);
  });

  it('a second copy of the package finds the first copy registry', async () => {
    const registry = defaultBudgetRegistry();
    const budget = registry.get('shared-by-copies', { limit: 1 });
    // A fresh module instance stands in for a duplicate install of @sluice/core.
    vi.resetModules();
    const copy = await import('./budget-registry.js');
    expect(copy.defaultBudgetRegistry).not.toBe(defaultBudgetRegistry);
    expect(copy.defaultBudgetRegistry().get('shared-by-copies', { limit: 1 })).toBe(budget);
  });
});

describe('createBudgetRegistry: declarations that end', () => {
  it('the strictest live declaration holds; when it ends, the next strictest does', () => {
    const registry = createBudgetRegistry();
    const strict = registry.declare('k', 1);
    const loose = registry.declare('k', 3);
    const budget = registry.get('k', { limit: 3 });
    expect(budget.limit).toBe(1);

    strict();
    expect(budget.limit).toBe(3);
    expect(registry.get('k', { limit: 3 })).toBe(budget);

    // The last one gone, a new declaration stands alone, looser or stricter.
    loose();
    registry.declare('k', 5);
    expect(budget.limit).toBe(5);
  });

  it('a limit moved at runtime is not raised when a declaration ends', () => {
    const registry = createBudgetRegistry();
    const strict = registry.declare('k', 1);
    registry.declare('k', 4);
    const budget = registry.get('k', { limit: 4 });
    budget.resize(2);

    strict();
    expect(budget.limit).toBe(2);
  });

  it('a limit given to get() outside any declaration lasts for the registry', () => {
    const registry = createBudgetRegistry();
    registry.get('k', { limit: 2 });
    const loose = registry.declare('k', 3);
    const strict = registry.declare('k', 1);
    const budget = registry.get('k', { limit: 3 });
    expect(budget.limit).toBe(1);

    strict();
    expect(budget.limit).toBe(2);
    loose();
    expect(budget.limit).toBe(2);
  });

  it('withdrawing twice, or a declaration of a key never opened, changes nothing', () => {
    const registry = createBudgetRegistry();
    const never = registry.declare('unused', 2);
    never();
    never();
    expect(registry.list()).toHaveLength(1);
    expect(() => registry.declare('k', -1)).toThrow(/limit must be an integer >= 0/);
  });
});
