import type { ChatEvent } from '../events/chat-events.js';
import {
  batchedEvents,
  eventBatchesOf,
  type BatchedEvents,
  type EventBatches,
} from '../pipeline/event-batches.js';

/** Hooks of {@link observeEvents}; each runs synchronously on the hot path, so keep them cheap. */
export interface EventObserver {
  /** Sees every event before the consumer does; may throw to fail the stream. */
  onEvent?(event: ChatEvent): void;
  /** Sees every batch (the events of one network read) before `onEvent` sees its events. */
  onBatch?(batch: readonly ChatEvent[]): void;
  /** The source ended cleanly; may throw to fail the stream instead. */
  onDone?(): void;
  /** Turns the source's error into the one the consumer gets. */
  mapError?(error: unknown): unknown;
  /** Runs once however the stream ended; `early` when the consumer stopped (break/return). */
  onEnd?(outcome: { error: unknown; early: boolean }): void;
}

/**
 * Watches an event stream without re-yielding it: the events pass in their batches (one per
 * network read, see {@link EventBatches}) with one `.then` per batch, and the hooks run for each
 * event synchronously. Each middleware that only watches (telemetry, deadlines) uses this, which
 * is most of what keeps the router's overhead per event small. `return()` ends the stream at once
 * and tells the source to finish without waiting for it.
 *
 * When `onEvent` throws, the batch it was looking at is dropped and the stream fails with that
 * error (the watchers that throw, the deadlines, do so for the whole batch).
 */
export function observeEvents(
  source: AsyncIterable<ChatEvent>,
  observer: EventObserver,
): AsyncIterableIterator<ChatEvent> & BatchedEvents {
  return batchedEvents(new ObservedBatches(eventBatchesOf(source), observer));
}

class ObservedBatches implements EventBatches {
  readonly #source: EventBatches;
  readonly #observer: EventObserver;
  #ended = false;

  constructor(source: EventBatches, observer: EventObserver) {
    this.#source = source;
    this.#observer = observer;
  }

  next(): Promise<ChatEvent[] | undefined> {
    if (this.#ended) return Promise.resolve(undefined);
    return this.#source.next().then(this.#onBatch, this.#onError);
  }

  return(): void {
    if (this.#ended) return;
    this.#end(undefined, true);
    this.#source.return();
  }

  readonly #onBatch = (batch: ChatEvent[] | undefined): ChatEvent[] | undefined => {
    if (this.#ended) return undefined;
    const observer = this.#observer;
    try {
      if (batch === undefined) {
        observer.onDone?.();
        this.#end(undefined, false);
        return undefined;
      }
      observer.onBatch?.(batch);
      const onEvent = observer.onEvent;
      if (onEvent !== undefined) for (const event of batch) onEvent(event);
    } catch (error) {
      this.#end(error, false);
      this.#source.return();
      throw error;
    }
    return batch;
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
