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
 *
 * Built from classes with their methods on the prototype, since this runs once per attempt: an
 * object literal with symbol keys is not a plain allocation, and closures per attempt add up.
 */
export function holdLease(
  response: ModelResponse,
  lease: Lease,
  onRelease: ((lease: Lease) => void) | undefined,
  onAbort: ((listener: (reason: unknown) => void) => () => void) | undefined,
): ModelResponse {
  const hold = new LeaseHold(response, lease, onRelease);
  const unlisten = onAbort?.(hold.onAbort);
  // `end` may have run already, from inside `onAbort` (an aborted scope calls at once).
  if (hold.ended) unlisten?.();
  else hold.unlisten = unlisten;
  const held = new HeldResponse(response, hold);
  if (!hold.ended) abandoned.register(held, hold, hold);
  return held;
}

/** The lease and the inner response of one held response: ends both, once. */
class LeaseHold {
  ended = false;
  unlisten: (() => void) | undefined = undefined;
  readonly #response: ModelResponse;
  readonly #lease: Lease;
  readonly #onRelease: ((lease: Lease) => void) | undefined;

  constructor(
    response: ModelResponse,
    lease: Lease,
    onRelease: ((lease: Lease) => void) | undefined,
  ) {
    this.#response = response;
    this.#lease = lease;
    this.#onRelease = onRelease;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    abandoned.unregister(this);
    this.unlisten?.();
    this.#lease.release();
    this.#onRelease?.(this.#lease);
  }

  cancel(reason?: unknown): void {
    try {
      this.#response.cancel(reason);
    } finally {
      this.end();
    }
  }

  readonly onAbort = (reason: unknown): void => this.cancel(reason);
}

/**
 * The response handed out: the inner one's status and headers, and events that end the hold.
 * The hold never points back here, so the registry below can see this object die.
 */
class HeldResponse implements ModelResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly events: HeldEvents;
  readonly #hold: LeaseHold;

  constructor(response: ModelResponse, hold: LeaseHold) {
    this.status = response.status;
    this.headers = response.headers;
    this.#hold = hold;
    this.events = new HeldEvents(response.events, hold, this);
  }

  cancel(reason?: unknown): void {
    this.#hold.cancel(reason);
  }
}

/**
 * Holds each live response's hold, which reaches the inner response and the lease but never the
 * response handed out, so the registry does not keep that alive.
 */
const abandoned = new FinalizationRegistry<LeaseHold>((hold) => {
  const reason = new SluiceError({
    kind: 'aborted',
    phase: 'stream',
    message:
      'A model response was garbage-collected before its body was read to the end or cancelled; its lease was released.',
    hint: 'Read response.events to the end, break out of it, or call response.cancel().',
  });
  try {
    hold.cancel(reason);
  } catch {
    // The lease is already released (cancel ends in `finally`); an error of the inner cancel
    // has no caller left to receive it.
  }
});

/**
 * The held response's events: each call of `[Symbol.asyncIterator]` (or of its batches) wraps the
 * inner events afresh, and ends the hold when that iteration completes, throws, or is left early.
 */
class HeldEvents implements BatchedEvents {
  readonly #inner: AsyncIterable<ChatEvent>;
  readonly #hold: LeaseHold;
  /**
   * Keeps the response alive while anyone holds its events, so the GC net above cannot fire in
   * the middle of a `for await`.
   */
  readonly owner: ModelResponse;

  constructor(inner: AsyncIterable<ChatEvent>, hold: LeaseHold, owner: ModelResponse) {
    this.#inner = inner;
    this.#hold = hold;
    this.owner = owner;
  }

  [Symbol.asyncIterator](): AsyncIterator<ChatEvent> {
    return Object.assign(batchedEvents(this[EVENT_BATCHES]()), { owner: this.owner });
  }

  [EVENT_BATCHES](): EndingBatches {
    let batches: EventBatches;
    try {
      batches = eventBatchesOf(this.#inner);
    } catch (error) {
      this.#hold.end();
      throw error;
    }
    return new EndingBatches(batches, this.#hold, this.owner);
  }
}

class EndingBatches implements EventBatches {
  readonly #inner: EventBatches;
  readonly #hold: LeaseHold;
  readonly owner: ModelResponse;

  constructor(inner: EventBatches, hold: LeaseHold, owner: ModelResponse) {
    this.#inner = inner;
    this.#hold = hold;
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
      this.#hold.end();
    }
  }

  readonly #onBatch = (batch: ChatEvent[] | undefined): ChatEvent[] | undefined => {
    if (batch === undefined) this.#hold.end();
    return batch;
  };

  readonly #onError = (error: unknown): never => {
    this.#hold.end();
    throw error;
  };
}
