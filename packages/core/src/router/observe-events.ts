import type { ChatEvent } from '../events/chat-events.js';

/** Hooks of {@link observeEvents}; each runs synchronously on the hot path, so keep them cheap. */
export interface EventObserver {
  /** Sees every event before the consumer does; may throw to fail the stream. */
  onEvent?(event: ChatEvent): void;
  /** The source ended cleanly; may throw to fail the stream instead. */
  onDone?(): void;
  /** Turns the source's error into the one the consumer gets. */
  mapError?(error: unknown): unknown;
  /** Runs once however the stream ended; `early` when the consumer stopped (break/return). */
  onEnd?(outcome: { error: unknown; early: boolean }): void;
}

/**
 * Watches an event stream without re-yielding it from a generator: one `.then` per event instead
 * of the three or four promise hops an async generator layer costs. Each middleware that only
 * watches (telemetry, deadlines) uses this, which is most of what keeps the router's overhead per
 * event small. `return()` ends the stream at once and tells the source to finish without
 * waiting for it.
 */
export function observeEvents(
  source: AsyncIterable<ChatEvent>,
  observer: EventObserver,
): AsyncIterableIterator<ChatEvent> {
  return new ObservedEvents(source[Symbol.asyncIterator](), observer);
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

class ObservedEvents implements AsyncIterableIterator<ChatEvent> {
  readonly #source: AsyncIterator<ChatEvent>;
  readonly #observer: EventObserver;
  #ended = false;

  constructor(source: AsyncIterator<ChatEvent>, observer: EventObserver) {
    this.#source = source;
    this.#observer = observer;
  }

  next(): Promise<IteratorResult<ChatEvent>> {
    if (this.#ended) return Promise.resolve(DONE);
    return this.#source.next().then(this.#onStep, this.#onError);
  }

  return(): Promise<IteratorResult<ChatEvent>> {
    if (!this.#ended) {
      this.#end(undefined, true);
      this.#source.return?.()?.catch(ignore);
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ChatEvent> {
    return this;
  }

  readonly #onStep = (step: IteratorResult<ChatEvent>): IteratorResult<ChatEvent> => {
    if (this.#ended) return DONE;
    try {
      if (step.done) {
        this.#observer.onDone?.();
        this.#end(undefined, false);
        return DONE;
      }
      this.#observer.onEvent?.(step.value);
    } catch (error) {
      this.#end(error, false);
      this.#source.return?.()?.catch(ignore);
      throw error;
    }
    return step;
  };

  readonly #onError = (error: unknown): never => {
    const mapped = this.#observer.mapError ? this.#observer.mapError(error) : error;
    this.#end(mapped, false);
    throw mapped;
  };

  #end(error: unknown, early: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#observer.onEnd?.({ error, early });
  }
}

function ignore(): void {}
