import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../errors/sluice-error.js';
import { createLeaseBudget } from './lease-budget.js';
import type { Budget, Lease } from './types.js';

type Command =
  | {
      kind: 'acquire';
      session: number;
      priority: number;
      signal: 'none' | 'pre-aborted' | 'controller';
      timeoutMs: number;
    }
  | { kind: 'release'; pick: number }
  | { kind: 'double-release'; pick: number }
  | { kind: 'abort'; pick: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'resize'; limit: number }
  | { kind: 'throwing-task'; session: number }
  | { kind: 'cooldown'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('acquire' as const),
      session: fc.integer({ min: 0, max: 3 }),
      priority: fc.integer({ min: 0, max: 2 }),
      signal: fc.constantFrom('none' as const, 'pre-aborted' as const, 'controller' as const),
      timeoutMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('double-release' as const), pick: fc.nat() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 1, max: 60 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('resize' as const),
      limit: fc.integer({ min: 0, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('throwing-task' as const),
      session: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('cooldown' as const),
      ms: fc.integer({ min: 1, max: 100 }),
    }),
  },
);

interface Attempt {
  seq: number;
  group: string;
  state: 'pending' | 'fulfilled' | 'rejected';
  lease?: Lease;
  reason?: unknown;
  controller?: AbortController;
  abortReason?: unknown;
  timeoutMs: number;
}

/** The caller-side pattern every middleware uses: hold the lease, release in finally. */
async function withLease<T>(budget: Budget, fn: () => Promise<T>): Promise<T> {
  const lease = await budget.acquire();
  try {
    return await fn();
  } finally {
    lease.release();
  }
}

async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

afterEach(() => vi.useRealTimers());

