import { describe, expect, test } from 'vitest';
import { SluiceError } from '../errors/sluice-error.js';
import { createLeaseBudget } from './lease-budget.js';

/** Queues `count` acquires per session behind one held lease and records the grant order. */
async function grantOrder(sessions: Array<{ id: string; share?: number; count: number }>) {
  const budget = createLeaseBudget({ key: 'weighted', limit: 1 });
  const holder = await budget.acquire();
  const order: string[] = [];
  const done: Promise<void>[] = [];
  for (const { id, share, count } of sessions) {
    for (let i = 0; i < count; i += 1) {
      done.push(
        budget.acquire({ session: id, ...(share === undefined ? {} : { share }) }).then((lease) => {
          order.push(id);
          // Release on a later turn so the next grant is decided by the queue, one at a time.
          setTimeout(() => lease.release(), 0);
        }),
      );
    }
  }
  holder.release();
  await Promise.all(done);
  return order;
}

describe('session shares in the fair queue', () => {
  test('share 2 gets two grants per round where share 1 gets one', async () => {
    const order = await grantOrder([
      { id: 'a', share: 2, count: 6 },
      { id: 'b', count: 3 },
    ]);

    expect(order).toEqual(['a', 'a', 'b', 'a', 'a', 'b', 'a', 'a', 'b']);
  });

  test('share 0.5 gets one grant every other round', async () => {
    const order = await grantOrder([
      { id: 'a', count: 4 },
      { id: 'slow', share: 0.5, count: 2 },
    ]);

    expect(order).toEqual(['a', 'a', 'slow', 'a', 'a', 'slow']);
  });

  test('equal shares are plain round-robin, whatever the backlog', async () => {
    const order = await grantOrder([
      { id: 'greedy', count: 5 },
      { id: 'x', count: 2 },
      { id: 'y', count: 2 },
    ]);

    expect(order).toEqual(['greedy', 'x', 'y', 'greedy', 'x', 'y', 'greedy', 'greedy', 'greedy']);
  });

  test.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '2'])(
    'share %s is refused with the field named',
    async (share) => {
      const budget = createLeaseBudget({ key: 'weighted', limit: 1 });

      const error = await budget.acquire({ share: share as number }).catch((e: unknown) => e);

      expect(SluiceError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/acquire option share must be a finite number > 0/);
      expect(budget.active).toBe(0);
    },
  );
});
