import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLeaseBudget } from '../budget/lease-budget.js';
import type { ChatEvent } from '../events/chat-events.js';
import { SluiceError } from '../errors/sluice-error.js';
import { holdLeaseUntilEnd } from './hold-lease-until-end.js';
import type { ModelResponse } from './types.js';

/** An inner response of `count` deltas (or a failure after `failAfter`), recording how it ended. */
function innerResponse(options: { count: number; failAfter?: number }) {
  const log = { cancelled: [] as unknown[], returned: 0, finished: 0 };
  async function* body(): AsyncGenerator<ChatEvent> {
    try {
      for (let index = 0; index < options.count; index++) {
        if (options.failAfter === index) throw new Error(`body failed at ${index}`);
        yield { type: 'text-delta', text: `t${index}` };
      }
      log.finished++;
    } finally {
      log.returned++;
    }
  }
  const response: ModelResponse = {
    status: 200,
    headers: new Headers(),
    events: body(),
    cancel: (reason) => void log.cancelled.push(reason),
  };
  return { response, log };
}

async function leaseOf(limit = 1) {
  const budget = createLeaseBudget({ key: 'hold', limit });
  return { budget, lease: await budget.acquire() };
}

describe('holdLeaseUntilEnd', () => {
  it('accepts the onRelease callback as its third argument', async () => {
    const { budget, lease } = await leaseOf();
    const released: number[] = [];
    const { response } = innerResponse({ count: 1 });
    const held = holdLeaseUntilEnd(response, lease, (l) => released.push(l.id));
    for await (const _ of held.events) void _;
    expect(released).toEqual([lease.id]);
    expect(budget.active).toBe(0);
  });

  it('keeps status and headers, and does not release at the headers', async () => {
    const { budget, lease } = await leaseOf();
    const { response } = innerResponse({ count: 2 });
    const held = holdLeaseUntilEnd(response, lease);
    expect(held.status).toBe(200);
    expect(held.headers).toBe(response.headers);
    expect(budget.active).toBe(1);
    held.cancel();
  });

  it('an already-aborted signal cancels the inner response and releases at once', async () => {
    const { budget, lease } = await leaseOf();
    const { response, log } = innerResponse({ count: 2 });
    const reason = new Error('gone');
    holdLeaseUntilEnd(response, lease, { signal: AbortSignal.abort(reason) });
    expect(log.cancelled).toEqual([reason]);
    expect(budget.active).toBe(0);
  });

  it('removes its abort listener when the body ends', async () => {
    const { lease } = await leaseOf();
    const controller = new AbortController();
    const { response } = innerResponse({ count: 1 });
    const held = holdLeaseUntilEnd(response, lease, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    for await (const _ of held.events) void _;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('property: any mix of reads, break, throw, cancel and abort releases exactly once', async () => {
    type Step = 'next' | 'return' | 'throw' | 'cancel' | 'abort';
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 4 }),
        fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        fc.array(fc.constantFrom<Step>('next', 'next', 'return', 'throw', 'cancel', 'abort'), {
          maxLength: 10,
        }),
        async (count, failAfter, steps) => {
          const budget = createLeaseBudget({ key: 'prop', limit: 1 });
          const released: number[] = [];
          budget.on('released', (event) => released.push(event.leaseId));
          const lease = await budget.acquire();
          const controller = new AbortController();
          const { response } = innerResponse({ count, failAfter });
          const callbacks: number[] = [];
          const held = holdLeaseUntilEnd(response, lease, {
            signal: controller.signal,
            onRelease: (l) => callbacks.push(l.id),
          });
          const iterator = held.events[Symbol.asyncIterator]();

          for (const step of steps) {
            try {
              if (step === 'next') await iterator.next();
              else if (step === 'return') await iterator.return?.();
              else if (step === 'throw') await iterator.throw?.(new Error('consumer threw'));
              else if (step === 'cancel') held.cancel('stop');
              else controller.abort(new Error('aborted'));
            } catch {
              // Body failures and thrown errors reach the consumer; the lease is what is checked.
            }
          }
          // Whatever happened, the consumer finally leaves.
          await iterator.return?.();
          held.cancel();

          expect(released).toEqual([lease.id]);
          expect(callbacks).toEqual([lease.id]);
          expect(budget.active).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('releases as soon as the body ends, before the consumer leaves the loop', async () => {
    const { budget, lease } = await leaseOf();
    const { response } = innerResponse({ count: 2 });
    const held = holdLeaseUntilEnd(response, lease);
    const iterator = held.events[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    expect(budget.active).toBe(1);
    expect((await iterator.next()).done).toBe(true);
    expect(budget.active).toBe(0);
  });

  describe('garbage-collection safety net', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;

    async function collect(until: () => boolean): Promise<void> {
      for (let round = 0; round < 50 && !until(); round++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }

    it('a response dropped unread is cancelled with an aborted error and its lease released', async () => {
      const budget = createLeaseBudget({ key: 'gc', limit: 1 });
      const { response, log } = innerResponse({ count: 3 });
      const lease = await budget.acquire();
      (() => {
        void holdLeaseUntilEnd(response, lease);
      })();
      await collect(() => budget.active === 0);

      expect(budget.active).toBe(0);
      expect(log.cancelled).toHaveLength(1);
      const reason = log.cancelled[0] as SluiceError;
      expect(SluiceError.isInstance(reason) && reason.kind).toBe('aborted');
    });

    it('does not fire while an iterator of the events is still held', async () => {
      const budget = createLeaseBudget({ key: 'gc-held', limit: 1 });
      const { response, log } = innerResponse({ count: 3 });
      const lease = await budget.acquire();
      const iterator = (() => holdLeaseUntilEnd(response, lease).events[Symbol.asyncIterator]())();
      await collect(() => false);

      expect(budget.active).toBe(1);
      expect(log.cancelled).toEqual([]);
      await iterator.next();
      await iterator.return?.();
      expect(budget.active).toBe(0);
    });
  });
});
