import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../errors/sluice-error.js';
import { createLeaseBudget } from './lease-budget.js';
import type { Budget, BudgetEventMap, BudgetEventName, Lease } from './types.js';

/** Settles pending promise callbacks (grants resolve through the microtask queue). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** Tracks a promise's state without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { status: 'pending' | 'fulfilled' | 'rejected'; value?: T; reason?: unknown } = {
    status: 'pending',
  };
  promise.then(
    (value) => Object.assign(state, { status: 'fulfilled', value }),
    (reason: unknown) => Object.assign(state, { status: 'rejected', reason }),
  );
  return state;
}

function record<E extends BudgetEventName>(budget: Budget, event: E): BudgetEventMap[E][] {
  const seen: BudgetEventMap[E][] = [];
  budget.on(event, (payload) => seen.push(payload));
  return seen;
}

describe('createLeaseBudget: counting', () => {
  it('grants up to the limit at once and queues the rest', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 2 });
    const a = await budget.acquire();
    const b = await budget.acquire();
    const c = track(budget.acquire());
    await flush();

    expect(budget.backend).toBe('memory');
    expect(budget.active).toBe(2);
    expect(budget.pending).toBe(1);
    expect(c.status).toBe('pending');
    expect(a.id).not.toBe(b.id);
    expect(a.budgetKey).toBe('k');

    a.release();
    await flush();
    expect(c.status).toBe('fulfilled');
    expect(budget.active).toBe(2);
    expect(budget.pending).toBe(0);
  });

  it('release is idempotent: a second release neither frees a slot nor emits', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const released = record(budget, 'released');
    const a = await budget.acquire();
    const b = track(budget.acquire());
    const c = track(budget.acquire());

    a.release();
    a.release();
    await flush();

    expect(a.released).toBe(true);
    expect(released).toHaveLength(1);
    expect(b.status).toBe('fulfilled');
    expect(c.status).toBe('pending');
    expect(budget.active).toBe(1);
  });

  it('limit 0 means no cap but still counts active leases', async () => {
    const budget = createLeaseBudget({ key: 'open', limit: 0 });
    const leases = await Promise.all(Array.from({ length: 50 }, () => budget.acquire()));
    expect(budget.active).toBe(50);
    expect(budget.pending).toBe(0);
    for (const lease of leases) lease.release();
    expect(budget.active).toBe(0);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3', undefined])(
    'rejects limit %s with a config error naming the key and the value',
    (limit) => {
      let caught: unknown;
      try {
        createLeaseBudget({ key: 'glm:abc', limit: limit as number });
      } catch (error) {
        caught = error;
      }
      expect(SluiceError.isInstance(caught)).toBe(true);
      const error = caught as SluiceError;
      expect(error.kind).toBe('config');
      expect(error.message).toContain('"glm:abc"');
      expect(error.message).toContain(typeof limit === 'string' ? '"3"' : String(limit));
    },
  );

  it('rejects an empty key', () => {
    expect(() => createLeaseBudget({ key: '', limit: 1 })).toThrow(/non-empty string key/);
  });

  it('rejects bad acquire options with a config error naming the field', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    await expect(budget.acquire({ priority: Number.NaN })).rejects.toThrow(/priority/);
    await expect(budget.acquire({ timeoutMs: -5 })).rejects.toThrow(/timeoutMs.*-5/);
    expect(budget.active).toBe(0);
    expect(budget.pending).toBe(0);
  });

  it('reports waitedMs and acquiredAt from performance.now()', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const before = performance.now();
    const lease = await budget.acquire();
    expect(lease.acquiredAt).toBeGreaterThanOrEqual(before);
    expect(lease.waitedMs).toBe(0);
  });
});

describe('createLeaseBudget: onQueued', () => {
  it('is called once, synchronously, only when the acquire has to wait', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const calls: string[] = [];
    const first = await budget.acquire({ onQueued: () => calls.push('first') });
    const second = budget.acquire({ onQueued: () => calls.push('second') });
    expect(calls).toEqual(['second']);
    first.release();
    (await second).release();
    expect(calls).toEqual(['second']);
  });

  it('a throwing onQueued takes the waiter out of the queue and rejects with its error', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const lease = await budget.acquire();
    const failure = new Error('telemetry broke');
    await expect(
      budget.acquire({
        onQueued: () => {
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
    expect(budget.pending).toBe(0);
    lease.release();
    expect(budget.active).toBe(0);
  });
});

describe('createLeaseBudget: resize', () => {
  it('lowering never revokes held leases; it only stops grants', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 3 });
    const held = await Promise.all([budget.acquire(), budget.acquire(), budget.acquire()]);
    const resized = record(budget, 'resized');
    budget.resize(1);

    expect(resized).toEqual([{ key: 'k', limit: 1, previous: 3 }]);
    expect(held.every((lease) => !lease.released)).toBe(true);
    expect(budget.active).toBe(3);

    const waiter = track(budget.acquire());
    held[0]!.release();
    held[1]!.release();
    await flush();
    expect(waiter.status).toBe('pending');
    held[2]!.release();
    await flush();
    expect(waiter.status).toBe('fulfilled');
  });

  it('raising grants waiters at once', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    await budget.acquire();
    const waiters = [track(budget.acquire()), track(budget.acquire()), track(budget.acquire())];
    budget.resize(3);
    await flush();
    expect(waiters.map((w) => w.status)).toEqual(['fulfilled', 'fulfilled', 'pending']);
    expect(budget.active).toBe(3);
  });

  it('resize validates like the constructor', () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    expect(() => budget.resize(-2)).toThrow(/"k".*-2/);
    expect(budget.limit).toBe(1);
  });
});

describe('createLeaseBudget: abort and queue timeout', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('C07: abort while queued leaves the queue at once and never holds a lease', async () => {
    const budget = createLeaseBudget({ key: 'c07', limit: 1 });
    const acquired = record(budget, 'acquired');
    const rejected = record(budget, 'rejected');
    const a = await budget.acquire({ session: 'A' });

    // B: already aborted, rejects at once with the signal's reason, never queued.
    const reasonB = new Error('B gave up before asking');
    const b = track(budget.acquire({ session: 'B', signal: AbortSignal.abort(reasonB) }));
    expect(budget.pending).toBe(0);
    await flush();
    expect(b.status).toBe('rejected');
    expect(b.reason).toBe(reasonB);

    // C: queued, then aborted 10 ms later.
    const controllerC = new AbortController();
    const reasonC = new Error('C aborted after 10 ms');
    const c = track(budget.acquire({ session: 'C', signal: controllerC.signal }));
    setTimeout(() => controllerC.abort(reasonC), 10);
    await flush();
    expect(budget.pending).toBe(1);
    expect(c.status).toBe('pending');

    await vi.advanceTimersByTimeAsync(9);
    expect(c.status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(c.status).toBe('rejected');
    expect(c.reason).toBe(reasonC);
    expect(budget.pending).toBe(0);
    expect(getEventListeners(controllerC.signal, 'abort')).toHaveLength(0);

    // Nothing but A was leased.
    expect(acquired.map((event) => event.session)).toEqual(['A']);
    expect(rejected.map((event) => event.session)).toEqual(['B', 'C']);
    expect(budget.active).toBe(1);

    // When A releases, a new D starts at once.
    a.release();
    expect(budget.active).toBe(0);
    const d = track(budget.acquire({ session: 'D' }));
    await flush();
    expect(d.status).toBe('fulfilled');
    expect((d.value as Lease).waitedMs).toBe(0);
    expect(acquired.map((event) => event.session)).toEqual(['A', 'D']);
  });

  it('a queue timeout rejects with a queue-timeout SluiceError naming the key and the wait', async () => {
    const budget = createLeaseBudget({ key: 'glm:primary', limit: 1 });
    await budget.acquire();
    const waiter = track(budget.acquire({ timeoutMs: 250 }));

    await vi.advanceTimersByTimeAsync(249);
    expect(waiter.status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);

    expect(waiter.status).toBe('rejected');
    const error = waiter.reason as SluiceError;
    expect(SluiceError.isInstance(error)).toBe(true);
    expect(error.kind).toBe('queue-timeout');
    expect(error.code).toBe('SLUICE_QUEUE_TIMEOUT');
    expect(error.phase).toBe('queue');
    expect(error.message).toContain('"glm:primary"');
    expect(error.message).toContain('250 ms');
    expect(budget.pending).toBe(0);
  });

  it('waiters with the same timeout expire one by one at their own deadlines', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    await budget.acquire();
    const first = track(budget.acquire({ timeoutMs: 100 }));
    await vi.advanceTimersByTimeAsync(40);
    const second = track(budget.acquire({ timeoutMs: 100 }));
    const other = track(budget.acquire({ timeoutMs: 50 }));

    await vi.advanceTimersByTimeAsync(50);
    expect([first.status, second.status, other.status]).toEqual(['pending', 'pending', 'rejected']);
    await vi.advanceTimersByTimeAsync(10);
    expect([first.status, second.status]).toEqual(['rejected', 'pending']);
    await vi.advanceTimersByTimeAsync(40);
    expect(second.status).toBe('rejected');
    expect(budget.pending).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a granted waiter is not timed out later and its timer is gone', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const a = await budget.acquire();
    const waiter = track(budget.acquire({ timeoutMs: 100 }));
    await vi.advanceTimersByTimeAsync(50);
    a.release();
    await flush();
    expect(waiter.status).toBe('fulfilled');
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(waiter.status).toBe('fulfilled');
    expect(budget.active).toBe(1);
  });

  it('a shared signal reused across many acquires does not accumulate listeners', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 2 });
    const shared = new AbortController().signal;

    for (let round = 0; round < 200; round++) {
      const first = await budget.acquire({ signal: shared });
      const second = await budget.acquire({ signal: shared });
      const queued = budget.acquire({ signal: shared, timeoutMs: 1000 });
      const alsoQueued = budget.acquire({ signal: shared });
      // Two queued waiters of one signal share one listener.
      expect(getEventListeners(shared, 'abort')).toHaveLength(1);
      first.release();
      second.release();
      (await queued).release();
      (await alsoQueued).release();
    }
    expect(getEventListeners(shared, 'abort')).toHaveLength(0);
    expect(budget.active).toBe(0);
  });

  it('many waiters on one signal add one listener: no MaxListenersExceededWarning', async () => {
    vi.useRealTimers();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const budget = createLeaseBudget({ key: 'k', limit: 1 });
      const lease = await budget.acquire();
      const controller = new AbortController();
      const order: number[] = [];
      const waiters = Array.from({ length: 1000 }, (_, index) =>
        budget.acquire({ signal: controller.signal, session: `s${index % 3}` }).catch(() => {
          order.push(index);
        }),
      );
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      controller.abort();
      await Promise.all(waiters);
      await new Promise((resolve) => setImmediate(resolve));

      // They leave in enqueue order.
      expect(order).toEqual(Array.from({ length: 1000 }, (_, index) => index));
      expect(budget.pending).toBe(0);
      lease.release();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('one aborted signal shared by queued waiters rejects all of them and frees its listeners', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const lease = await budget.acquire();
    const controller = new AbortController();
    const waiters = Array.from({ length: 5 }, () =>
      track(budget.acquire({ signal: controller.signal })),
    );
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);

    controller.abort(new Error('stop'));
    await flush();
    expect(waiters.every((w) => w.status === 'rejected')).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(budget.pending).toBe(0);
    lease.release();
    expect(budget.active).toBe(0);
  });
});

describe('createLeaseBudget: fairness', () => {
  it('serves higher priority classes first, FIFO within a session', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const holder = await budget.acquire();
    const order: string[] = [];
    const take = (name: string, priority: number, session: string) =>
      budget.acquire({ priority, session }).then((lease) => {
        order.push(name);
        return lease;
      });

    const all = [
      take('bg-1', 0, 'child'),
      take('bg-2', 0, 'child'),
      take('root-1', 10, 'root'),
      take('root-2', 10, 'root'),
      take('mid-1', 5, 'other'),
    ];
    holder.release();
    for (const promise of all) {
      // Release each grant as soon as it comes, in grant order.
      void promise.then((lease) => queueMicrotask(() => lease.release()));
    }
    await Promise.all(all);
    await budget.onIdle();
    expect(order).toEqual(['root-1', 'root-2', 'mid-1', 'bg-1', 'bg-2']);
  });

  it('1 session with 50 queued and 3 sessions with 2 each at limit 1: grants interleave', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const holder = await budget.acquire();
    const order: string[] = [];
    const queue = (session: string, count: number) =>
      Array.from({ length: count }, () =>
        budget.acquire({ session }).then((lease) => {
          order.push(session);
          queueMicrotask(() => lease.release());
        }),
      );

    const all = [...queue('greedy', 50), ...queue('s1', 2), ...queue('s2', 2), ...queue('s3', 2)];
    expect(budget.pending).toBe(56);
    holder.release();
    await Promise.all(all);

    expect(order.slice(0, 8)).toEqual(['greedy', 's1', 's2', 's3', 'greedy', 's1', 's2', 's3']);
    expect(order.slice(8)).toEqual(Array.from({ length: 48 }, () => 'greedy'));
    expect(budget.active).toBe(0);
    expect(budget.pending).toBe(0);
  });

  it('a session that joins later waits for the current round', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    let holder = await budget.acquire();
    const order: string[] = [];
    const queue = (session: string) =>
      budget.acquire({ session }).then((lease) => {
        order.push(session);
        return lease;
      });

    const a1 = queue('a');
    const b1 = queue('b');
    holder.release();
    holder = await a1;
    // a is served; the round moves to b. A newcomer c joins behind b.
    const c1 = queue('c');
    const a2 = queue('a');
    holder.release();
    (await b1).release();
    (await c1).release();
    (await a2).release();
    expect(order).toEqual(['a', 'b', 'c', 'a']);
  });
});

describe('createLeaseBudget: cooldown', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('grants nothing until the deadline, then wakes the queue with one timer', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 3 });
    const events = record(budget, 'cooldown');
    const until = Date.now() + 1000;
    budget.cooldown(until, 'rate-limit 429');

    expect(budget.cooldownUntil).toBe(until);
    expect(events).toEqual([{ key: 'k', untilMs: until, reason: 'rate-limit 429' }]);
    const waiters = [track(budget.acquire()), track(budget.acquire())];
    expect(budget.pending).toBe(2);
    expect(vi.getTimerCount()).toBe(1);

    await vi.advanceTimersByTimeAsync(999);
    expect(waiters.map((w) => w.status)).toEqual(['pending', 'pending']);
    await vi.advanceTimersByTimeAsync(1);
    expect(waiters.map((w) => w.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(budget.cooldownUntil).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a later deadline extends the cooldown; an earlier one is ignored', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const events = record(budget, 'cooldown');
    const start = Date.now();
    budget.cooldown(start + 1000, 'first');
    budget.cooldown(start + 3000, 'longer');
    budget.cooldown(start + 2000, 'shorter');
    expect(budget.cooldownUntil).toBe(start + 3000);
    expect(events.map((event) => event.reason)).toEqual(['first', 'longer']);
    expect(vi.getTimerCount()).toBe(1);

    const waiter = track(budget.acquire());
    await vi.advanceTimersByTimeAsync(2999);
    expect(waiter.status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(waiter.status).toBe('fulfilled');
  });

  it.each([
    ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
    ['NaN', Number.NaN, 'NaN'],
    ['a string', '123', '"123"'],
  ])(
    'a cooldown until %s is refused, so no acquire can wait forever',
    async (_name, untilMs, shown) => {
      const budget = createLeaseBudget({ key: 'cool-bad', limit: 1 });

      expect(() => budget.cooldown(untilMs as number, 'x')).toThrow(
        `Budget "cool-bad": cooldown needs a finite epoch time in ms, got ${shown}.`,
      );
      expect(budget.cooldownUntil).toBe(0);
      const lease = await budget.acquire();
      lease.release();
    },
  );

  it('a deadline in the past changes nothing', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    budget.cooldown(Date.now() - 5, 'stale');
    expect(budget.cooldownUntil).toBe(0);
    const lease = await budget.acquire();
    expect(lease.waitedMs).toBe(0);
  });

  it('the cooldown timer keeps the process alive only while someone waits', async () => {
    vi.useRealTimers();
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const before = timers();
    budget.cooldown(Date.now() + 60_000, 'rate-limit');
    expect(timers() - before).toBe(0);

    const controller = new AbortController();
    const waiter = budget.acquire({ signal: controller.signal }).catch(() => 'left');
    expect(timers() - before).toBe(1);
    controller.abort();
    expect(await waiter).toBe('left');
    expect(timers() - before).toBe(0);
  });

  it('queue timeouts still fire during a cooldown', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    budget.cooldown(Date.now() + 10_000, 'rate-limit');
    const waiter = track(budget.acquire({ timeoutMs: 500 }));
    await vi.advanceTimersByTimeAsync(500);
    expect(waiter.status).toBe('rejected');
    expect((waiter.reason as Error).message).toMatch(/cooling down until/);
  });
});

describe('createLeaseBudget: events and idle', () => {
  it('emits queued, acquired, released and idle with counts', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const log: string[] = [];
    budget.on('queued', (e) => log.push(`queued ${e.session} pending=${e.pending}`));
    budget.on('acquired', (e) => log.push(`acquired ${e.leaseId} active=${e.active}`));
    budget.on('released', (e) => log.push(`released ${e.leaseId} active=${e.active}`));
    budget.on('idle', () => log.push('idle'));

    const a = await budget.acquire({ session: 's' });
    const b = budget.acquire({ session: 't' });
    a.release();
    (await b).release();

    expect(log).toEqual([
      'acquired 1 active=1',
      'queued t pending=1',
      'released 1 active=0',
      'acquired 2 active=1',
      'released 2 active=0',
      'idle',
    ]);
  });

  it('unsubscribe stops a listener', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const seen: number[] = [];
    const off = budget.on('acquired', (e) => seen.push(e.leaseId));
    (await budget.acquire()).release();
    off();
    (await budget.acquire()).release();
    expect(seen).toEqual([1]);
  });

  it('onIdle resolves when nothing is active or queued', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    await expect(budget.onIdle()).resolves.toBeUndefined();
    const a = await budget.acquire();
    const b = budget.acquire();
    const idle = track(budget.onIdle());
    a.release();
    await flush();
    expect(idle.status).toBe('pending');
    (await b).release();
    await flush();
    expect(idle.status).toBe('fulfilled');
  });

  it('a throwing listener does not corrupt the budget', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    // The listener's error surfaces as an uncaught exception (like EventTarget). Vitest's own
    // handler would count it as a failure, so it is set aside while this test catches it.
    const thrown: unknown[] = [];
    const others = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (error) => thrown.push(error));
    try {
      budget.on('acquired', () => {
        throw new Error('listener bug');
      });
      const lease = await budget.acquire();
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(budget.active).toBe(1);
      lease.release();
      expect(budget.active).toBe(0);
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const listener of others) process.on('uncaughtException', listener);
    }
    expect(thrown).toHaveLength(1);
  });

  it('rejects an unknown event name', () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    expect(() => budget.on('nope' as BudgetEventName, () => {})).toThrow(/no event "nope"/);
  });
});

describe('createLeaseBudget: an abort state besides the signal', () => {
  /** Acquire options whose signal is made on demand, counting how often it was asked for. */
  function lazyOptions(abort: { aborted: boolean; reason: unknown }) {
    const controller = new AbortController();
    let reads = 0;
    return {
      controller,
      reads: () => reads,
      options: {
        abort,
        get signal() {
          reads += 1;
          return controller.signal;
        },
      },
    };
  }

  it('grants a free lease without reading the signal', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const lazy = lazyOptions({ aborted: false, reason: undefined });
    const lease = await budget.acquire(lazy.options);
    expect(budget.active).toBe(1);
    expect(lazy.reads()).toBe(0);
    lease.release();
  });

  it('rejects at once with the reason of an abort state that is aborted, never queueing', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 0 });
    const reason = new Error('gone');
    const lazy = lazyOptions({ aborted: true, reason });
    await expect(budget.acquire(lazy.options)).rejects.toBe(reason);
    expect(budget.pending).toBe(0);
    expect(lazy.reads()).toBe(0);
  });

  it('reads the signal once it has to queue, and leaves the queue when it aborts', async () => {
    const budget = createLeaseBudget({ key: 'k', limit: 1 });
    const held = await budget.acquire();
    const lazy = lazyOptions({ aborted: false, reason: undefined });
    const waiting = budget.acquire(lazy.options).catch((error: unknown) => error);
    expect(budget.pending).toBe(1);
    expect(lazy.reads()).toBeGreaterThan(0);
    lazy.controller.abort('stop');
    expect(await waiting).toBe('stop');
    expect(budget.pending).toBe(0);
    held.release();
  });
});