describe('createLeaseBudget: properties over random schedules', () => {
  it('never exceeds the limit, releases every lease once, ends empty, leaves no promise pending', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(command, { minLength: 1, maxLength: 60 }),
        async (initialLimit, commands) => {
          vi.useFakeTimers();
          const budget = createLeaseBudget({ key: 'prop', limit: initialLimit });
          const attempts: Attempt[] = [];
          const tasks: Promise<unknown>[] = [];
          const releasedIds = new Map<number, number>();
          const grantOrder: Attempt[] = [];
          const violations: string[] = [];
          let seq = 0;

          budget.on('acquired', (event) => {
            if (budget.limit !== 0 && event.active > budget.limit) {
              violations.push(`active ${event.active} over limit ${budget.limit}`);
            }
          });
          budget.on('released', (event) => {
            releasedIds.set(event.leaseId, (releasedIds.get(event.leaseId) ?? 0) + 1);
          });

          const held = () => attempts.filter((a) => a.state === 'fulfilled' && !a.lease!.released);
          const queued = () => attempts.filter((a) => a.state === 'pending');

          for (const step of commands) {
            switch (step.kind) {
              case 'acquire': {
                const attempt: Attempt = {
                  seq: seq++,
                  group: `${step.session}/${step.priority}`,
                  state: 'pending',
                  timeoutMs: step.timeoutMs,
                };
                let signal: AbortSignal | undefined;
                if (step.signal === 'pre-aborted') {
                  attempt.abortReason = new Error(`pre-aborted ${attempt.seq}`);
                  signal = AbortSignal.abort(attempt.abortReason);
                } else if (step.signal === 'controller') {
                  attempt.controller = new AbortController();
                  signal = attempt.controller.signal;
                }
                attempts.push(attempt);
                budget
                  .acquire({
                    session: `s${step.session}`,
                    priority: step.priority,
                    signal,
                    timeoutMs: step.timeoutMs,
                  })
                  .then(
                    (lease) => {
                      attempt.state = 'fulfilled';
                      attempt.lease = lease;
                      grantOrder.push(attempt);
                    },
                    (reason: unknown) => {
                      attempt.state = 'rejected';
                      attempt.reason = reason;
                    },
                  );
                break;
              }
              case 'release': {
                const leases = held();
                leases[step.pick % Math.max(1, leases.length)]?.lease!.release();
                break;
              }
              case 'double-release': {
                const done = attempts.filter((a) => a.state === 'fulfilled');
                const target = done[step.pick % Math.max(1, done.length)];
                target?.lease!.release();
                target?.lease!.release();
                break;
              }
              case 'abort': {
                const waiting = queued().filter(
                  (a) => a.controller && !a.controller.signal.aborted,
                );
                const target = waiting[step.pick % Math.max(1, waiting.length)];
                if (target) {
                  target.abortReason = new Error(`aborted ${target.seq}`);
                  target.controller!.abort(target.abortReason);
                }
                break;
              }
              case 'advance':
                await vi.advanceTimersByTimeAsync(step.ms);
                break;
              case 'resize':
                budget.resize(step.limit);
                break;
              case 'throwing-task': {
                const failure = new Error('task failed');
                tasks.push(
                  withLease(budget, async () => {
                    throw failure;
                  }).then(
                    () => violations.push('throwing task resolved'),
                    (error: unknown) => {
                      if (error !== failure) violations.push('task error was replaced');
                    },
                  ),
                );
                break;
              }
              case 'cooldown':
                budget.cooldown(Date.now() + step.ms, 'property test');
                break;
            }
            await settle();

            // Work-conserving: nobody waits while a slot is free and no cooldown is running.
            const free = budget.limit === 0 || budget.active < budget.limit;
            if (budget.pending > 0 && free && budget.cooldownUntil === 0) {
              violations.push(`waiters stuck with a free slot (${budget.active}/${budget.limit})`);
            }
          }

          // Wind down: release whatever is held, let cooldowns and timeouts run out, repeat
          // until nothing is left. Every acquire must have settled by then.
          const busy = () => budget.active > 0 || budget.pending > 0 || budget.cooldownUntil > 0;
          for (let round = 0; round < 500 && busy(); round++) {
            for (const attempt of held()) attempt.lease!.release();
            await vi.advanceTimersByTimeAsync(10);
          }
          await Promise.all(tasks);
          await settle();

          expect(violations).toEqual([]);
          expect(budget.active).toBe(0);
          expect(budget.pending).toBe(0);
          expect(attempts.filter((a) => a.state === 'pending')).toEqual([]);
          expect(vi.getTimerCount()).toBe(0);

          // Every granted lease was released exactly once, however often release() was called.
          expect([...releasedIds.values()].every((count) => count === 1)).toBe(true);
          const granted = attempts.filter((a) => a.state === 'fulfilled');
          for (const attempt of granted) expect(releasedIds.get(attempt.lease!.id)).toBe(1);

          // Aborted and timed-out waiters never held a lease, and say why they left.
          for (const attempt of attempts.filter((a) => a.state === 'rejected')) {
            if (attempt.abortReason !== undefined) {
              expect(attempt.reason).toBe(attempt.abortReason);
            } else {
              expect(SluiceError.isInstance(attempt.reason)).toBe(true);
              expect((attempt.reason as SluiceError).kind).toBe('queue-timeout');
              expect(attempt.timeoutMs).toBeGreaterThan(0);
            }
          }

          // FIFO within a session and priority.
          const lastSeq = new Map<string, number>();
          for (const attempt of grantOrder) {
            expect(attempt.seq).toBeGreaterThan(lastSeq.get(attempt.group) ?? -1);
            lastSeq.set(attempt.group, attempt.seq);
          }

          // No signal kept a listener after its waiter was granted or left.
          for (const attempt of attempts) {
            if (attempt.controller) {
              expect(getEventListeners(attempt.controller.signal, 'abort')).toHaveLength(0);
            }
          }
          vi.useRealTimers();
        },
      ),
      { numRuns: 300 },
    );
  });
});
