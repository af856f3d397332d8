import type { Lease } from '../budget/types.js';
import type { ChatEvent } from '../events/chat-events.js';
import type { ModelResponse } from './types.js';

/** Options of {@link holdLeaseUntilEnd}. */
export interface HoldLeaseOptions {
  /** Called once, right after the lease was released. */
  onRelease?: (lease: Lease) => void;
  /**
   * The request's signal. When it aborts before the body ended, the inner response is cancelled
   * with the signal's reason and the lease released, even if nobody is reading the body.
   */
  signal?: AbortSignal;
}

/**
 * Returns `response` with its body tied to `lease`: the lease is released EXACTLY once, when the
 * `events` iterator finishes, throws, or is left early (`break`, `return`), when `cancel()` is
 * called (which also cancels the inner response), or when `options.signal` aborts. Never at the
 * headers: a stream holds its lease until its last byte.
 *
 * The third argument may also be the `onRelease` callback itself.
 *
 * @example
 * ```ts
 * const lease = await budget.acquire({ signal });
 * const response = holdLeaseUntilEnd(await send(), lease, { signal, onRelease: report });
 * ```
 */
export function holdLeaseUntilEnd(
  response: ModelResponse,
  lease: Lease,
  options: HoldLeaseOptions | ((lease: Lease) => void) = {},
): ModelResponse {
  const { onRelease, signal } = typeof options === 'function' ? { onRelease: options } : options;
  let ended = false;

  const end = () => {
    if (ended) return;
    ended = true;
    signal?.removeEventListener('abort', onAbort);
    lease.release();
    onRelease?.(lease);
  };

  const cancel = (reason?: unknown) => {
    try {
      response.cancel(reason);
    } finally {
      end();
    }
  };

  // Bound once so removeEventListener can find it; the listener goes when the body ends.
  const onAbort = () => cancel(signal?.reason);
  if (signal?.aborted) cancel(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });

  return { ...response, events: endsWith(response.events, end), cancel };
}

/**
 * Wraps an async iterable so that `onEnd` runs when iteration completes, throws, or is returned
 * early. Each call of `[Symbol.asyncIterator]` wraps the inner iterator afresh.
 */
function endsWith(inner: AsyncIterable<ChatEvent>, onEnd: () => void): AsyncIterable<ChatEvent> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<ChatEvent> {
      let iterator: AsyncIterator<ChatEvent>;
      try {
        iterator = inner[Symbol.asyncIterator]();
      } catch (error) {
        onEnd();
        throw error;
      }

      return {
        async next(): Promise<IteratorResult<ChatEvent>> {
          let result: IteratorResult<ChatEvent>;
          try {
            result = await iterator.next();
          } catch (error) {
            onEnd();
            throw error;
          }
          if (result.done === true) onEnd();
          return result;
        },

        // `break` in for-await lands here: the inner iterator closes its body (a generator runs
        // its finally), and the lease goes even if that cleanup throws.
        async return(value?: unknown): Promise<IteratorResult<ChatEvent>> {
          try {
            await iterator.return?.(value);
          } finally {
            onEnd();
          }
          return { done: true, value: undefined };
        },

        async throw(error?: unknown): Promise<IteratorResult<ChatEvent>> {
          try {
            if (iterator.throw === undefined) throw error;
            return await iterator.throw(error);
          } finally {
            onEnd();
          }
        },
      };
    },
  };
}
