import type { ChatEvent } from '../events/chat-events.js';

/**
 * The batched form of a response's events: each batch holds the events decoded from one network
 * read. The router's layers pass batches to each other, so a layer costs one promise hop per
 * read instead of one per event (a GLM answer of 23 KB is 144 events in a few dozen reads).
 *
 * - `next()` resolves with the next batch, never empty, or `undefined` at the end; it rejects
 *   when the stream fails. Only one call may be pending at a time.
 * - `return()` stops early and ends the source underneath (the body is cancelled); later
 *   `next()` calls resolve `undefined`.
 *
 * A batch belongs to whoever received it: a layer may add to it or keep it.
 */
export interface EventBatches {
  next(): Promise<ChatEvent[] | undefined>;
  return(): void;
}

/**
 * Where an events iterable offers its batches: `events[EVENT_BATCHES]()`. A `ModelResponse`'s
 * events from the router's own layers have it; events a middleware wrapped in its own generator
 * do not, and {@link eventBatchesOf} reads those one event per batch.
 */
export const EVENT_BATCHES: unique symbol = Symbol.for('sluice.eventBatches') as never;

/** Events that can also be read in batches. */
export interface BatchedEvents extends AsyncIterable<ChatEvent> {
  [EVENT_BATCHES](): EventBatches;
}

/**
 * The batches of `events`: its own when it offers them, else one batch per event.
 *
 * @example
 * ```ts
 * const batches = eventBatchesOf(response.events);
 * for (let batch = await batches.next(); batch; batch = await batches.next()) count += batch.length;
 * ```
 */
export function eventBatchesOf(events: AsyncIterable<ChatEvent>): EventBatches {
  const own = (events as Partial<BatchedEvents>)[EVENT_BATCHES];
  if (typeof own === 'function') return own.call(events);
  return new SingleEventBatches(events[Symbol.asyncIterator]());
}

/**
 * Events over `batches`, one at a time for `for await`, that still hand their batches to the
 * next layer that asks for them ({@link eventBatchesOf}). `interrupted`, checked before each
 * event already in hand, lets the owner drop them (an abort) so the next read reports the end.
 */
export function batchedEvents(
  batches: EventBatches,
  interrupted?: () => boolean,
): AsyncGenerator<ChatEvent, void, undefined> & BatchedEvents {
  return new FlatEvents(batches, interrupted);
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

class FlatEvents implements AsyncGenerator<ChatEvent, void, undefined>, BatchedEvents {
  readonly #batches: EventBatches;
  readonly #interrupted: (() => boolean) | undefined;
  #batch: ChatEvent[] | undefined;
  #index = 0;
  #done = false;
  #reading: Promise<IteratorResult<ChatEvent, void>> | undefined;

  constructor(batches: EventBatches, interrupted: (() => boolean) | undefined) {
    this.#batches = batches;
    this.#interrupted = interrupted;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.return().then(ignore);
  }

  [EVENT_BATCHES](): EventBatches {
    // Nothing read yet: the next layer takes the batches themselves, with no hop of ours between.
    if (this.#batch === undefined && this.#reading === undefined && !this.#done) {
      if (this.#interrupted === undefined) {
        this.#done = true;
        return this.#batches;
      }
    }
    return { next: () => this.#nextBatch(), return: () => void this.return() };
  }

  next(): Promise<IteratorResult<ChatEvent, void>> {
    const batch = this.#batch;
    if (batch !== undefined && this.#index < batch.length) {
      if (this.#interrupted === undefined || !this.#interrupted()) {
        return Promise.resolve({ done: false, value: batch[this.#index++]! });
      }
      this.#batch = undefined;
    }
    if (this.#done) return Promise.resolve(DONE);
    // Calls made while a read is pending wait their turn, as with an async generator.
    if (this.#reading !== undefined) {
      const after = (): Promise<IteratorResult<ChatEvent, void>> => this.next();
      return this.#reading.then(after, after);
    }
    const reading = this.#batches.next().then(this.#onBatch, this.#onError);
    this.#reading = reading;
    return reading;
  }

  return(): Promise<IteratorResult<ChatEvent, void>> {
    this.#batch = undefined;
    if (!this.#done) {
      this.#done = true;
      this.#batches.return();
    }
    return Promise.resolve(DONE);
  }

  throw(error: unknown): Promise<IteratorResult<ChatEvent, void>> {
    void this.return();
    return Promise.reject(error);
  }

  #nextBatch(): Promise<ChatEvent[] | undefined> {
    const batch = this.#batch;
    if (batch !== undefined && this.#index < batch.length) {
      this.#batch = undefined;
      return Promise.resolve(this.#index === 0 ? batch : batch.slice(this.#index));
    }
    if (this.#done) return Promise.resolve(undefined);
    return this.#batches.next().then(this.#onOwnBatch, this.#onError);
  }

  readonly #onBatch = (batch: ChatEvent[] | undefined): IteratorResult<ChatEvent, void> => {
    this.#reading = undefined;
    if (batch === undefined || this.#done) {
      this.#done = true;
      return DONE;
    }
    this.#batch = batch;
    this.#index = 1;
    return { done: false, value: batch[0]! };
  };

  readonly #onOwnBatch = (batch: ChatEvent[] | undefined): ChatEvent[] | undefined => {
    if (batch === undefined) this.#done = true;
    return this.#done ? undefined : batch;
  };

  readonly #onError = (error: unknown): never => {
    this.#reading = undefined;
    this.#done = true;
    throw error;
  };
}

/** Batches of one event, from an iterator that has no batches of its own. */
class SingleEventBatches implements EventBatches {
  readonly #iterator: AsyncIterator<ChatEvent>;

  constructor(iterator: AsyncIterator<ChatEvent>) {
    this.#iterator = iterator;
  }

  next(): Promise<ChatEvent[] | undefined> {
    return this.#iterator.next().then(single);
  }

  return(): void {
    try {
      this.#iterator.return?.()?.catch(ignore);
    } catch {
      // A throwing return() of a foreign iterator has nobody to report to: the stream is over.
    }
  }
}

function single(step: IteratorResult<ChatEvent>): ChatEvent[] | undefined {
  return step.done ? undefined : [step.value];
}

function ignore(): void {}
