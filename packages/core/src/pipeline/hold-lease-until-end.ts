import type { Lease } from '../budget/types.js';
import { SluiceError } from '../errors/sluice-error.js';
import type { ChatEvent } from '../events/chat-events.js';
import {
  EVENT_BATCHES,
  batchedEvents,
  eventBatchesOf,
  type BatchedEvents,
  type EventBatches,
} from './event-batches.js';
import { listenToSignal } from './abort-scope.js';
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
 * Safety net: a response that is dropped without being read to the end or cancelled would hold
 * its lease forever, and a few of those stall the provider for good. When the returned response
 * (and every iterator made from its `events`) has been garbage-collected, the inner response is
 * cancelled with an `aborted` SluiceError and the lease released. That is a backstop for a bug in
 * the caller, not a way to end a stream: GC may take arbitrarily long.
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
  return holdLease(
    response,
    lease,
    onRelease,
    signal && ((listener) => listenToSignal(signal, listener)),
  );
}

/**
 * {@link holdLeaseUntilEnd} with the abort given as a function that adds a listener and returns
 * its removal: the budget middleware passes the request's abort scope, which costs no signal.
 */
export function holdLease(
  response: ModelResponse,
  lease: Lease,
  onRelease: ((lease: Lease) => void) | undefined,
  onAbort: ((listener: (reason: unknown) => void) => () => void) | undefined,
): ModelResponse {
  let ended = false;
  // Assigned once the listener is in; `end` may run before that, from inside `onAbort`.
  let unlisten: (() => void) | undefined = undefined;
  const token = {};

  const end = () => {
    if (ended) return;
    ended = true;
    abandoned.unregister(token);
    unlisten?.();
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

  unlisten = onAbort?.(cancel);
  if (ended) unlisten?.();

  const wrapped: ModelResponse = {
    status: response.status,
    headers: response.headers,
    events: response.events,
    cancel,
  };
  wrapped.events = endsWith(response.events, end, wrapped);
  if (!ended) abandoned.register(wrapped, cancel, token);
  return wrapped;
}

/**
 * Holds each live response's `cancel`, which reaches the inner response and the lease but never
 * the wrapper itself, so the registry does not keep the wrapper alive.
 */
const abandoned = new FinalizationRegistry<(reason: unknown) => void>((cancel) => {
  const reason = new SluiceError({
    kind: 'aborted',
    phase: 'stream',
    message:
      'A model response was garbage-collected before its body was read to the end or cancelled; its lease was released.',
    hint: 'Read response.events to the end, break out of it, or call response.cancel().',
  });
  try {
    cancel(reason);
  } catch {
    // The lease is already released (cancel ends in `finally`); an error of the inner cancel
    // has no caller left to receive it.
  }
});

/**
 * Wraps an async iterable so that `onEnd` runs when iteration completes, throws, or is returned
 * early. Each call of `[Symbol.asyncIterator]` (or of its batches) wraps the inner iterable's
 * afresh.
 */
function endsWith(
  inner: AsyncIterable<ChatEvent>,
  onEnd: () => void,
  owner: ModelResponse,
): BatchedEvents & { owner: ModelResponse } {
  const open = (): EventBatches & { owner: ModelResponse } => {
    let batches: EventBatches;
    try {
      batches = eventBatchesOf(inner);
    } catch (error) {
      onEnd();
      throw error;
    }
    return new EndingBatches(batches, onEnd, owner);
  };
  return {
    // Keeps the response alive while anyone holds its events, so the GC net above cannot fire
    // in the middle of a `for await`.
    owner,
    [Symbol.asyncIterator]: () => Object.assign(batchedEvents(open()), { owner }),
    [EVENT_BATCHES]: open,
  };
}

class EndingBatches implements EventBatches {
  readonly #inner: EventBatches;
  readonly #onEnd: () => void;
  readonly owner: ModelResponse;

  constructor(inner: EventBatches, onEnd: () => void, owner: ModelResponse) {
    this.#inner = inner;
    this.#onEnd = onEnd;
    this.owner = owner;
  }

  next(): Promise<ChatEvent[] | undefined> {
    return this.#inner.next().then(this.#onBatch, this.#onError);
  }

  // `break` in for-await lands here: the inner batches close their body, and the lease goes even
  // if that cleanup throws.
  return(): void {
    try {
      this.#inner.return();
    } finally {
      this.#onEnd();
    }
  }

  readonly #onBatch = (batch: ChatEvent[] | undefined): ChatEvent[] | undefined => {
    if (batch === undefined) this.#onEnd();
    return batch;
  };

  readonly #onError = (error: unknown): never => {
    this.#onEnd();
    throw error;
  };
}
