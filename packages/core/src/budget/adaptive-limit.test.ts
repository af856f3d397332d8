import { describe, expect, it } from 'vitest';
import {
  PROBE_SLOWDOWN,
  adaptiveLimitFor,
  adaptiveLimitOf,
  createAdaptiveLimit,
} from './adaptive-limit.js';
import { createLeaseBudget } from './lease-budget.js';
import type { Budget, Lease } from './types.js';

const rateLimit = { reason: '1302 rate limit from glm' };

/** Fills the budget so that tickets taken now are saturated, and returns the leases. */
async function fill(budget: Budget): Promise<Lease[]> {
  const leases: Lease[] = [];
  while (budget.active < budget.limit) leases.push(await budget.acquire());
  return leases;
}

/** Runs `count` clean streams at the current limit, each sent while the budget is full. */
async function cleanStreams(
  budget: Budget,
  limit: ReturnType<typeof createAdaptiveLimit>,
  count: number,
) {
  for (let i = 0; i < count; i += 1) {
    const leases = await fill(budget);
    const ticket = limit.begin();
    limit.success(ticket);
    for (const lease of leases) lease.release();
  }
}

describe('createAdaptiveLimit', () => {
  it('grows by one after `limit` clean streams sent at the current limit', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 2 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 5 });

    await cleanStreams(budget, limit, 1);
    expect(budget.limit).toBe(2);
    await cleanStreams(budget, limit, 1);
    expect(budget.limit).toBe(3);
    expect(limit.lastReason).toBe('2 clean streams at limit 2');

    // At 3 it takes three more.
    await cleanStreams(budget, limit, 2);
    expect(budget.limit).toBe(3);
    await cleanStreams(budget, limit, 1);
    expect(budget.limit).toBe(4);
  });

  it('honours increaseAfter instead of the current limit', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 4 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 10, increaseAfter: 1 });
    await cleanStreams(budget, limit, 3);
    expect(budget.limit).toBe(7);
    expect(limit.history().map((change) => change.limit)).toEqual([5, 6, 7]);
  });

  it('does not grow on clean streams sent while the budget had room', () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 3 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 10, increaseAfter: 1 });
    for (let i = 0; i < 20; i += 1) limit.success(limit.begin());
    expect(budget.limit).toBe(3);
  });

  it('does not count clean streams that were sent at an earlier limit', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 2 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 10 });
    const leases = await fill(budget);
    const early = [limit.begin(), limit.begin()];
    for (const ticket of early) limit.headers(ticket);
    for (const lease of leases) lease.release();
    await cleanStreams(budget, limit, 2);
    expect(budget.limit).toBe(3);

    // Both were sent at limit 2; they say nothing about limit 3.
    for (const ticket of early) limit.success(ticket);
    await cleanStreams(budget, limit, 2);
    expect(budget.limit).toBe(3);
    await cleanStreams(budget, limit, 1);
    expect(budget.limit).toBe(4);
  });

  it('waits to grow while a request sent earlier still has no headers (a likely stall)', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 3 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 10, increaseAfter: 2 });
    const leases = await fill(budget);
    const stalled = limit.begin();
    for (const lease of leases) lease.release();

    // Clean streams sent after the stalled one finish first: no growth while it is unanswered.
    await cleanStreams(budget, limit, 4);
    expect(budget.limit).toBe(3);

    // Its headers come after all (a slow answer, not a stall): the next clean stream grows.
    limit.headers(stalled);
    await cleanStreams(budget, limit, 1);
    expect(budget.limit).toBe(4);
  });

  it('a stall that ends in its headers timeout decreases; the streams that outran it never grew the limit', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 4 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 10, increaseAfter: 1 });
    const leases = await fill(budget);
    const stalled = limit.begin();
    for (const lease of leases) lease.release();
    await cleanStreams(budget, limit, 3);
    expect(limit.loss(stalled, { reason: 'headers timeout from glm' })).toMatchObject({
      previous: 4,
      limit: 2,
    });
    expect(limit.history().map((change) => change.direction)).toEqual(['decrease']);
  });

  it('probes the level of the last loss more slowly, then grows at the normal pace again', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 6 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 10 });
    // Three served, a fourth refused: 6 halves to 3, and 4 is the level that failed.
    const served = [limit.begin(), limit.begin(), limit.begin()];
    for (const ticket of served) limit.headers(ticket);
    limit.loss(limit.begin(), rateLimit);
    for (const ticket of served) limit.success(ticket);
    expect(budget.limit).toBe(3);

    // The step back to 4 needs PROBE_SLOWDOWN x 3 clean streams.
    await cleanStreams(budget, limit, 3 * PROBE_SLOWDOWN - 1);
    expect(budget.limit).toBe(3);
    await cleanStreams(budget, limit, 1);
    expect(budget.limit).toBe(4);

    // 4 held: the next step is at the normal pace.
    await cleanStreams(budget, limit, 4);
    expect(budget.limit).toBe(5);
  });

  it('marks the level from the most streams served while the refused one waited, not the count at its loss', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 4 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 10 });
    // Three served while a fourth waits; one of the three ends just before the fourth's loss.
    const served = [limit.begin(), limit.begin(), limit.begin()];
    const stalled = limit.begin();
    for (const ticket of served) limit.headers(ticket);
    limit.success(served[0]!);
    limit.loss(stalled, { reason: 'headers timeout from glm' });
    for (const ticket of served.slice(1)) limit.success(ticket);
    // Two were served at the loss: 4 halves to 2.
    expect(budget.limit).toBe(2);

    // 3 was served while it waited, so 3 holds and is regained at the normal pace (2 clean
    // streams at 2); 4 is the level that failed and is probed slowly.
    await cleanStreams(budget, limit, 2);
    expect(budget.limit).toBe(3);
    await cleanStreams(budget, limit, 3 * PROBE_SLOWDOWN - 1);
    expect(budget.limit).toBe(3);
    await cleanStreams(budget, limit, 1);
    expect(budget.limit).toBe(4);
  });

  it('a loss while nothing was served marks no level: the limit recovers at the normal pace', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 8 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 10 });
    limit.loss(limit.begin(), rateLimit);
    expect(budget.limit).toBe(4);

    // Nothing was served at the loss: no level to be careful about.
    await cleanStreams(budget, limit, 4);
    expect(budget.limit).toBe(5);
  });

  it('halves no lower than the streams being served right now, and always lowers by one', () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 5 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 10 });
    const served = [limit.begin(), limit.begin(), limit.begin()];
    for (const ticket of served) limit.headers(ticket);
    const stalled = limit.begin();

    // Half of 5 is 2, but the provider is serving 3 of ours while refusing the fourth.
    expect(limit.loss(stalled, { reason: 'headers timeout from glm' })).toMatchObject({
      previous: 5,
      limit: 3,
    });

    // Streams above a lowered limit (held leases run on) still lower it by one, not raise it.
    const more = [limit.begin(), limit.begin()];
    for (const ticket of more) limit.headers(ticket);
    expect(limit.loss(limit.begin(), rateLimit)).toMatchObject({ previous: 3, limit: 2 });

    // Ended streams are no longer served.
    for (const ticket of [...served, ...more]) limit.success(ticket);
    budget.resize(6);
    expect(limit.loss(limit.begin(), rateLimit)).toMatchObject({ previous: 6, limit: 3 });
  });

  it('never goes below min, however many episodes', () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 10 });
    const limit = createAdaptiveLimit({ budget, min: 2, max: 10 });
    const seen: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      limit.loss(limit.begin(), rateLimit);
      seen.push(budget.limit);
    }
    expect(seen).toEqual([5, 2, 2, 2, 2, 2]);
  });

  it('never goes above max', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 3 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 4, increaseAfter: 1 });
    await cleanStreams(budget, limit, 10);
    expect(budget.limit).toBe(4);
    expect(limit.history()).toHaveLength(1);
  });

  it('clamps a starting limit outside the range, and 0 (no cap) to max', () => {
    const high = createLeaseBudget({ key: 'a', limit: 20 });
    createAdaptiveLimit({ budget: high, min: 1, max: 10 });
    expect(high.limit).toBe(10);
    const none = createLeaseBudget({ key: 'b', limit: 0 });
    const limit = createAdaptiveLimit({ budget: none, min: 1, max: 6 });
    expect(none.limit).toBe(6);
    expect(limit.history()[0]).toMatchObject({ direction: 'clamp', previous: 0, limit: 6 });
  });

  it('decreases once per episode: four stalls sent before the decrease cut the limit once', () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 8 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 10 });
    const stalled = [limit.begin(), limit.begin(), limit.begin(), limit.begin()];
    for (const ticket of stalled) limit.loss(ticket, { reason: 'headers timeout from glm' });
    expect(budget.limit).toBe(4);

    // A request sent after the decrease that still stalls starts a new episode.
    limit.loss(limit.begin(), rateLimit);
    expect(budget.limit).toBe(2);
    expect(limit.history().map((change) => change.limit)).toEqual([4, 2]);
  });

  it('a loss at the floor still starts an episode and restarts the clean run', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 1 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 3 });
    const before = limit.begin();
    expect(limit.loss(limit.begin(), rateLimit)).toBeUndefined();
    expect(limit.loss(before, rateLimit)).toBeUndefined();
    expect(budget.limit).toBe(1);
    await cleanStreams(budget, limit, 1);
    expect(budget.limit).toBe(2);
  });

  it('never revokes held leases: active stays above a lowered limit until they end', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 4 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 4 });
    const held = await fill(budget);
    limit.loss(limit.begin(), rateLimit);
    expect(budget.limit).toBe(2);
    expect(budget.active).toBe(4);
    expect(held.every((lease) => !lease.released)).toBe(true);

    // No new grant until active is below the new limit.
    let granted = false;
    const next = budget.acquire().then((lease) => {
      granted = true;
      return lease;
    });
    held[0]!.release();
    held[1]!.release();
    await Promise.resolve();
    expect(granted).toBe(false);
    held[2]!.release();
    (await next).release();
    expect(granted).toBe(true);
    held[3]!.release();
    expect(budget.active).toBe(0);
  });

  it('reads the limit from the budget, so a resize by another process is the new base', () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 8 });
    const limit = createAdaptiveLimit({ budget, min: 1, max: 10 });
    budget.resize(6);
    limit.loss(limit.begin(), rateLimit);
    expect(budget.limit).toBe(3);
  });

  it('keeps a bounded history and tells listeners', async () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 2 });
    const limit = createAdaptiveLimit({
      budget,
      min: 1,
      max: 64,
      increaseAfter: 1,
      historyLimit: 3,
    });
    const heard: number[] = [];
    const off = limit.onChange((change) => heard.push(change.limit));
    await cleanStreams(budget, limit, 5);
    off();
    limit.loss(limit.begin(), rateLimit);
    expect(heard).toEqual([3, 4, 5, 6, 7]);
    expect(limit.history().map((change) => change.limit)).toEqual([6, 7, 3]);
    expect(limit.history().at(-1)).toMatchObject({
      previous: 7,
      reason: '1302 rate limit from glm',
    });
  });

  it('rejects settings out of range, naming the field', () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 3 });
    expect(() => createAdaptiveLimit({ budget, min: 0, max: 3 })).toThrow(/adaptive min/);
    expect(() => createAdaptiveLimit({ budget, min: 4, max: 3 })).toThrow(/adaptive max/);
    expect(() => createAdaptiveLimit({ budget, min: 1, max: 3, decreaseFactor: 1 })).toThrow(
      /decreaseFactor/,
    );
    expect(() => createAdaptiveLimit({ budget, min: 1, max: 3, increaseAfter: 0.5 })).toThrow(
      /increaseAfter/,
    );
  });

  it('adaptiveLimitFor returns one controller per budget', () => {
    const budget = createLeaseBudget({ key: 'glm', limit: 3 });
    expect(adaptiveLimitOf(budget)).toBeUndefined();
    const first = adaptiveLimitFor(budget, { min: 1, max: 3 });
    expect(adaptiveLimitFor(budget, { min: 2, max: 9 })).toBe(first);
    expect(adaptiveLimitOf(budget)).toBe(first);
  });
});
